import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The curated ETL's metrics, labelled by definition (the data product's name). */
export function createEtlMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ['definition'] as const;
  return {
    events: new Counter({
      name: 'plantmesh_etl_events_total',
      help: 'Raw events taken, by outcome: curated (mapped to a row) or quarantined',
      labelNames: ['definition', 'outcome'] as const,
      registers,
    }),
    rows: new Counter({
      name: 'plantmesh_etl_rows_written_total',
      help: 'Rows inserted or changed in the curated tables (a replay that changes nothing writes none)',
      labelNames,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'plantmesh_etl_batch_seconds',
      help: 'Time of one batch: read, map, quarantine, upsert and commit',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'plantmesh_etl_watermark_lag_seconds',
      help: 'Age of the last raw event taken while more are waiting; 0 when caught up',
      labelNames,
      registers,
    }),
    lagEvents: new Gauge({
      name: 'plantmesh_etl_watermark_lag_events',
      help: 'Raw events of the definition not taken yet (counted up to 1,000,000)',
      labelNames,
      registers,
    }),
    retries: new Counter({
      name: 'plantmesh_etl_retries_total',
      help: 'Batches retried after an error (the database down, a conflict)',
      labelNames,
      registers,
    }),
    definitionErrors: new Counter({
      name: 'plantmesh_etl_definition_errors_total',
      help: 'Definition files refused (invalid, or an incompatible change); the applied version goes on',
      labelNames: ['file'] as const,
      registers,
    }),
  };
}

export type EtlMetrics = ReturnType<typeof createEtlMetrics>;
