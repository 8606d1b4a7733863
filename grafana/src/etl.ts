/**
 * The ETLs: the curated ETL per definition (raw events in, rows out, quarantined, watermark lag, batch
 * time, refused files; packages/etl-curated/src/metrics.ts) and the business ETL per KPI (windows marked,
 * recomputed and pending, recompute time, freshness, refused files; packages/etl-business/src/metrics.ts).
 */
import { dashboard, logsPanel, namespaceVariable, type PromTarget, prom, row } from './shared.js';

const curated = 'service="etl-curated"';
const business = 'service="etl-business"';

/** The median and the 99th percentile of a histogram of the service, per `by`. */
const quantiles = (histogram: string, service: string, by: string): PromTarget[] =>
  [
    ['0.5', 'p50'],
    ['0.99', 'p99'],
  ].map(([q, name]) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (rate(${histogram}_bucket{${service}}[5m])))`,
    legend: `${name} {{${by}}}`,
  }));

export const etl = () =>
  dashboard({ uid: 'plantmesh-etl', title: 'plantmesh / ETL', variables: [namespaceVariable()] }, [
    row('Curated ETL (raw -> curated), per definition'),
    prom(
      'Raw events in, rows out, events quarantined',
      [
        { expr: `sum by (definition) (rate(plantmesh_etl_events_total{${curated}}[5m]))`, legend: 'in {{definition}}' },
        {
          expr: `sum by (definition) (rate(plantmesh_etl_rows_written_total{${curated}}[5m]))`,
          legend: 'out {{definition}}',
        },
        {
          expr: `sum by (definition) (rate(plantmesh_etl_events_total{${curated},outcome="quarantined"}[5m]))`,
          legend: 'quarantined {{definition}}',
        },
      ],
      'ops',
    ),
    prom(
      'Watermark lag (age of the last event taken while more wait)',
      [{ expr: `max by (definition) (plantmesh_etl_watermark_lag_seconds{${curated}})`, legend: '{{definition}}' }],
      's',
    ),
    prom(
      'Raw events behind the watermark',
      [{ expr: `max by (definition) (plantmesh_etl_watermark_lag_events{${curated}})`, legend: '{{definition}}' }],
      'short',
      8,
    ),
    prom('Batch time', quantiles('plantmesh_etl_batch_seconds', curated, 'definition'), 's', 8),
    prom(
      'Definition files refused (since the pod started), batches retried',
      [
        { expr: `max by (file) (plantmesh_etl_definition_errors_total{${curated}})`, legend: 'refused {{file}}' },
        {
          expr: `sum by (definition) (increase(plantmesh_etl_retries_total{${curated}}[5m]))`,
          legend: 'retried {{definition}}',
        },
      ],
      'short',
      8,
    ),
    row('Business ETL (curated -> KPIs), per KPI'),
    prom(
      'KPI windows marked and recomputed',
      [
        { expr: `sum by (kpi) (rate(plantmesh_kpi_windows_marked_total{${business}}[5m]))`, legend: 'marked {{kpi}}' },
        {
          expr: `sum by (kpi) (rate(plantmesh_kpi_windows_recomputed_total{${business}}[5m]))`,
          legend: 'recomputed {{kpi}}',
        },
      ],
      'ops',
    ),
    prom('KPI windows pending', [
      { expr: `max by (kpi) (plantmesh_kpi_windows_pending{${business}})`, legend: '{{kpi}}' },
    ]),
    prom('Recompute time (a round)', quantiles('plantmesh_kpi_recompute_seconds', business, 'kpi'), 's', 8),
    prom(
      'Freshness: curated change committed to its windows recomputed',
      quantiles('plantmesh_kpi_freshness_seconds', business, 'kpi'),
      's',
      8,
    ),
    prom(
      'KPI definition files refused (since the pod started), rounds retried',
      [
        { expr: `max by (file) (plantmesh_kpi_definition_errors_total{${business}})`, legend: 'refused {{file}}' },
        { expr: `sum by (kpi) (increase(plantmesh_kpi_retries_total{${business}}[5m]))`, legend: 'retried {{kpi}}' },
      ],
      'short',
      8,
    ),
    row('Sample rollups (metrics.samples_1m, samples_1h), kept by the business ETL without TimescaleDB'),
    prom(
      'Rollup buckets materialized, sample writes read',
      [
        {
          expr: `sum by (rollup) (rate(plantmesh_rollup_buckets_total{${business}}[5m]))`,
          legend: 'buckets {{rollup}}',
        },
        { expr: `sum(rate(plantmesh_rollup_sample_changes_total{${business}}[5m]))`, legend: 'sample writes' },
        { expr: `sum(rate(plantmesh_sample_changes_pruned_total{${business}}[5m]))`, legend: 'log rows pruned' },
      ],
      'ops',
    ),
    prom(
      'Rollup lag: newest materialized minute',
      [{ expr: `max(plantmesh_rollup_lag_seconds{${business}})`, legend: 'lag' }],
      's',
    ),
    logsPanel('ETL logs', '{namespace=~"$namespace"} | json | service=~"etl-curated|etl-business"'),
  ]);
