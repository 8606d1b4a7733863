/** RabbitMQ: messages published, confirmed and delivered, queued, alarms, memory and disk. */
import { dashboard, logsPanel, namespaceVariable, prom } from './shared.js';

export const rabbitmq = () =>
  dashboard({ uid: 'plantmesh-rabbitmq', title: 'plantmesh / RabbitMQ', variables: [namespaceVariable()] }, [
    prom(
      'Messages published and delivered',
      [
        { expr: 'sum(rate(rabbitmq_global_messages_received_total[1m]))', legend: 'published' },
        { expr: 'sum(rate(rabbitmq_global_messages_confirmed_total[1m]))', legend: 'confirmed' },
        { expr: 'sum(rate(rabbitmq_global_messages_delivered_total[1m]))', legend: 'delivered' },
      ],
      'ops',
    ),
    prom('Queued messages', [
      { expr: 'sum(rabbitmq_queue_messages_ready)', legend: 'ready' },
      { expr: 'sum(rabbitmq_queue_messages_unacked)', legend: 'unacknowledged' },
    ]),
    prom('Alarms', [
      { expr: 'max(rabbitmq_alarms_memory_used_watermark)', legend: 'memory' },
      { expr: 'max(rabbitmq_alarms_free_disk_space_watermark)', legend: 'disk' },
    ]),
    prom(
      'Memory and free disk',
      [
        { expr: 'sum(rabbitmq_process_resident_memory_bytes)', legend: 'memory' },
        { expr: 'min(rabbitmq_disk_space_available_bytes)', legend: 'free disk' },
      ],
      'bytes',
    ),
    logsPanel('RabbitMQ logs', '{namespace=~"$namespace", container="rabbitmq"}'),
  ]);
