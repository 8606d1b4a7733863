import type { Logger } from '@plantmesh/core';
import { commitFrontier, RegistryLoops } from '@plantmesh/etl-curated';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BusinessStores } from './windows.js';

export interface RollupOptions {
  /** How often the rollups are brought up to date when nothing is waiting. */
  pollMs: number;
  /** How often the sample change log is pruned behind its readers. */
  pruneMs: number;
  log: Logger;
  registry: Registry;
}

interface Refreshed {
  busy: boolean;
  changes: number;
  minutes: number;
  hours: number;
  more: boolean;
}

/**
 * Keeps the sample rollups (metrics.samples_1m, samples_1h) up to date where TimescaleDB does not:
 * calls metrics.refresh_rollups() in rounds, one replica at a time (the function takes a lock and the
 * others return busy), and prunes the sample change log behind the rollups and every KPI that reads series
 * (docs/adr/0011-sample-rollups.md). With TimescaleDB the same calls only move the change log along.
 */
export class RollupMaintainer {
  private readonly loops: RegistryLoops;
  private readonly metrics;
  private prunedAt = 0;

  constructor(
    private readonly stores: BusinessStores,
    private readonly options: RollupOptions,
  ) {
    const registers = [options.registry];
    this.metrics = {
      buckets: new Counter({
        name: 'plantmesh_rollup_buckets_total',
        help: 'Rollup rows materialized, by rollup (1m, 1h): closed buckets and buckets that late samples touched',
        labelNames: ['rollup'] as const,
        registers,
      }),
      changes: new Counter({
        name: 'plantmesh_rollup_sample_changes_total',
        help: 'Writes of samples read from the sample change log by the rollups',
        registers,
      }),
      lag: new Gauge({
        name: 'plantmesh_rollup_lag_seconds',
        help: 'Age of the newest materialized bucket end (without TimescaleDB; newer buckets are aggregated on read)',
        registers,
      }),
      pruned: new Counter({
        name: 'plantmesh_sample_changes_pruned_total',
        help: 'Rows of the sample change log removed once every reader had passed them',
        registers,
      }),
    };
    this.loops = new RegistryLoops({
      names: async () => ['rollups'],
      round: () => this.round(),
      pollMs: options.pollMs,
      log: options.log,
      what: 'rollup',
      failed: () => {},
    });
  }

  start(): void {
    this.loops.start();
  }

  stop(): Promise<void> {
    return this.loops.stop();
  }

  private async round(): Promise<{ more: boolean }> {
    const { rows } = await this.stores.metrics.pool.query<Refreshed>('select * from metrics.refresh_rollups()');
    const refreshed = rows[0] as Refreshed;
    this.metrics.changes.inc(refreshed.changes);
    this.metrics.buckets.inc({ rollup: '1m' }, refreshed.minutes);
    this.metrics.buckets.inc({ rollup: '1h' }, refreshed.hours);
    const { rows: state } = await this.stores.metrics.pool.query<{ lag: number | null }>(
      'select extract(epoch from now() - materialized_until)::float8 as lag from metrics.rollup_state',
    );
    if (state[0]?.lag != null) this.metrics.lag.set(state[0].lag);
    if (refreshed.minutes + refreshed.hours > 0) this.options.log.debug(refreshed, 'rollups refreshed');
    if (Date.now() - this.prunedAt > this.options.pruneMs) await this.prune();
    return { more: refreshed.more };
  }

  /** Removes the change log rows that the rollups and every KPI reading series have passed. */
  private async prune(): Promise<void> {
    const { rows } = await this.stores.business.pool.query<{ keep: string | null }>(
      `select min(w.samples_txid)::text as keep from business.watermarks w
       join business.kpi_definitions d using (kpi) where cardinality(d.series) > 0`,
    );
    const keep = rows[0]?.keep ?? (await commitFrontier(this.stores.metrics.pool));
    const { rows: pruned } = await this.stores.metrics.pool.query<{ n: number }>(
      'select metrics.prune_sample_changes($1::xid8) as n',
      [keep],
    );
    this.metrics.pruned.inc(pruned[0]?.n ?? 0);
    this.prunedAt = Date.now();
  }
}
