import { backoffDelay, type Logger, sleep } from '@plantmesh/core';
import type { KpiMetrics } from './metrics.js';
import { type BusinessStores, KpiCache, markWindows, recomputeWindows } from './windows.js';

export interface KpiWorkerOptions {
  /** Curated change batches read per marking transaction. */
  changesPerBatch: number;
  /** Window marks claimed per recompute transaction. */
  windowsPerBatch: number;
  pollMs: number;
  log: Logger;
  metrics: KpiMetrics;
}

/**
 * Runs every KPI of the registry, each in a loop of its own: mark the windows new curated changes
 * touched, recompute the marked windows, and wait a poll interval when there is neither.
 */
export class KpiWorker {
  private readonly kpis: KpiCache;
  private readonly loops = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private discovery: Promise<void> | undefined;

  constructor(
    private readonly stores: BusinessStores,
    private readonly options: KpiWorkerOptions,
  ) {
    this.kpis = new KpiCache(stores.curated.pool);
  }

  start(): void {
    this.discovery = this.discover();
  }

  /** Lets the rounds in progress commit, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('stopping'));
    await this.discovery;
    await Promise.all(this.loops.values());
  }

  private async discover(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const { rows } = await this.stores.business.pool.query<{ kpi: string }>(
          'select kpi from business.kpi_definitions order by kpi',
        );
        for (const { kpi } of rows) if (!this.loops.has(kpi)) this.loops.set(kpi, this.run(kpi));
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1) this.options.log.warn({ err: error }, 'cannot read the KPI registry; retrying');
      }
      await this.pause(failures > 0 ? backoffDelay(failures) : this.options.pollMs * 4);
    }
  }

  private async run(name: string): Promise<void> {
    const { log, metrics, changesPerBatch, windowsPerBatch, pollMs } = this.options;
    const labels = { kpi: name };
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const marked = await markWindows(this.stores, this.kpis, name, changesPerBatch);
        metrics.changes.inc(labels, marked.changes);
        metrics.marked.inc(labels, marked.windows);
        const timer = metrics.recomputeSeconds.startTimer(labels);
        const recomputed = await recomputeWindows(this.stores, this.kpis, name, windowsPerBatch);
        if (recomputed.windows > 0) timer();
        const committed = Date.now();
        for (const changed of recomputed.changedAt) {
          metrics.freshness.observe(labels, Math.max(0, (committed - changed.getTime()) / 1000));
        }
        metrics.recomputed.inc(labels, recomputed.windows);
        metrics.rows.inc(labels, recomputed.rows);
        if (marked.windows > 0 || recomputed.windows > 0) metrics.pending.set(labels, await this.pending(name));
        if (recomputed.windows > 0) log.debug({ kpi: name, ...marked, ...recomputed }, 'windows recomputed');
        failures = 0;
        if (!marked.more && !recomputed.more) await this.pause(pollMs);
      } catch (error) {
        failures += 1;
        metrics.retries.inc(labels);
        log.warn({ err: error, kpi: name, attempt: failures }, 'KPI round failed; retrying');
        await this.pause(backoffDelay(failures));
      }
    }
  }

  /** Windows of a KPI marked and not recomputed yet (distinct windows, not marks). */
  private async pending(name: string): Promise<number> {
    const { rows } = await this.stores.business.pool.query<{ n: number }>(
      `select count(distinct coalesce(entity, window_start::text))::int as n from business.dirty_windows where kpi = $1`,
      [name],
    );
    return rows[0]?.n ?? 0;
  }

  /** Waits, or returns at once when the worker stops. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, this.stopping.signal).catch(() => {});
  }
}
