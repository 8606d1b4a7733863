import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { ensureInstalled } from './install.js';
import { LocalServer, type ServerOptions } from './local-server.js';

export interface PostgresServerOptions extends ServerOptions {
  user?: string;
  password?: string;
  database?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** A server certificate and key: TLS on (clients may still connect in plain unless they ask for TLS). */
  tls?: { cert: string; key: string };
}

/** PostgreSQL refuses to run as root; as root the server runs as Debian's `postgres` user. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * The `postgres` user must be able to reach its data folder: a parent such as a temporary folder or
 * /root is often closed to others. Adds search permission (o+x, not read) where it is missing.
 */
function allowTraversal(dir: string): void {
  for (let current = dir; ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      process.stderr.write(`postgres: adding o+x to ${current} so that the postgres user can reach its data\n`);
      chmodSync(current, mode | 0o001);
    }
    if (dirname(current) === current) return;
  }
}

/** A real PostgreSQL server on 127.0.0.1 with its own data folder. */
export class PostgresServer extends LocalServer {
  readonly name = 'postgres';
  readonly user: string;
  readonly password: string;
  readonly database: string;
  private readonly bin: string;
  private readonly identity = serverIdentity();
  private readonly settings: Record<string, string | number>;

  private constructor(port: number, options: PostgresServerOptions) {
    super(port, options);
    this.bin = ensureInstalled('postgres').postgres;
    this.user = options.user ?? 'plantmesh';
    this.password = options.password ?? 'plantmesh';
    this.database = options.database ?? 'plantmesh';
    // fsync=off survives a killed server (the page cache keeps the data) but not a machine crash:
    // right for tests and a local platform, never for production.
    this.settings = { fsync: 'off', max_connections: 200, ...options.settings };
    this.tls = options.tls;
  }

  private readonly tls: { cert: string; key: string } | undefined;

  static async create(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    return new PostgresServer(await LocalServer.pickPort(options), options);
  }

  get url(): string {
    return this.urlFor(this.database);
  }

  urlFor(database: string): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  override async start(timeoutMs?: number): Promise<this> {
    const fresh = !existsSync(join(this.dataDir, 'PG_VERSION'));
    if (fresh) this.initdb();
    if (this.tls) this.installTls(this.tls);
    await super.start(timeoutMs);
    if (fresh) await this.createDatabase();
    return this;
  }

  private initdb(): void {
    const passwordFile = join(this.dir, 'pwfile');
    writeFileSync(passwordFile, `${this.password}\n`, { mode: 0o600 });
    if (this.identity) {
      allowTraversal(dirname(this.dir));
      chownSync(this.dir, this.identity.uid, this.identity.gid);
      chownSync(passwordFile, this.identity.uid, this.identity.gid);
    }
    execFileSync(
      join(this.bin, 'initdb'),
      [
        '-D',
        this.dataDir,
        '-U',
        this.user,
        `--pwfile=${passwordFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ],
      { stdio: 'pipe', ...this.identity },
    );
  }

  /** PostgreSQL reads its key only when the server's own user owns it and nobody else may read it. */
  private installTls(tls: { cert: string; key: string }): void {
    const cert = join(this.dir, 'server.crt');
    const key = join(this.dir, 'server.key');
    copyFileSync(tls.cert, cert);
    copyFileSync(tls.key, key);
    chmodSync(key, 0o600);
    if (this.identity) for (const file of [cert, key]) chownSync(file, this.identity.uid, this.identity.gid);
    Object.assign(this.settings, { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key });
  }

  private async createDatabase(): Promise<void> {
    const client = new pg.Client({ connectionString: this.urlFor('postgres') });
    await client.connect();
    try {
      await client.query(`create database "${this.database.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
  }

  protected spec() {
    const settings = Object.entries(this.settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
    return {
      command: join(this.bin, 'postgres'),
      args: [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-k',
        this.dir,
        ...settings,
      ],
      ...this.identity,
    };
  }

  protected async probe(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.urlFor('postgres'), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * At the end of a test, a pool's `end()` has resolved while its connections are still closing; a fast
   * shutdown then sends them "terminating connection", which the pool re-emits as an unhandled error.
   * So the server waits (briefly) for its clients to leave first.
   */
  override async destroy(): Promise<void> {
    if (this.managed?.alive) await this.clientsGone(2_000).catch(() => {});
    await super.destroy();
  }

  private async clientsGone(timeoutMs: number): Promise<void> {
    const client = new pg.Client({ connectionString: this.urlFor('postgres'), connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
        );
        if (rows[0]?.n === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Graceful stop: "fast" shutdown (SIGINT) rolls back open transactions, as a pod's stop does. */
  override async stop(): Promise<void> {
    await this.managed?.stop('SIGINT');
  }
}
