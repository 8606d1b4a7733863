/**
 * What keeps the catalog current: discovery every interval (one replica at a time, by an advisory lock in
 * the store), and the per-product gauges Prometheus scrapes — the age of the newest data of each product's
 * outputs, their rows and the product's freshness objective — from which the chart's alert rule fires when a
 * product is older than its objective.
 */
import type { Logger } from '@plantmesh/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type DiscoveryOptions, discover } from './discovery.js';
import type { CatalogStore, ReconcileResult } from './store.js';

type ProductState = Awaited<ReturnType<CatalogStore['productStates']>>[number];

export class CatalogMetrics {
  private states: ProductState[] = [];
  readonly runs: Counter<'outcome'>;
  readonly seconds: Histogram;
  readonly changes: Counter<'change'>;
  private lastSuccess = 0;

  constructor(registry: Registry) {
    const states = () => this.states;
    new Gauge({
      name: 'plantmesh_catalog_product_data_age_seconds',
      help: "Age of the newest data of a product's outputs (read from the data itself); absent while it has none",
      labelNames: ['product'],
      registers: [registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const state of states()) {
          if (state.newestDataAt)
            this.set({ product: state.name }, Math.max(0, (now - state.newestDataAt.getTime()) / 1000));
        }
      },
    });
    new Gauge({
      name: 'plantmesh_catalog_product_freshness_objective_seconds',
      help: 'How old the newest data of a product may be (its contract or definition, else the default)',
      labelNames: ['product'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of states()) this.set({ product: state.name }, state.objectiveSeconds);
      },
    });
    new Gauge({
      name: 'plantmesh_catalog_product_rows',
      help: "Rows of a product's output tables (exact when small, PostgreSQL's estimate when large)",
      labelNames: ['product'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of states()) if (state.rows !== null) this.set({ product: state.name }, state.rows);
      },
    });
    const last = () => this.lastSuccess;
    new Gauge({
      name: 'plantmesh_catalog_last_discovery_timestamp_seconds',
      help: 'When the last discovery round of this replica succeeded (Unix time)',
      registers: [registry],
      collect() {
        if (last()) this.set(last() / 1000);
      },
    });
    this.runs = new Counter({
      name: 'plantmesh_catalog_discovery_runs_total',
      help: 'Discovery rounds by outcome (ok, skipped: another replica held the lock, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.changes = new Counter({
      name: 'plantmesh_catalog_discovered_changes_total',
      help: 'Assets added, changed and removed by discovery',
      labelNames: ['change'],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: 'plantmesh_catalog_discovery_seconds',
      help: 'How long a discovery round took',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
  }

  update(states: ProductState[]): void {
    this.states = states;
  }

  succeeded(result: ReconcileResult | undefined): void {
    this.lastSuccess = Date.now();
    if (!result) return;
    this.changes.inc({ change: 'added' }, result.added);
    this.changes.inc({ change: 'changed' }, result.changed);
    this.changes.inc({ change: 'removed' }, result.removed);
  }
}

export interface DiscoveryLoopOptions {
  store: CatalogStore;
  discovery: DiscoveryOptions;
  intervalMs: number;
  log: Logger;
  metrics?: CatalogMetrics;
}

export class DiscoveryLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: DiscoveryLoopOptions) {}

  /** One round: discover, reconcile, refresh the gauges. */
  async round(): Promise<ReconcileResult | undefined> {
    const { store, log, metrics } = this.options;
    const started = new Date();
    const end = metrics?.seconds.startTimer();
    try {
      const snapshot = await discover(this.options.discovery);
      const result = await store.reconcile(snapshot, started);
      metrics?.runs.inc({ outcome: result ? 'ok' : 'skipped' });
      metrics?.succeeded(result);
      if (result && (result.added || result.changed || result.removed)) {
        log.info(result, 'catalog discovery: changes');
      } else {
        log.debug(result ?? { skipped: true }, 'catalog discovery: no changes');
      }
      await this.refreshGauges();
      return result;
    } catch (error) {
      metrics?.runs.inc({ outcome: 'failed' });
      log.warn({ err: error }, 'catalog discovery failed; the catalog keeps what it had');
      throw error;
    } finally {
      end?.();
    }
  }

  async refreshGauges(): Promise<void> {
    if (this.options.metrics) this.options.metrics.update(await this.options.store.productStates());
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round()
        .then(() => undefined)
        .catch(() => undefined)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
