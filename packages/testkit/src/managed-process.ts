import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

export interface ProcessSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output goes to this file, so that a failed start can show its last lines. */
  logFile: string;
  uid?: number;
  gid?: number;
  /** Called with each output line as well, e.g. to stream a service's log with a prefix. */
  onLine?: (line: string) => void;
}

const running = new Set<ManagedProcess>();

// A test or `plantmesh up` that dies must not leave servers behind on the machine.
process.once('exit', () => {
  for (const managed of running) managed.signal('SIGKILL');
});

/**
 * A child process in a process group of its own, so that a signal reaches the whole tree (a server's
 * wrapper script and the server it starts), as `kill` does to a real deployment's pod.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(private readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const { spec } = this;
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    const child = spawn(spec.command, spec.args, {
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      uid: spec.uid,
      gid: spec.gid,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(this);
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (!spec.onLine) return;
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) spec.onLine(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        log.write(`spawn failed: ${error.message}\n`);
        resolve(null);
      });
      child.once('close', (code) => {
        running.delete(this);
        // Resolved once the log file has the last lines, so that a caller can read them at once.
        log.end(() => resolve(code));
      });
    });
  }

  /** Sends a signal to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.alive) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Resolves with the exit code once the process has exited (null when killed by a signal). */
  async waitExit(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.spec.command} did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal`, waits, and kills the group if it is still there after the grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.signal(signal);
    try {
      return await this.waitExit(graceMs);
    } catch {
      this.signal('SIGKILL');
      return this.waitExit(5_000);
    }
  }

  /** The last lines of the output, for error messages. */
  tail(lines = 20): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
