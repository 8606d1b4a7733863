import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, ingest } from '@plantmesh/core';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '@plantmesh/schema';
import { Simulator } from '@plantmesh/simulator';
import {
  freePort,
  type ManagedProcess,
  MosquittoServer,
  PostgresServer,
  RabbitMqServer,
  startServiceProcess,
  waitFor,
} from '@plantmesh/testkit';
import amqp from 'amqplib';
import pg from 'pg';

const root = join(import.meta.dirname, '../..');
const entries = {
  reader: join(root, 'packages/mqtt-reader/src/main.ts'),
  writer: join(root, 'packages/amqp-writer/src/main.ts'),
  cli: join(root, 'packages/cli/src/main.ts'),
};

export interface ServiceHandle {
  process: ManagedProcess;
  opsPort: number;
  /** Starts it again with the same environment (same client id and ops port). */
  restart(): Promise<ServiceHandle>;
}

/**
 * The ingestion pipeline as it runs in production, on one machine: PostgreSQL (migrated), RabbitMQ,
 * an events broker and a sensors broker, and the readers and the writer as real processes.
 */
export class IngestPlatform {
  private readonly running = new Set<ManagedProcess>();
  private readonly pool: pg.Pool;
  /** The writer's own login (made by the migrations), as in production: never the administrator. */
  private readonly writerPassword = generatePassword();
  /** The services' logs; kept after the run when KEEP_TEST_LOGS is set, for a failure's post-mortem. */
  readonly logDir = mkdtempSync(join(tmpdir(), 'plantmesh-ingest-logs-'));

  private constructor(
    readonly postgres: PostgresServer,
    readonly rabbitmq: RabbitMqServer,
    readonly eventsBroker: MosquittoServer,
    readonly sensorsBroker: MosquittoServer,
  ) {
    this.pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    this.pool.on('error', () => {}); // the tests restart the server under it
  }

  /**
   * `migrate: false` leaves the stores empty, for what happens before the migrations ran;
   * `rabbitmqPrometheusPort` turns on RabbitMQ's Prometheus endpoint there; `postgresSettings` are
   * server settings (e.g. production durability for a benchmark).
   */
  static async start(
    options: { migrate?: boolean; rabbitmqPrometheusPort?: number; postgresSettings?: Record<string, string> } = {},
  ): Promise<IngestPlatform> {
    const [postgres, rabbitmq, eventsBroker, sensorsBroker] = await Promise.all([
      PostgresServer.create({ settings: options.postgresSettings }).then((s) => s.start()),
      RabbitMqServer.create({ prometheusPort: options.rabbitmqPrometheusPort }).then((s) => s.start()),
      MosquittoServer.create().then((s) => s.start()),
      MosquittoServer.create().then((s) => s.start()),
    ]);
    const platform = new IngestPlatform(postgres, rabbitmq, eventsBroker, sensorsBroker);
    if (options.migrate !== false) await platform.migrate();
    return platform;
  }

  async migrate(): Promise<void> {
    const silent = createLogger({
      service: 'test',
      version: '0',
      destination: new Writable({ write: (_c, _e, done) => done() }),
    });
    await migrate(storeUrls({ DATABASE_URL: this.postgres.url }, stores), silent, {
      'amqp-writer': this.writerPassword,
    });
  }

  private async service(
    name: string,
    entry: string,
    env: Record<string, string>,
    waitReady = true,
  ): Promise<ServiceHandle> {
    const opsPort = await freePort();
    const launch = async (): Promise<ServiceHandle> => {
      const child = startServiceProcess({
        entry,
        env: { OPS_HOST: '127.0.0.1', OPS_PORT: String(opsPort), LOG_LEVEL: 'info', ...env },
        logFile: join(this.logDir, `${name}.log`),
      });
      this.running.add(child);
      const handle: ServiceHandle = { process: child, opsPort, restart: launch };
      if (!waitReady) return handle;
      await waitFor(`${name} ready`, async () => {
        if (!child.alive) throw new Error(`${name} exited:\n${child.tail()}`);
        return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200;
      });
      return handle;
    };
    return launch();
  }

  startEventsReader(env: Record<string, string> = {}): Promise<ServiceHandle> {
    return this.service('events-reader', entries.reader, {
      READER_PROFILE: 'events',
      MQTT_URL: this.eventsBroker.url,
      MQTT_CLIENT_ID: 'events-reader-test',
      AMQP_URL: this.rabbitmq.url,
      ...env,
    });
  }

  startSensorsReader(env: Record<string, string> = {}): Promise<ServiceHandle> {
    return this.service('sensors-reader', entries.reader, {
      READER_PROFILE: 'sensors',
      MQTT_URL: this.sensorsBroker.url,
      AMQP_URL: this.rabbitmq.url,
      ...env,
    });
  }

  startWriter(env: Record<string, string> = {}, waitReady = true): Promise<ServiceHandle> {
    return this.service(
      'amqp-writer',
      entries.writer,
      {
        DATABASE_URL: serviceUrl(this.postgres.url, 'amqp-writer', this.writerPassword),
        AMQP_URL: this.rabbitmq.url,
        ...env,
      },
      waitReady,
    );
  }

  private cliRuns = 0;

  /** Runs the `plantmesh` command against this platform's database; its exit code and output. */
  async cli(args: string[]): Promise<{ code: number | null; output: string }> {
    this.cliRuns += 1;
    const child = startServiceProcess({
      entry: entries.cli,
      args,
      env: { DATABASE_URL: this.postgres.url },
      logFile: join(this.logDir, `cli-${this.cliRuns}.log`),
    });
    const code = await child.waitExit(60_000);
    return { code, output: child.tail(100) };
  }

  /** Everything a service wrote to stdout and stderr so far, over its restarts. */
  serviceLog(name: 'events-reader' | 'sensors-reader' | 'amqp-writer'): string {
    return readFileSync(join(this.logDir, `${name}.log`), 'utf8');
  }

  /** A query that retries while PostgreSQL is being restarted. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return (await this.pool.query<R>(sql, params)).rows;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** A plant publishing `total` events (QoS 1) at `rate` per second to the events broker. */
  eventsPlant(total: number, seed: number, rate = 3_000): Simulator {
    return new Simulator({
      eventsUrl: this.eventsBroker.url,
      eventsPerSecond: rate,
      eventQos: 1,
      maxEvents: total,
      series: 1,
      samplesPerSecond: 0,
      samplesPerMessage: 1,
      sensorQos: 0,
      seed,
      site: 'plant1',
    });
  }

  /** Queue depths and the services' pipeline metrics, for the message of a failed wait. */
  async diagnose(services: ServiceHandle[]): Promise<string> {
    const lines: string[] = [];
    try {
      const connection = await amqp.connect(this.rabbitmq.url);
      const channel = await connection.createChannel();
      for (const queue of Object.values(ingest.queues)) {
        const { messageCount, consumerCount } = await channel.checkQueue(queue);
        lines.push(`${queue}: ${messageCount} ready, ${consumerCount} consumers`);
      }
      await connection.close();
    } catch (error) {
      lines.push(`rabbitmq: ${(error as Error).message}`);
    }
    for (const service of services) {
      const text = await fetch(`http://127.0.0.1:${service.opsPort}/metrics`)
        .then((response) => response.text())
        .catch((error: Error) => `unreachable: ${error.message}`);
      lines.push(...text.split('\n').filter((line) => /^plantmesh_(reader|writer)_(?!.*_bucket)/.test(line)));
    }
    lines.push(`quarantine: ${await this.count('select count(*) as n from raw.quarantine')}`);
    return lines.join('\n');
  }

  async count(sql: string): Promise<number> {
    const [row] = await this.query<{ n: number }>(sql);
    return Number(row?.n ?? 0);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running].map((process) => process.stop('SIGKILL')));
    await this.pool.end();
    await Promise.all(
      [this.postgres, this.rabbitmq, this.eventsBroker, this.sensorsBroker].map((server) => server.destroy()),
    );
    if (process.env.KEEP_TEST_LOGS) process.stderr.write(`service logs kept in ${this.logDir}\n`);
    else rmSync(this.logDir, { recursive: true, force: true });
  }
}
