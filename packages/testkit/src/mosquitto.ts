import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled } from './install.js';
import { LocalServer, type ServerOptions } from './local-server.js';
import { isPortOpen } from './ports.js';

/** A user of the broker and the topic filters it may read (subscribe to) and write (publish to). */
export interface MqttUser {
  username: string;
  password: string;
  read?: string[];
  write?: string[];
}

export interface MosquittoServerOptions extends ServerOptions {
  /** Extra mosquitto.conf lines. */
  config?: string[];
  /** With users, anonymous clients are refused and each user is held to its topics (like the chart's brokers). */
  users?: MqttUser[];
  /** An MQTTS listener on `port` with this certificate, beside the plain one. */
  tls?: { port: number; ca: string; cert: string; key: string };
}

/** Mosquitto's password file format 7: PBKDF2-SHA512, 101 iterations, as mosquitto_passwd writes it. */
function passwordLine(user: MqttUser): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(user.password, salt, 101, 64, 'sha512');
  return `${user.username}:$7$101$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A real Mosquitto broker on 127.0.0.1 with persistence in its own folder. */
export class MosquittoServer extends LocalServer {
  readonly name = 'mosquitto';
  private readonly binary: string;

  private constructor(
    port: number,
    private readonly options: MosquittoServerOptions,
  ) {
    super(port, options);
    this.binary = ensureInstalled('mosquitto').mosquitto;
  }

  static async create(options: MosquittoServerOptions = {}): Promise<MosquittoServer> {
    return new MosquittoServer(await LocalServer.pickPort(options), options);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The MQTTS listener's URL (with a user's credentials when given); `host` must be a name the certificate holds. */
  tlsUrl(username?: string, host = '127.0.0.1'): string {
    const { tls } = this.options;
    if (!tls) throw new Error('mosquitto: no TLS listener');
    const url = new URL(username ? this.urlFor(username) : this.url);
    url.protocol = 'mqtts:';
    url.hostname = host;
    url.port = String(tls.port);
    return url.toString();
  }

  /** The broker's URL with a user's credentials in it. */
  urlFor(username: string): string {
    const user = this.options.users?.find((candidate) => candidate.username === username);
    if (!user) throw new Error(`mosquitto: no user ${username}`);
    return `mqtt://${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}@127.0.0.1:${this.port}`;
  }

  private accessConfig(): string[] {
    const { users } = this.options;
    if (!users) return ['allow_anonymous true'];
    const passwords = join(this.dir, 'passwords');
    const acl = join(this.dir, 'acl');
    writeFileSync(passwords, `${users.map(passwordLine).join('\n')}\n`, { mode: 0o600 });
    const rules = users.flatMap((user) => [
      `user ${user.username}`,
      ...(user.read ?? []).map((filter) => `topic read ${filter}`),
      ...(user.write ?? []).map((filter) => `topic write ${filter}`),
      '',
    ]);
    writeFileSync(acl, rules.join('\n'));
    return ['allow_anonymous false', `password_file ${passwords}`, `acl_file ${acl}`];
  }

  protected spec() {
    const config = [
      `listener ${this.port} 127.0.0.1`,
      ...this.accessConfig(),
      'persistence true',
      `persistence_location ${this.dir}/`,
      // Persistent sessions of the no-loss readers must keep every message while a reader is away.
      'max_queued_messages 0',
      'max_inflight_messages 0',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'log_type notice',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      ...(this.options.config ?? []),
      // Listener settings follow their listener line, so this one comes last.
      ...(this.options.tls
        ? [
            `listener ${this.options.tls.port} 127.0.0.1`,
            `cafile ${this.options.tls.ca}`,
            `certfile ${this.options.tls.cert}`,
            `keyfile ${this.options.tls.key}`,
          ]
        : []),
    ];
    const file = join(this.dir, 'mosquitto.conf');
    writeFileSync(file, `${config.join('\n')}\n`);
    return { command: this.binary, args: ['-c', file] };
  }

  protected probe(): Promise<boolean> {
    return isPortOpen(this.port);
  }
}
