import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import {
  freePort,
  type ManagedProcess,
  MosquittoServer,
  PostgresServer,
  RabbitMqServer,
  startServiceProcess,
  waitFor,
} from '@plantmesh/testkit';
import pg from 'pg';

const root = join(import.meta.dirname, '../..');
const entries = {
  reader: join(root, 'packages/mqtt-reader/src/main.ts'),
  writer: join(root, 'packages/amqp-writer/src/main.ts'),
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

  private constructor(
    readonly postgres: PostgresServer,
    readonly rabbitmq: RabbitMqServer,
    readonly eventsBroker: MosquittoServer,
    readonly sensorsBroker: MosquittoServer,
  ) {
    this.pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    this.pool.on('error', () => {}); // the tests restart the server under it
  }

  static async start(): Promise<IngestPlatform> {
    const [postgres, rabbitmq, eventsBroker, sensorsBroker] = await Promise.all([
      PostgresServer.create().then((s) => s.start()),
      RabbitMqServer.create().then((s) => s.start()),
      MosquittoServer.create().then((s) => s.start()),
      MosquittoServer.create().then((s) => s.start()),
    ]);
    const silent = createLogger({
      service: 'test',
      version: '0',
      destination: new Writable({ write: (_c, _e, done) => done() }),
    });
    await migrate(storeUrls({ DATABASE_URL: postgres.url }, stores), silent);
    return new IngestPlatform(postgres, rabbitmq, eventsBroker, sensorsBroker);
  }

  private async service(name: string, entry: string, env: Record<string, string>): Promise<ServiceHandle> {
    const opsPort = await freePort();
    const launch = async (): Promise<ServiceHandle> => {
      const process = startServiceProcess({
        entry,
        env: { OPS_HOST: '127.0.0.1', OPS_PORT: String(opsPort), LOG_LEVEL: 'info', ...env },
        logFile: join(this.postgres.dir, `${name}.log`),
      });
      this.running.add(process);
      const handle: ServiceHandle = { process, opsPort, restart: launch };
      await waitFor(`${name} ready`, async () => {
        if (!process.alive) throw new Error(`${name} exited:\n${process.tail()}`);
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

  startWriter(env: Record<string, string> = {}): Promise<ServiceHandle> {
    return this.service('amqp-writer', entries.writer, {
      DATABASE_URL: this.postgres.url,
      AMQP_URL: this.rabbitmq.url,
      ...env,
    });
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
  }
}
