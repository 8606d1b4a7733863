/**
 * The I3X API on a running ingest platform, for the tests with real processes: its own PostgreSQL login and
 * RabbitMQ user (passwords of the test, as `plantmesh migrate` sets them), the writer and the sensors reader,
 * the plant publishing samples over MQTT, and API replicas as service processes.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerUrl, setupBroker } from '@plantmesh/core';
import { generatePassword, scramVerifier, serviceUrl } from '@plantmesh/schema';
import { freePort, type ManagedProcess, startServiceProcess, waitFor } from '@plantmesh/testkit';
import mqtt, { type MqttClient } from 'mqtt';
import type { IngestPlatform } from '../../../tests/support/ingest-platform.js';

/** The API's main module, for a process a test starts itself. */
export const apiEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface Replica {
  name: string;
  port: number;
  opsPort: number;
  process: ManagedProcess;
}

export class LiveApi {
  private readonly dbPassword = generatePassword();
  private readonly amqpPassword = generatePassword();
  private publisher: MqttClient | undefined;
  readonly replicas = new Map<string, Replica>();

  constructor(private readonly platform: () => IngestPlatform) {}

  /** The API's login and RabbitMQ user, the writer, the sensors reader and a publisher of the plant. */
  async setUp(): Promise<void> {
    const platform = this.platform();
    await platform.query(`alter role plantmesh_i3x_api password '${scramVerifier(this.dbPassword)}'`);
    await setupBroker({
      amqpUrl: platform.rabbitmq.url,
      managementUrl: platform.rabbitmq.managementApiUrl as string,
      passwords: { 'i3x-api': this.amqpPassword },
    });
    await platform.startWriter();
    await platform.startSensorsReader();
    this.publisher = await mqtt.connectAsync(platform.publisherUrl('sensors'), { protocolVersion: 5 });
  }

  /** An API key with these scopes (`read,write`), made with `plantmesh keys create`. */
  async key(name: string, scopes: string): Promise<string> {
    const made = await this.platform().cli(['keys', 'create', name, '--scopes', scopes]);
    const key = made.output.match(/pmk_[\w-]{43}/)?.[0];
    if (!key) throw new Error(`no key made:\n${made.output}`);
    return key;
  }

  /** The environment a replica runs with (for a process a test starts itself). */
  environment(ports: { port: number; opsPort: number }, env: Record<string, string> = {}): Record<string, string> {
    const platform = this.platform();
    return {
      DATABASE_URL: serviceUrl(platform.postgres.url, 'i3x-api', this.dbPassword),
      AMQP_URL: brokerUrl(platform.rabbitmq.url, 'i3x-api', this.amqpPassword),
      ALLOW_PLAIN_HTTP: 'true',
      I3X_HOST: '127.0.0.1',
      I3X_PORT: String(ports.port),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(ports.opsPort),
      MODEL_SYNC_MS: '200',
      LOG_LEVEL: 'info',
      ...env,
    };
  }

  /**
   * Starts a replica (again, on the same ports, when it ran before); resolves once it is ready and consumes the
   * live stream.
   */
  async start(name: string, env: Record<string, string> = {}): Promise<Replica> {
    const known = this.replicas.get(name);
    const port = known?.port ?? (await freePort());
    const opsPort = known?.opsPort ?? (await freePort());
    const consuming = () => this.log(name).split('consuming the live stream').length;
    const before = known ? consuming() : 1;
    const child = startServiceProcess({
      entry: apiEntry,
      env: this.environment({ port, opsPort }, env),
      logFile: join(this.platform().logDir, `i3x-api-${name}.log`),
    });
    const replica = { name, port, opsPort, process: child };
    this.replicas.set(name, replica);
    await waitFor(`${name} ready and consuming the live stream`, async () => {
      if (!child.alive) throw new Error(`${name} exited:\n${child.tail()}`);
      const ready = (await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined))?.status === 200;
      return ready && consuming() > before;
    });
    return replica;
  }

  /** What a replica logged so far, over its restarts. */
  log(name: string): string {
    return this.platform().serviceLog(`i3x-api-${name}`);
  }

  /** The plant publishes samples of a series over MQTT; resolves once the writer has stored the last one. */
  async plant(path: string, unit: string, samples: ReadonlyArray<readonly [ms: number, value: number]>): Promise<void> {
    for (const [ts, value] of samples) {
      await this.publisher?.publishAsync(path, JSON.stringify({ ts, value, quality: 'good', unit }), { qos: 1 });
    }
    const [ts, value] = samples.at(-1) ?? [];
    await waitFor('the samples stored', async () => {
      const rows = await this.platform().query<{ n: number }>(
        `select count(*)::int as n from metrics.samples s join metrics.series r on r.id = s.series_id
          where r.path = $1 and s.ts = $2 and s.value = $3`,
        [path, new Date(ts as number).toISOString(), value],
      );
      return rows[0]?.n === 1;
    });
  }

  /** Stops the publisher and the replicas still running. */
  async tearDown(): Promise<void> {
    await this.publisher?.endAsync();
    for (const replica of this.replicas.values()) if (replica.process.alive) await replica.process.stop('SIGTERM');
  }
}
