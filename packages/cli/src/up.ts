import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BrokerService,
  type BrokerUser,
  brokerUrl,
  brokerUserNames,
  brokerUsers,
  createLogger,
  type Logger,
  setupBroker,
} from '@plantmesh/core';
import { importCommand } from '@plantmesh/information-model/store';
import {
  createUser,
  generatePassword,
  listUsers,
  migrate,
  rotateUser,
  type ServiceName,
  serviceLogins,
  serviceUrl,
  stores,
  storeUrls,
} from '@plantmesh/schema';
import {
  type LocalServer,
  type ManagedProcess,
  MosquittoServer,
  type MqttUser,
  PostgresServer,
  PrometheusServer,
  RabbitMqServer,
  type ScrapeTarget,
  startServiceProcess,
} from '@plantmesh/testkit';
import pg from 'pg';
import { createApiKey, revokeApiKey } from './keys.js';
import { localPorts } from './ports.js';
import { localServices, type PlatformEndpoints } from './services.js';

/** A pino JSON line as `HH:MM:SS level message key=value ...`, for a person watching the terminal. */
export function readableLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  const { time, level, msg, service: _service, version: _version, err, ...rest } = entry;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const extra = Object.entries(rest).map(
    ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  const error = err && typeof err === 'object' ? [`error="${(err as { message?: string }).message}"`] : [];
  return [clock, String(level ?? '').padEnd(5), msg, ...extra, ...error].join(' ');
}

export interface UpOptions {
  /** Data and logs of the local platform; kept between runs. */
  dir: string;
  portsFrom: number;
  repoRoot: string;
  /** Also start Prometheus (Debian's), scraping every service and RabbitMQ, with the chart's alert rules. */
  observe: boolean;
  /** Where the summary and the services' prefixed log lines go. */
  print: (line: string) => void;
}

export interface RunningPlatform {
  endpoints: PlatformEndpoints;
  stop(): Promise<void>;
}

/** The `grafana` reader login, made on the first start and given a new password on each. */
async function grafanaLogin(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'plantmesh-up' });
  await client.connect();
  try {
    const exists = (await listUsers(client)).some((user) => user.name === 'grafana');
    return exists ? await rotateUser(client, 'grafana') : await createUser(client, 'grafana', 'reader');
  } finally {
    await client.end();
  }
}

/** The `local` I3X API key with every scope, new at every start (the one before is revoked). */
async function localApiKey(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'plantmesh-up' });
  await client.connect();
  try {
    await revokeApiKey(client, 'local');
    return await createApiKey(client, 'local', ['read', 'write', 'subscribe']);
  } finally {
    await client.end();
  }
}

/**
 * `plantmesh up`: the real servers with their data under `dir`, the migrations, and every plantmesh
 * service as a child process with the environment it would get in Kubernetes.
 */
export async function up(options: UpOptions): Promise<RunningPlatform> {
  const { dir, print } = options;
  const ports = localPorts(options.portsFrom);
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const servers: LocalServer[] = [];
  const services: Array<{ name: string; process: ManagedProcess }> = [];

  const stop = async () => {
    print('stopping services ...');
    await Promise.all(services.map((service) => service.process.stop('SIGTERM')));
    print('stopping servers ...');
    await Promise.all(servers.map((server) => server.stop()));
    print('stopped');
  };

  try {
    print(`starting servers (data in ${dir}) ...`);
    // The brokers refuse anonymous clients, as the chart's do: the readers read, the simulator publishes
    // under its site, the quarantine replay publishes anywhere. New passwords at every start.
    const mqttUsers: MqttUser[] = [
      { username: 'plantmesh-reader', password: generatePassword(), read: ['#'] },
      { username: 'plant-simulator', password: generatePassword(), write: ['plant1/#'] },
      { username: 'plantmesh-replay', password: generatePassword(), write: ['#'] },
    ];
    const [postgres, rabbitmq, mqttEvents, mqttSensors] = await Promise.all([
      PostgresServer.create({ dir: join(dir, 'postgres'), port: ports.postgres }).then(track),
      RabbitMqServer.create({
        dir: join(dir, 'rabbitmq'),
        port: ports.amqp,
        managementPort: ports.rabbitmqManagement,
        distributionPort: ports.rabbitmqDistribution,
        prometheusPort: ports.rabbitmqPrometheus,
      }).then(track),
      MosquittoServer.create({ dir: join(dir, 'mqtt-events'), port: ports.mqttEvents, users: mqttUsers }).then(track),
      MosquittoServer.create({ dir: join(dir, 'mqtt-sensors'), port: ports.mqttSensors, users: mqttUsers }).then(track),
    ]);
    await Promise.all(servers.map((server) => server.start()));

    const log: Logger = createLogger({ service: 'plantmesh-migrate', version: '0', level: 'warn' });
    // Each service logs in as itself, with a password new at every start (set by the migrations).
    const logins = Object.keys(serviceLogins) as ServiceName[];
    const passwords = Object.fromEntries(logins.map((service) => [service, generatePassword()])) as Record<
      ServiceName,
      string
    >;
    const migrated = await migrate(storeUrls({ DATABASE_URL: postgres.url }, stores), log, passwords);
    print(`migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied} already in place`);
    // Grafana reads as a reader login of its own (grafana/provisioning expects it under this name).
    const grafanaPassword = await grafanaLogin(postgres.url);
    const apiKey = await localApiKey(postgres.url);
    // The simulated plant's asset model (docs/asset-model.md): names, machines and their parts, Monitors edges.
    // Not needed to run: a failure is said, and the platform starts with the topic paths' hierarchy alone.
    await importCommand(
      ['assets', join(options.repoRoot, 'packages/information-model/assets/plant1.yaml')],
      { DATABASE_URL: postgres.url },
      (line) => print(`asset model: ${line}`),
    ).catch((error: Error) => print(`asset model: not imported: ${error.message}`));
    const brokerServices = Object.keys(brokerUsers) as BrokerService[];
    const brokerPasswords = Object.fromEntries(
      brokerUserNames.map((service) => [service, generatePassword()]),
    ) as Record<BrokerUser, string>;
    await setupBroker({
      amqpUrl: rabbitmq.url,
      managementUrl: rabbitmq.managementApiUrl as string,
      passwords: brokerPasswords,
    });

    const endpoints: PlatformEndpoints = {
      databaseUrl: postgres.url,
      serviceDatabaseUrls: Object.fromEntries(
        logins.map((service) => [service, serviceUrl(postgres.url, service, passwords[service])]),
      ) as Record<ServiceName, string>,
      amqpUrls: Object.fromEntries(
        brokerServices.map((service) => [service, brokerUrl(rabbitmq.url, service, brokerPasswords[service])]),
      ) as Record<BrokerService, string>,
      mqttEventsUrl: mqttEvents.url,
      mqttSensorsUrl: mqttSensors.url,
      mqttReader: mqttUsers[0] as MqttUser,
      simulatorUrls: { events: mqttEvents.urlFor('plant-simulator'), sensors: mqttSensors.urlFor('plant-simulator') },
      catalogToken: generatePassword(),
      ports,
    };
    const width = 14;
    const definitions = localServices(endpoints);
    definitions.forEach((definition, index) => {
      const opsPort = ports.servicesFrom + index;
      const prefix = `[${definition.name}]`.padEnd(width);
      services.push({
        name: definition.name,
        process: startServiceProcess({
          entry: join(options.repoRoot, definition.entry),
          args: definition.args,
          env: { OPS_HOST: '127.0.0.1', OPS_PORT: String(opsPort), ...definition.env },
          logFile: join(logDir, `${definition.name}.log`),
          onLine: (line) => print(`${prefix} ${readableLogLine(line)}`),
        }),
      });
    });

    let prometheus: PrometheusServer | undefined;
    if (options.observe) {
      const targets: ScrapeTarget[] = [
        ...definitions
          .map((definition, index) => ({ definition, port: ports.servicesFrom + index }))
          .filter(({ definition }) => definition.ops !== false)
          .map(({ definition, port }) => ({ address: `127.0.0.1:${port}`, labels: { pod: definition.name } })),
        { address: `127.0.0.1:${ports.rabbitmqPrometheus}`, labels: { pod: 'rabbitmq' } },
      ];
      const server = await PrometheusServer.create({
        dir: join(dir, 'prometheus'),
        port: ports.prometheus,
        targets,
        ruleFiles: [join(options.repoRoot, 'charts/plantmesh/files/alerts.yaml')],
      }).then(track);
      prometheus = await server.start();
    }

    const row = (name: string, text: string) => print(`  ${name.padEnd(width)} ${text}`);
    print('plantmesh is up:');
    row('postgres', `${postgres.url}   (psql "${postgres.url}"; the administrator, for you and the migrations)`);
    for (const service of logins) {
      row('', `${service} logs in as ${serviceUrl(postgres.url, service, passwords[service])}`);
    }
    row('', 'people, models and Grafana: pnpm plantmesh users create NAME --role reader|results-writer');
    row('rabbitmq', `${rabbitmq.url}   management ${rabbitmq.managementUrl} (user plantmesh, password plantmesh)`);
    for (const service of brokerServices) {
      row('', `${service} connects as ${brokerUrl(rabbitmq.url, service, brokerPasswords[service])}`);
    }
    row('', `SDK live values (liveUrl): ${brokerUrl(rabbitmq.url, 'live-reader', brokerPasswords['live-reader'])}`);
    row('', `prometheus metrics ${rabbitmq.prometheusUrl}`);
    row('mqtt events', mqttEvents.url);
    row('mqtt sensors', mqttSensors.url);
    for (const user of mqttUsers) {
      row(
        '',
        `user ${user.username} password ${user.password} (${user.read ? 'reads' : 'publishes to'} ${[...(user.read ?? []), ...(user.write ?? [])].join(' ')})`,
      );
    }
    definitions.forEach((definition, index) => {
      const ops = `http://127.0.0.1:${ports.servicesFrom + index}`;
      row(definition.name, definition.ops === false ? 'publishing to both brokers' : `${ops}/metrics  ${ops}/readyz`);
    });
    const i3x = `http://127.0.0.1:${ports.i3xApi}/v1`;
    row('i3x api', `${i3x}  (docs ${i3x}/docs: any user, the key as the password)`);
    row(
      '',
      `key ${apiKey} (read, write, subscribe; new at every start; more: pnpm plantmesh keys create NAME --scopes read)`,
    );
    const catalog = `http://127.0.0.1:${ports.catalog}/v1`;
    row('catalog', `${catalog}/products  (search: ${catalog}/search?q=heats; OpenAPI ${catalog}/openapi.json)`);
    row('', `registration token ${endpoints.catalogToken} (new at every start; see docs/catalog.md)`);
    if (prometheus) {
      row('prometheus', `${prometheus.url}  (alerts: ${prometheus.url}/alerts)`);
      row('grafana', 'provision grafana/provisioning (datasources and the dashboards of grafana/dashboards)');
      row('', `with PLANTMESH_GRAFANA_DB_PASSWORD=${grafanaPassword} (PostgreSQL reader login grafana)`);
    }
    print(`  server logs    ${dir}/<server>/<server>.log; service logs ${logDir}`);
    print(`Data arrives within seconds: psql "${postgres.url}" -c 'select * from metrics.latest limit 5'`);
    print(`Curated tables fill as the plant reports: psql "${postgres.url}" -c 'select * from curated.plates limit 5'`);
    print(`KPIs per shift follow: psql "${postgres.url}" -c 'select * from business.quench_quality_per_shift'`);
    print(`The I3X API serves them: curl -H "Authorization: Bearer ${apiKey}" '${i3x}/objects?root=true'`);
    print('Press Ctrl-C to stop.');
    return { endpoints, stop };
  } catch (error) {
    await stop();
    throw error;
  }

  function track<S extends LocalServer>(server: S): S {
    servers.push(server);
    return server;
  }
}
