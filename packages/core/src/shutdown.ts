import type { Logger } from 'pino';

export type ShutdownStep = { name: string; run: () => Promise<void> | void };

/**
 * Graceful shutdown: on SIGTERM or SIGINT, runs the registered steps in reverse order of registration
 * (so intake registered last stops first, then in-flight work drains, then connections close), and
 * exits 0. A step that fails or a drain that outlives the timeout exits 1, so that Kubernetes sees it.
 */
export class Shutdown {
  private readonly steps: ShutdownStep[] = [];
  private started: Promise<void> | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Aborted as soon as shutdown begins: loops and waits pass it on to stop promptly. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  add(name: string, run: ShutdownStep['run']): void {
    this.steps.push({ name, run });
  }

  listen(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    for (const signal of signals) {
      process.once(signal, () => {
        this.log.info({ signal }, 'shutdown requested');
        void this.run().then((code) => process.exit(code));
      });
    }
  }

  /** Runs the steps once; a second call waits for the first. Resolves with the exit code. */
  async run(): Promise<number> {
    this.started ??= this.runSteps();
    try {
      await this.started;
      this.log.info('shutdown complete');
      return 0;
    } catch (error) {
      this.log.error({ err: error }, 'shutdown failed');
      return 1;
    }
  }

  private async runSteps(): Promise<void> {
    this.controller.abort(new Error('shutting down'));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`shutdown took longer than ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    const steps = async () => {
      for (const step of [...this.steps].reverse()) {
        this.log.debug({ step: step.name }, 'shutdown step');
        await step.run();
      }
    };
    try {
      await Promise.race([steps(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
