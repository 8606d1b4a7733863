import { backoffDelay, type Logger, sleep } from '@plantmesh/core';

export interface LoopsOptions {
  /** The names registered now (definitions, KPIs); read again every few poll intervals. */
  names: () => Promise<string[]>;
  /** One round of work for a name; `more` when work is waiting, so that the next round starts at once. */
  round: (name: string) => Promise<{ more: boolean }>;
  pollMs: number;
  log: Logger;
  /** What the names are, for the log ("definition", "KPI"). */
  what: string;
  /** Counts a failed round of a name. */
  failed: (name: string) => void;
}

/**
 * A loop per registered name: rounds back to back while work waits (each round commits before the next
 * starts: back-pressure), a poll interval when there is none, a backoff after a failure. Names registered
 * later, by this replica or another, get their loop when the registry is read again.
 */
export class RegistryLoops {
  private readonly loops = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private discovery: Promise<void> | undefined;

  constructor(private readonly options: LoopsOptions) {}

  start(): void {
    this.discovery = this.discover();
  }

  /** Lets every round in progress commit, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('stopping'));
    await this.discovery;
    await Promise.all(this.loops.values());
  }

  private async discover(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        for (const name of await this.options.names()) {
          if (!this.loops.has(name)) this.loops.set(name, this.run(name));
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1)
          this.options.log.warn({ err: error }, `cannot read the ${this.options.what} registry; retrying`);
      }
      await this.pause(failures > 0 ? backoffDelay(failures) : this.options.pollMs * 4);
    }
  }

  private async run(name: string): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const { more } = await this.options.round(name);
        failures = 0;
        if (!more) await this.pause(this.options.pollMs);
      } catch (error) {
        failures += 1;
        this.options.failed(name);
        this.options.log.warn({ err: error, [this.options.what]: name, attempt: failures }, 'round failed; retrying');
        await this.pause(backoffDelay(failures));
      }
    }
  }

  /** Waits, or returns at once when the loops stop. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, this.stopping.signal).catch(() => {});
  }
}
