/** The platform at a glance: the ingestion pipeline's throughput, lag, refusals and connections. */
import { dashboard, logsPanel, namespaceVariable, prom } from './shared.js';

export const overview = () =>
  dashboard({ uid: 'plantmesh-overview', title: 'plantmesh / Platform overview', variables: [namespaceVariable()] }, [
    prom(
      'Messages received by the MQTT readers',
      [{ expr: 'sum by (stream) (rate(plantmesh_reader_received_total[1m]))', legend: '{{stream}}' }],
      'ops',
    ),
    prom(
      'Rows committed by the writer',
      [{ expr: 'sum by (stream) (rate(plantmesh_writer_rows_total[1m]))', legend: '{{stream}}' }],
      'rowsps',
    ),
    prom(
      'End-to-end lag, receipt to commit',
      [
        {
          expr: 'histogram_quantile(0.5, sum by (le, stream) (rate(plantmesh_writer_lag_seconds_bucket[1m])))',
          legend: 'p50 {{stream}}',
        },
        {
          expr: 'histogram_quantile(0.99, sum by (le, stream) (rate(plantmesh_writer_lag_seconds_bucket[1m])))',
          legend: 'p99 {{stream}}',
        },
      ],
      's',
    ),
    prom('Messages waiting for RabbitMQ in the readers', [
      { expr: 'sum by (stream) (plantmesh_reader_in_flight)', legend: '{{stream}}' },
    ]),
    prom(
      'Dead letters and quarantined rows',
      [
        {
          expr: 'sum by (stream, reason) (rate(plantmesh_reader_dead_lettered_total[5m]))',
          legend: 'reader {{stream}} {{reason}}',
        },
        { expr: 'sum by (stream) (rate(plantmesh_writer_quarantined_total[5m]))', legend: 'writer {{stream}}' },
      ],
      'ops',
    ),
    prom(
      'Retries (RabbitMQ refusals, database errors)',
      [
        { expr: 'sum by (stream) (rate(plantmesh_reader_publish_retries_total[5m]))', legend: 'reader {{stream}}' },
        { expr: 'sum by (stream) (rate(plantmesh_writer_retries_total[5m]))', legend: 'writer {{stream}}' },
      ],
      'ops',
    ),
    prom('Connections up', [
      { expr: 'min by (service, target) (plantmesh_connection_up)', legend: '{{service}} -> {{target}}' },
    ]),
    prom('RabbitMQ messages queued', [
      { expr: 'sum(rabbitmq_queue_messages_ready)', legend: 'ready' },
      { expr: 'sum(rabbitmq_queue_messages_unacked)', legend: 'unacknowledged' },
    ]),
    logsPanel(
      'Errors and warnings of every plantmesh service',
      '{namespace=~"$namespace"} | json | level=~"error|fatal|warn"',
    ),
  ]);
