import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The business ETL's metrics, labelled by KPI. */
export function createKpiMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ['kpi'] as const;
  return {
    changes: new Counter({
      name: 'plantmesh_kpi_changes_total',
      help: 'Curated change batches read from the change log',
      labelNames,
      registers,
    }),
    sampleChanges: new Counter({
      name: 'plantmesh_kpi_sample_changes_total',
      help: 'Writes of samples read from the sample change log, by KPIs that read series',
      labelNames,
      registers,
    }),
    marked: new Counter({
      name: 'plantmesh_kpi_windows_marked_total',
      help: 'Windows marked for recompute by changed input rows',
      labelNames,
      registers,
    }),
    recomputed: new Counter({
      name: 'plantmesh_kpi_windows_recomputed_total',
      help: 'Windows recomputed',
      labelNames,
      registers,
    }),
    rows: new Counter({
      name: 'plantmesh_kpi_rows_written_total',
      help: 'KPI rows written by recomputes',
      labelNames,
      registers,
    }),
    pending: new Gauge({
      name: 'plantmesh_kpi_windows_pending',
      help: 'Windows marked and not recomputed yet',
      labelNames,
      registers,
    }),
    recomputeSeconds: new Histogram({
      name: 'plantmesh_kpi_recompute_seconds',
      help: 'Time of one recompute round: claim, compute each window, replace its rows, commit',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    freshness: new Histogram({
      name: 'plantmesh_kpi_freshness_seconds',
      help: 'From the commit of the oldest curated change behind a window to the commit of its recompute',
      labelNames,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600],
      registers,
    }),
    retries: new Counter({
      name: 'plantmesh_kpi_retries_total',
      help: 'Rounds retried after an error (a database down, a failing query)',
      labelNames,
      registers,
    }),
    definitionErrors: new Counter({
      name: 'plantmesh_kpi_definition_errors_total',
      help: 'KPI definition files refused (invalid, or an incompatible change); the applied version goes on',
      labelNames: ['file'] as const,
      registers,
    }),
  };
}

export type KpiMetrics = ReturnType<typeof createKpiMetrics>;
