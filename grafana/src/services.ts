/** One plantmesh service, picked with `$service`: throughput, errors, durations, CPU, memory and logs. */
import { QueryVariableBuilder, VariableHide, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboard, datasourceRef, logsPanel, namespaceVariable, prom } from './shared.js';

const serviceVariable = () =>
  new QueryVariableBuilder('service')
    .label('service')
    .datasource(datasourceRef('prometheus'))
    .query('label_values(process_cpu_user_seconds_total, service)')
    .refresh(VariableRefresh.OnDashboardLoad)
    .includeAll(false)
    .hide(VariableHide.DontHide);

export const services = () =>
  dashboard(
    { uid: 'plantmesh-services', title: 'plantmesh / Service', variables: [namespaceVariable(), serviceVariable()] },
    [
      prom(
        'Throughput',
        [
          {
            expr: 'sum by (stream) (rate(plantmesh_reader_forwarded_total{service="$service"}[1m]))',
            legend: 'forwarded {{stream}}',
          },
          {
            expr: 'sum by (stream) (rate(plantmesh_writer_messages_total{service="$service"}[1m]))',
            legend: 'written {{stream}}',
          },
        ],
        'ops',
        8,
      ),
      prom(
        'Errors',
        [
          {
            expr: 'sum(rate(plantmesh_reader_dead_lettered_total{service="$service"}[5m]))',
            legend: 'dead-lettered',
          },
          { expr: 'sum(rate(plantmesh_writer_quarantined_total{service="$service"}[5m]))', legend: 'quarantined' },
          {
            expr: 'sum(increase(plantmesh_connection_losses_total{service="$service"}[5m]))',
            legend: 'connections lost',
          },
        ],
        'short',
        8,
      ),
      prom(
        'Duration',
        [
          {
            expr: 'histogram_quantile(0.99, sum by (le) (rate(plantmesh_writer_lag_seconds_bucket{service="$service"}[5m])))',
            legend: 'p99 lag to commit',
          },
          { expr: 'max(nodejs_eventloop_lag_p99_seconds{service="$service"})', legend: 'event loop lag p99' },
        ],
        's',
        8,
      ),
      prom('CPU', [{ expr: 'sum(rate(process_cpu_seconds_total{service="$service"}[1m]))', legend: 'cores' }]),
      prom('Memory', [{ expr: 'sum(process_resident_memory_bytes{service="$service"})', legend: 'resident' }], 'bytes'),
      logsPanel('Logs', '{namespace=~"$namespace"} | json | service="$service"'),
    ],
  );
