import type { Logger } from '@plantmesh/core';
import { type CuratedStores, curateBatch, eventsBehind, ProductCache, type ReadAhead } from './batch.js';
import { RegistryLoops } from './loops.js';
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
 * Runs every definition of the registry, each in a loop of its own (RegistryLoops): batch after batch
 * while events wait, a poll interval when caught up or when another replica holds it.
 */
export class CuratedWorker {
  private readonly products = new ProductCache();
  private readonly loops: RegistryLoops;
  /** Per definition: the batch read ahead, and when its backlog was last counted. */
  private readonly ahead = new Map<string, ReadAhead | undefined>();
  private readonly counted = new Map<string, number>();

  constructor(
    private readonly stores: CuratedStores,
    private readonly options: WorkerOptions,
  ) {
    this.loops = new RegistryLoops({
      names: async () =>
        (
          await stores.curated.pool.query<{ product: string }>(
            'select product from curated.definitions order by product',
          )
        ).rows.map((row) => row.product),
      round: (name) => this.batch(name),
      pollMs: options.pollMs,
      log: options.log,
      what: 'definition',
      failed: (name) => {
        this.ahead.delete(name);
        options.metrics.retries.inc({ definition: name });
      },
    });
  }

  start(): void {
    this.loops.start();
  }

  /** Lets every batch in progress commit, then returns. */
  stop(): Promise<void> {
    return this.loops.stop();
  }

  private async batch(name: string): Promise<{ more: boolean }> {
    const { log, metrics, batchSize } = this.options;
    const labels = { definition: name };
    const timer = metrics.batchSeconds.startTimer(labels);
    const result = await curateBatch(this.stores, this.products, name, batchSize, this.ahead.get(name));
    this.ahead.set(name, result.next);
    if (result.busy) {
      // Another replica is curating this definition and reports its lag; this one has none to report.
      metrics.lagSeconds.set(labels, 0);
      metrics.lagEvents.set(labels, 0);
      return { more: false };
    }
    timer();
    if (result.events > 0) {
      log.debug({ definition: name, ...result, next: undefined }, 'batch committed');
      metrics.events.inc({ ...labels, outcome: 'curated' }, result.events - result.quarantined);
      if (result.quarantined > 0) {
        metrics.events.inc({ ...labels, outcome: 'quarantined' }, result.quarantined);
        log.warn(
          { definition: name, quarantined: result.quarantined },
          'events quarantined; see plantmesh quarantine list',
        );
      }
      metrics.rows.inc(labels, result.rows);
    }
    metrics.lagSeconds.set(labels, result.lagSeconds);
    if (!result.more) metrics.lagEvents.set(labels, 0);
    else if (Date.now() - (this.counted.get(name) ?? 0) > lagCountMs) {
      this.counted.set(name, Date.now());
      metrics.lagEvents.set(labels, await eventsBehind(this.stores, this.products, name));
    }
    return { more: result.more };
  }
}
