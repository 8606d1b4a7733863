import { backoffDelay, type Logger, sleep } from '@plantmesh/core';
import { type CuratedStores, curateBatch, eventsBehind, ProductCache, type ReadAhead } from './batch.js';
import type { EtlMetrics } from './metrics.js';

export interface WorkerOptions {
  /** Raw events per batch (and per transaction). */
  batchSize: number;
  /** How long a definition that is caught up (or held by another replica) waits before it looks again. */
  pollMs: number;
  log: Logger;
  metrics: EtlMetrics;
}

const lagCountMs = 10_000;

/**
 * Runs every definition of the registry, each in a loop of its own: batch after batch while events
 * wait (the next batch is read only once the last one committed: back-pressure), a poll interval when
 * caught up. Definitions applied later, by this replica or another, are picked up from the registry.
 */
export class CuratedWorker {
  private readonly products = new ProductCache();
  private readonly loops = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private discovery: Promise<void> | undefined;

  constructor(
    private readonly stores: CuratedStores,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.discovery = this.discover();
  }

  /** Lets every batch in progress commit, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('stopping'));
    await this.discovery;
    await Promise.all(this.loops.values());
  }

  private async discover(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const { rows } = await this.stores.curated.pool.query<{ product: string }>(
          'select product from curated.definitions order by product',
        );
        for (const { product } of rows) {
          if (!this.loops.has(product)) this.loops.set(product, this.run(product));
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1) this.options.log.warn({ err: error }, 'cannot read the definition registry; retrying');
      }
      await this.pause(failures > 0 ? backoffDelay(failures) : this.options.pollMs * 4);
    }
  }

  private async run(name: string): Promise<void> {
    const { log, metrics, batchSize, pollMs } = this.options;
    const labels = { definition: name };
    let failures = 0;
    let counted = 0;
    let ahead: ReadAhead | undefined;
    while (!this.stopping.signal.aborted) {
      const timer = metrics.batchSeconds.startTimer(labels);
      try {
        const result = await curateBatch(this.stores, this.products, name, batchSize, ahead);
        ahead = result.next;
        failures = 0;
        if (result.busy) {
          await this.pause(pollMs);
          continue;
        }
        timer();
        if (result.events > 0) log.debug({ definition: name, ...result }, 'batch committed');
        if (result.events > 0) {
          metrics.events.inc({ ...labels, outcome: 'curated' }, result.events - result.quarantined);
          if (result.quarantined > 0) metrics.events.inc({ ...labels, outcome: 'quarantined' }, result.quarantined);
          metrics.rows.inc(labels, result.rows);
          if (result.quarantined > 0) {
            log.warn(
              { definition: name, quarantined: result.quarantined },
              'events quarantined; see plantmesh quarantine list',
            );
          }
        }
        metrics.lagSeconds.set(labels, result.lagSeconds);
        if (!result.more) metrics.lagEvents.set(labels, 0);
        else if (Date.now() - counted > lagCountMs) {
          counted = Date.now();
          metrics.lagEvents.set(labels, await eventsBehind(this.stores, this.products, name));
        }
        if (!result.more) await this.pause(pollMs);
      } catch (error) {
        ahead = undefined;
        failures += 1;
        metrics.retries.inc(labels);
        log.warn({ err: error, definition: name, attempt: failures }, 'batch failed; retrying');
        await this.pause(backoffDelay(failures));
      }
    }
  }

  /** Waits, or returns at once when the worker stops. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, this.stopping.signal).catch(() => {});
  }
}
