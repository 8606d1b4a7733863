import type { Logger } from '@plantmesh/core';
import { RegistryLoops } from '@plantmesh/etl-curated';
import type { KpiMetrics } from './metrics.js';
import { type BusinessStores, KpiCache, markSampleWindows, markWindows, recomputeWindows } from './windows.js';

export interface KpiWorkerOptions {
  /** Curated change batches read per marking transaction. */
  changesPerBatch: number;
  /** Window marks claimed per recompute transaction. */
  windowsPerBatch: number;
  pollMs: number;
  log: Logger;
  metrics: KpiMetrics;
}

const pendingCountMs = 10_000;

/**
 * Runs every KPI of the registry, each in a loop of its own (RegistryLoops): mark the windows new
 * curated changes and writes of samples touched, recompute the marked windows, and wait a poll interval when there is neither.
 */
export class KpiWorker {
  private readonly kpis: KpiCache;
  private readonly loops: RegistryLoops;
  /** When each KPI's pending windows were last counted. */
  private readonly counted = new Map<string, number>();

  constructor(
    private readonly stores: BusinessStores,
    private readonly options: KpiWorkerOptions,
  ) {
    this.kpis = new KpiCache(stores.curated.pool);
    this.loops = new RegistryLoops({
      names: async () =>
        (
          await stores.business.pool.query<{ kpi: string }>('select kpi from business.kpi_definitions order by kpi')
        ).rows.map((row) => row.kpi),
      round: (name) => this.round(name),
      pollMs: options.pollMs,
      log: options.log,
      what: 'KPI',
      failed: (name) => options.metrics.retries.inc({ kpi: name }),
    });
  }

  start(): void {
    this.loops.start();
  }

  /** Lets the rounds in progress commit, then returns. */
  stop(): Promise<void> {
    return this.loops.stop();
  }

  private async round(name: string): Promise<{ more: boolean }> {
    const { log, metrics, changesPerBatch, windowsPerBatch } = this.options;
    const labels = { kpi: name };
    const marked = await markWindows(this.stores, this.kpis, name, changesPerBatch);
    const sampled = await markSampleWindows(this.stores, this.kpis, name, changesPerBatch);
    metrics.changes.inc(labels, marked.changes);
    metrics.sampleChanges.inc(labels, sampled.changes);
    metrics.marked.inc(labels, marked.windows + sampled.windows);
    const timer = metrics.recomputeSeconds.startTimer(labels);
    const recomputed = await recomputeWindows(this.stores, this.kpis, name, windowsPerBatch);
    if (recomputed.windows > 0) timer();
    const committed = Date.now();
    for (const changed of recomputed.changedAt) {
      metrics.freshness.observe(labels, Math.max(0, (committed - changed.getTime()) / 1000));
    }
    metrics.recomputed.inc(labels, recomputed.windows);
    metrics.rows.inc(labels, recomputed.rows);
    // A count from the database, the same on every replica: refreshed after work, and now and then when
    // idle, so that a replica that stopped working does not keep showing an old backlog.
    if (
      marked.windows + sampled.windows > 0 ||
      recomputed.windows > 0 ||
      Date.now() - (this.counted.get(name) ?? 0) > pendingCountMs
    ) {
      this.counted.set(name, Date.now());
      metrics.pending.set(labels, await this.pending(name));
    }
    if (recomputed.windows > 0) log.debug({ kpi: name, ...marked, ...recomputed }, 'windows recomputed');
    return { more: marked.more || sampled.more || recomputed.more };
  }

  /** Windows of a KPI marked and not recomputed yet (distinct windows, not marks). */
  private async pending(name: string): Promise<number> {
    const { rows } = await this.stores.business.pool.query<{ n: number }>(
      `select count(distinct coalesce(entity, window_start::text))::int as n from business.dirty_windows where kpi = $1`,
      [name],
    );
    return rows[0]?.n ?? 0;
  }
}
