import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrokerService,
  type BrokerUser,
  brokerUrl,
  brokerUserNames,
  createLogger,
  ingest,
  setupBroker,
  urlWithLogin,
} from '@plantmesh/core';
import { createUser, generatePassword, migrate, serviceUrl, stores, storeUrls, type UserRole } from '@plantmesh/schema';
import { Simulator, type SimulatorOptions } from '@plantmesh/simulator';
import {
  freePort,
  type ManagedProcess,
  MosquittoServer,
  type MqttUser,
  PostgresServer,
  RabbitMqServer,
  startServiceProcess,
  TestCa,
  waitFor,
} from '@plantmesh/testkit';
import amqp from 'amqplib';
import pg from 'pg';

const root = join(import.meta.dirname, '../..');
/**
 * The brokers' users, as the chart's brokers have them: the readers read, the test plant publishes under
 * its sites only, the replay tool publishes anywhere, and the benchmark's probe does both (baselines).
 */
const mqttUsers: MqttUser[] = [
  { username: 'plantmesh-reader', password: generatePassword(), read: ['#'] },
  { username: 'plant-publisher', password: generatePassword(), write: ['plant1/#', 'bench/#'] },
  { username: 'plantmesh-replay', password: generatePassword(), write: ['#'] },
  { username: 'probe', password: generatePassword(), read: ['#'], write: ['#'] },
];
const reader = mqttUsers[0] as MqttUser;

const entries = {
  reader: join(root, 'packages/mqtt-reader/src/main.ts'),
  writer: join(root, 'packages/amqp-writer/src/main.ts'),
  etlCurated: join(root, 'packages/etl-curated/src/main.ts'),
  etlBusiness: join(root, 'packages/etl-business/src/main.ts'),
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
  /** The curated and business ETLs' own logins. */
  private readonly etlPassword = generatePassword();
  private readonly businessPassword = generatePassword();
  /** Each service's own RabbitMQ user (made by the migrations), as in production. */
  private readonly brokerPasswords = Object.fromEntries(
    brokerUserNames.map((service) => [service, generatePassword()]),
  ) as Record<BrokerUser, string>;
  /** The services' logs; kept after the run when KEEP_TEST_LOGS is set, for a failure's post-mortem. */
  readonly logDir = mkdtempSync(join(tmpdir(), 'plantmesh-ingest-logs-'));

  private constructor(
    readonly postgres: PostgresServer,
    readonly rabbitmq: RabbitMqServer,
    readonly eventsBroker: MosquittoServer,
    readonly sensorsBroker: MosquittoServer,
    /** With TLS: the CA that signed every server's certificate, which the services trust. */
    readonly ca?: TestCa,
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
    options: {
      migrate?: boolean;
      rabbitmqPrometheusPort?: number;
      postgresSettings?: Record<string, string>;
      /** TLS on every server (certificates from a CA of the test's own for 127.0.0.1); services use it. */
      tls?: boolean;
    } = {},
  ): Promise<IngestPlatform> {
    const ca = options.tls ? TestCa.create() : undefined;
    const files = ca?.issue(['127.0.0.1']);
    const tlsOn = async () => (files ? { ...files, port: await freePort() } : undefined);
    const [postgres, rabbitmq, eventsBroker, sensorsBroker] = await Promise.all([
      PostgresServer.create({ settings: options.postgresSettings, tls: files }).then((s) => s.start()),
      Promise.all([freePort(), tlsOn()])
        .then(([managementPort, tls]) =>
          RabbitMqServer.create({ prometheusPort: options.rabbitmqPrometheusPort, managementPort, tls }),
        )
        .then((s) => s.start()),
      tlsOn().then((tls) => MosquittoServer.create({ users: mqttUsers, tls }).then((s) => s.start())),
      tlsOn().then((tls) => MosquittoServer.create({ users: mqttUsers, tls }).then((s) => s.start())),
    ]);
    const platform = new IngestPlatform(postgres, rabbitmq, eventsBroker, sensorsBroker, ca);
    if (options.migrate !== false) await platform.migrate();
    return platform;
  }

  /**
   * How a service reaches the servers: with TLS, verified against the test's CA (given to Node as an
   * extra CA, as the chart mounts the plant's CA), PostgreSQL with sslmode=verify-full, amqps, mqtts.
   */
  serviceEnv(service: BrokerService): Record<string, string> {
    const tls = this.ca !== undefined;
    const amqp = brokerUrl(tls ? this.rabbitmq.tlsUrl() : this.rabbitmq.url, service, this.brokerPasswords[service]);
    if (service === 'amqp-writer') {
      const database = serviceUrl(this.postgres.url, 'amqp-writer', this.writerPassword);
      return {
        DATABASE_URL: tls ? `${database}?sslmode=verify-full` : database,
        AMQP_URL: amqp,
        ...(this.ca ? { NODE_EXTRA_CA_CERTS: this.ca.certFile } : {}),
      };
    }
    const broker = service === 'events-reader' ? this.eventsBroker : this.sensorsBroker;
    return {
      MQTT_URL: tls ? broker.tlsUrl() : broker.url,
      MQTT_USERNAME: reader.username,
      MQTT_PASSWORD: reader.password,
      AMQP_URL: amqp,
      ...(this.ca ? { NODE_EXTRA_CA_CERTS: this.ca.certFile } : {}),
    };
  }

  /** What `plantmesh migrate` does: the stores and the services' logins, then the broker's topology and users. */
  async migrate(parts: { stores?: boolean; broker?: boolean } = {}): Promise<void> {
    if (parts.stores !== false) {
      const silent = createLogger({ service: 'test', version: '0', level: 'silent' });
      await migrate(storeUrls({ DATABASE_URL: this.postgres.url }, stores), silent, {
        'amqp-writer': this.writerPassword,
        'etl-curated': this.etlPassword,
        'etl-business': this.businessPassword,
      });
    }
    if (parts.broker !== false) {
      await setupBroker({
        amqpUrl: this.rabbitmq.url,
        managementUrl: this.rabbitmq.managementApiUrl as string,
        passwords: this.brokerPasswords,
      });
    }
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

  startEventsReader(env: Record<string, string> = {}, waitReady = true): Promise<ServiceHandle> {
    return this.service(
      'events-reader',
      entries.reader,
      {
        READER_PROFILE: 'events',
        MQTT_CLIENT_ID: 'events-reader-test',
        ...this.serviceEnv('events-reader'),
        ...env,
      },
      waitReady,
    );
  }

  startSensorsReader(env: Record<string, string> = {}): Promise<ServiceHandle> {
    return this.service('sensors-reader', entries.reader, {
      READER_PROFILE: 'sensors',
      ...this.serviceEnv('sensors-reader'),
      ...env,
    });
  }

  startWriter(env: Record<string, string> = {}, waitReady = true): Promise<ServiceHandle> {
    return this.service('amqp-writer', entries.writer, { ...this.serviceEnv('amqp-writer'), ...env }, waitReady);
  }

  /**
   * A curated ETL worker as its own login; `name` tells replicas' logs apart. Definitions come from
   * DEFINITIONS_DIR in `env`, the shipped ones otherwise.
   */
  startCuratedEtl(env: Record<string, string> = {}, name = 'etl-curated'): Promise<ServiceHandle> {
    const database = serviceUrl(this.postgres.url, 'etl-curated', this.etlPassword);
    return this.service(name, entries.etlCurated, { DATABASE_URL: database, POLL_MS: '50', ...env });
  }

  /** A business ETL worker as its own login; KPI definitions from KPI_DEFINITIONS_DIR in `env`, else the shipped ones. */
  startBusinessEtl(env: Record<string, string> = {}, name = 'etl-business'): Promise<ServiceHandle> {
    const database = serviceUrl(this.postgres.url, 'etl-business', this.businessPassword);
    return this.service(name, entries.etlBusiness, { DATABASE_URL: database, POLL_MS: '50', ...env });
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
  serviceLog(name: string): string {
    return readFileSync(join(this.logDir, `${name}.log`), 'utf8');
  }

  /** A broker's URL as one of its users: the plant's publisher by default. */
  publisherUrl(
    stream: 'events' | 'sensors',
    user: 'plant-publisher' | 'plantmesh-replay' | 'probe' = 'plant-publisher',
  ): string {
    return (stream === 'events' ? this.eventsBroker : this.sensorsBroker).urlFor(user);
  }

  /** RabbitMQ as one of the platform's users (made by the migrations with its password), e.g. the catalog's. */
  amqpUrlOf(who: BrokerUser): string {
    return brokerUrl(this.rabbitmq.url, who, this.brokerPasswords[who]);
  }

  /** The live stream as its reader sees it (RabbitMQ's plantmesh-live-reader user). */
  liveUrl(): string {
    return brokerUrl(this.rabbitmq.url, 'live-reader', this.brokerPasswords['live-reader']);
  }

  /** The URL of a new person's or model's login with a role (plantmesh users create NAME --role ROLE). */
  async userUrl(name: string, role: UserRole): Promise<string> {
    const client = await this.pool.connect();
    try {
      return urlWithLogin(this.postgres.url, name, await createUser(client, name, role));
    } finally {
      client.release();
    }
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

  /**
   * A plant publishing `total` events (QoS 1) at `rate` per second to the events broker; `onEvent` records
   * each. With `onReading`, its energy meters also publish every second (QoS 1) to the sensor broker.
   */
  eventsPlant(
    total: number,
    seed: number,
    rate = 3_000,
    onEvent?: SimulatorOptions['onEvent'],
    onReading?: SimulatorOptions['onReading'],
  ): Simulator {
    return new Simulator({
      onEvent,
      onReading,
      ...(onReading ? { sensorsUrl: this.publisherUrl('sensors'), meterIntervalMs: 1_000 } : {}),
      eventsUrl: this.publisherUrl('events'),
      eventsPerSecond: rate,
      eventQos: 1,
      maxEvents: total,
      series: 1,
      samplesPerSecond: 0,
      samplesPerMessage: 1,
      sensorQos: 1,
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
