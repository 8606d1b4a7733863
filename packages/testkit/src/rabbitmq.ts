import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { ensureInstalled } from './install.js';
import { LocalServer, type ServerOptions } from './local-server.js';
import { freePort } from './ports.js';

export interface RabbitMqServerOptions extends ServerOptions {
  user?: string;
  password?: string;
  /** Port for the management UI and API (enables the management plugin). */
  managementPort?: number;
  /** Port for the Prometheus endpoint (enables the rabbitmq_prometheus plugin). */
  prometheusPort?: number;
  /** The Erlang distribution port (default: port + 20000 when a port is given, else a free one). */
  distributionPort?: number;
  /** An AMQPS listener on `port` with this certificate (see tlsUrl). */
  tls?: { port: number; ca: string; cert: string; key: string };
}

/** A real RabbitMQ node on 127.0.0.1 with its own data folder, node name and ports. */
export class RabbitMqServer extends LocalServer {
  readonly name = 'rabbitmq';
  readonly user: string;
  readonly password: string;
  private readonly script: string;

  private constructor(
    port: number,
    private readonly distributionPort: number,
    private readonly options: RabbitMqServerOptions,
  ) {
    super(port, options);
    this.script = ensureInstalled('rabbitmq').rabbitmq;
    this.user = options.user ?? 'plantmesh';
    this.password = options.password ?? 'plantmesh';
  }

  static async create(options: RabbitMqServerOptions = {}): Promise<RabbitMqServer> {
    const port = await LocalServer.pickPort(options);
    // The Erlang distribution port must stay the same across restarts for the node to come back.
    const distribution = options.distributionPort ?? (options.port ? options.port + 20_000 : await freePort());
    return new RabbitMqServer(port, distribution, options);
  }

  get url(): string {
    return `amqp://${this.user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  /** The AMQPS URL as the administrator, when TLS is on; `host` must be a name the certificate holds. */
  tlsUrl(host = '127.0.0.1'): string {
    if (!this.options.tls) throw new Error('rabbitmq: no TLS listener');
    return `amqps://${this.user}:${encodeURIComponent(this.password)}@${host}:${this.options.tls.port}`;
  }

  get managementUrl(): string | undefined {
    return this.options.managementPort ? `http://127.0.0.1:${this.options.managementPort}` : undefined;
  }

  /** The management API with the administrator's credentials in the URL (for setupBroker). */
  get managementApiUrl(): string | undefined {
    const url = this.managementUrl;
    return url?.replace('//', `//${this.user}:${encodeURIComponent(this.password)}@`);
  }

  get prometheusUrl(): string | undefined {
    return this.options.prometheusPort ? `http://127.0.0.1:${this.options.prometheusPort}/metrics` : undefined;
  }

  protected spec() {
    const { managementPort, prometheusPort, tls } = this.options;
    const config = [
      `listeners.tcp.default = 127.0.0.1:${this.port}`,
      `default_user = ${this.user}`,
      `default_pass = ${this.password}`,
      'loopback_users = none',
      'disk_free_limit.absolute = 100MB',
      ...(managementPort ? [`management.tcp.port = ${managementPort}`, 'management.tcp.ip = 127.0.0.1'] : []),
      ...(prometheusPort ? [`prometheus.tcp.port = ${prometheusPort}`, 'prometheus.tcp.ip = 127.0.0.1'] : []),
      ...(tls
        ? [
            `listeners.ssl.default = 127.0.0.1:${tls.port}`,
            `ssl_options.cacertfile = ${tls.ca}`,
            `ssl_options.certfile = ${tls.cert}`,
            `ssl_options.keyfile = ${tls.key}`,
            'ssl_options.verify = verify_none',
            'ssl_options.fail_if_no_peer_cert = false',
          ]
        : []),
    ];
    const plugins = [
      ...(managementPort ? ['rabbitmq_management'] : []),
      ...(prometheusPort ? ['rabbitmq_prometheus'] : []),
    ];
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
    writeFileSync(join(this.dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
    return {
      command: this.script,
      args: [],
      cwd: this.dir,
      env: {
        ...process.env,
        HOME: this.dir, // the Erlang cookie lives here
        RABBITMQ_NODENAME: `plantmesh-${this.port}@localhost`,
        RABBITMQ_DIST_PORT: String(this.distributionPort),
        RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
        RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(this.dir, 'log'),
        RABBITMQ_LOGS: '-',
        RABBITMQ_PID_FILE: join(this.dir, 'rabbitmq.pid'),
        ERL_EPMD_ADDRESS: '127.0.0.1',
      },
    };
  }

  protected async probe(): Promise<boolean> {
    const connection = await amqp.connect(this.url);
    await connection.close();
    return true;
  }
}
