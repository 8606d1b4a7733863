import { join } from 'node:path';
import {
  freePort,
  type ManagedProcess,
  type MosquittoServer,
  type PlatformServers,
  type PostgresServer,
  type RabbitMqServer,
  startPlatformServers,
  startServiceProcess,
  waitFor,
} from '@plantmesh/testkit';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = join(import.meta.dirname, 'fixtures/worker-service.ts');

async function readyz(port: number): Promise<{ status: number; checks: Record<string, boolean> }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await response.json()) as { checks: Record<string, boolean> };
  return { status: response.status, checks: body.checks };
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('service runtime against real servers', () => {
  let servers: PlatformServers;
  let postgres: PostgresServer;
  let rabbitmq: RabbitMqServer;
  let mosquitto: MosquittoServer;
  const started: ManagedProcess[] = [];

  beforeAll(async () => {
    servers = await startPlatformServers();
    ({ postgres, rabbitmq, mosquitto } = servers);
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await servers?.destroy();
  });

  async function startWorker(extraEnv: Record<string, string> = {}) {
    const opsPort = await freePort();
    const worker = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: postgres.url,
        AMQP_URL: rabbitmq.url,
        MQTT_URL: mosquitto.url,
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        ...extraEnv,
      },
      logFile: join(postgres.dir, `worker-${opsPort}.log`),
    });
    started.push(worker);
    return { worker, opsPort };
  }

  async function publishWork(ids: string[]) {
    const connection = await amqp.connect(rabbitmq.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('core-test.work', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (const id of ids) channel.sendToQueue('core-test.work', Buffer.from(id), { persistent: true });
    await channel.waitForConfirms();
    await connection.close();
  }

  async function doneIds(): Promise<string[]> {
    const client = new pg.Client(postgres.url);
    await client.connect();
    try {
      return (await client.query<{ id: string }>('select id from done order by id')).rows.map((r) => r.id);
    } finally {
      await client.end();
    }
  }

  it('a bad variable stops the process with one line naming it', async () => {
    const { worker } = await startWorker({ OPS_PORT: 'ninety', AMQP_URL: '' });
    expect(await worker.waitExit()).toBe(2);
    const output = worker.tail().trim().split('\n');
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(
      /^core-test-worker: invalid configuration: .*OPS_PORT must be a port number \(got "ninety"\)/,
    );
    expect(output[0]).toMatch(/AMQP_URL is required \(a amqp URL\)/);
  });

  it('is ready with all connections, and /readyz follows each dependency down and back up', async () => {
    const { worker, opsPort } = await startWorker({ WORK_MS: '0' });
    await waitFor('worker ready', async () => (await readyz(opsPort)).status === 200);
    expect((await readyz(opsPort)).checks).toEqual({ started: true, postgres: true, amqp: true, mqtt: true });

    await rabbitmq.stop();
    await waitFor('amqp not ready', async () => (await readyz(opsPort)).checks.amqp === false);
    expect((await readyz(opsPort)).status).toBe(503);
    await rabbitmq.start();
    await waitFor('amqp ready again', async () => (await readyz(opsPort)).status === 200);
    // The queue and the consumer were declared again on the new connection: work flows.
    await publishWork(['after-rabbitmq-restart']);
    await waitFor('work done after the restart', async () => (await doneIds()).includes('after-rabbitmq-restart'));

    await mosquitto.kill();
    await waitFor('mqtt not ready', async () => (await readyz(opsPort)).checks.mqtt === false);
    await mosquitto.start();
    await waitFor('mqtt ready again', async () => (await readyz(opsPort)).status === 200);

    await postgres.restart();
    await waitFor('postgres ready again', async () => (await readyz(opsPort)).status === 200);
    await publishWork(['after-postgres-restart']);
    await waitFor('work done after postgres restart', async () => (await doneIds()).includes('after-postgres-restart'));
    expect(worker.alive).toBe(true);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('drains in-flight work on SIGTERM, exits 0 and loses nothing', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `drain-${String(i).padStart(2, '0')}`);
    const { worker, opsPort } = await startWorker({ WORK_MS: '400' });
    await waitFor('worker ready', async () => (await readyz(opsPort)).status === 200);
    await publishWork(ids);
    await waitFor('work in flight', async () => (await metricValue(opsPort, 'work_in_flight')) > 0);
    const doneBefore = (await doneIds()).filter((id) => id.startsWith('drain-')).length;
    const inFlight = await metricValue(opsPort, 'work_in_flight');

    expect(await worker.stop('SIGTERM')).toBe(0);
    const done = (await doneIds()).filter((id) => id.startsWith('drain-'));
    expect(done.length).toBeGreaterThanOrEqual(doneBefore + inFlight);
    expect(worker.tail(50)).toMatch(/in-flight work drained/);

    // Whatever was not done is still queued: nothing lost, and nothing done twice by a second worker.
    const { worker: second, opsPort: secondPort } = await startWorker({ WORK_MS: '0' });
    await waitFor('second worker ready', async () => (await readyz(secondPort)).status === 200);
    await waitFor(
      'all work done',
      async () => (await doneIds()).filter((id) => id.startsWith('drain-')).length === ids.length,
    );
    expect((await doneIds()).filter((id) => id.startsWith('drain-'))).toEqual(ids);
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
