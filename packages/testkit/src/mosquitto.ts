import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled } from './install.js';
import { LocalServer, type ServerOptions } from './local-server.js';
import { isPortOpen } from './ports.js';

export interface MosquittoServerOptions extends ServerOptions {
  /** Extra mosquitto.conf lines. */
  config?: string[];
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

  protected spec() {
    const config = [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
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
    ];
    const file = join(this.dir, 'mosquitto.conf');
    writeFileSync(file, `${config.join('\n')}\n`);
    return { command: this.binary, args: ['-c', file] };
  }

  protected probe(): Promise<boolean> {
    return isPortOpen(this.port);
  }
}
