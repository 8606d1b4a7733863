import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, type ProcessSpec } from './managed-process.js';
import { freePort } from './ports.js';

export interface ServerOptions {
  /** Keeps the data here (and keeps it after stop); a temporary folder, removed on destroy, otherwise. */
  dir?: string;
  /** A fixed port; a free one otherwise. */
  port?: number;
  /** Called with each line the server prints. */
  onLine?: (line: string) => void;
}

/**
 * A real server run as a local process: started, stopped, killed and restarted on the same port and
 * data, as the fault tests need.
 */
export abstract class LocalServer {
  abstract readonly name: string;
  abstract readonly url: string;
  protected managed: ManagedProcess | undefined;
  private readonly temporary: boolean;
  readonly dir: string;

  protected constructor(
    readonly port: number,
    options: ServerOptions,
  ) {
    this.temporary = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'plantmesh-'));
    mkdirSync(this.dir, { recursive: true });
    this.onLine = options.onLine;
  }

  private readonly onLine: ((line: string) => void) | undefined;

  protected static async pickPort(options: ServerOptions): Promise<number> {
    return options.port ?? (await freePort());
  }

  /** The command that runs the server in the foreground. */
  protected abstract spec(): Omit<ProcessSpec, 'logFile' | 'onLine'>;

  /** Resolves when the server accepts work. */
  protected abstract probe(): Promise<boolean>;

  get pid(): number | undefined {
    return this.managed?.pid;
  }

  async start(timeoutMs = 60_000): Promise<this> {
    const managed = new ManagedProcess({
      ...this.spec(),
      logFile: join(this.dir, `${this.name}.log`),
      onLine: this.onLine,
    });
    this.managed = managed;
    managed.start();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!managed.alive) {
        throw new Error(`${this.name} exited during start; its last lines:\n${managed.tail()}`);
      }
      if (await this.probe().catch(() => false)) return this;
      if (Date.now() > deadline) {
        throw new Error(`${this.name} did not accept connections within ${timeoutMs} ms:\n${managed.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Graceful stop. */
  async stop(): Promise<void> {
    await this.managed?.stop('SIGTERM');
  }

  /** kill -9 of the server and everything it started. */
  async kill(): Promise<void> {
    this.managed?.signal('SIGKILL');
    await this.managed?.waitExit();
  }

  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  /** Stops the server and removes a temporary data folder. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.temporary) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of the server's output. */
  tail(lines?: number): string {
    return this.managed?.tail(lines) ?? '';
  }
}
