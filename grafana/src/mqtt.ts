/** The MQTT brokers (VerneMQ in the chart): publishes, offline queues, connected clients. */
import { dashboard, logsPanel, namespaceVariable, prom } from './shared.js';

export const mqtt = () =>
  dashboard({ uid: 'plantmesh-mqtt', title: 'plantmesh / MQTT brokers', variables: [namespaceVariable()] }, [
    prom(
      'Publishes received and sent',
      [
        { expr: 'sum by (pod) (rate(mqtt_publish_received[1m]))', legend: 'received {{pod}}' },
        { expr: 'sum by (pod) (rate(mqtt_publish_sent[1m]))', legend: 'sent {{pod}}' },
      ],
      'ops',
    ),
    prom(
      'Queued messages (offline sessions)',
      [
        { expr: 'sum by (pod) (rate(queue_message_in[1m]))', legend: 'in {{pod}}' },
        { expr: 'sum by (pod) (rate(queue_message_out[1m]))', legend: 'out {{pod}}' },
        { expr: 'sum by (pod) (rate(queue_message_drop[1m]))', legend: 'dropped {{pod}}' },
      ],
      'ops',
    ),
    prom('Connected clients', [{ expr: 'sum by (pod) (socket_open - socket_close)', legend: '{{pod}}' }]),
    logsPanel('Broker logs', '{namespace=~"$namespace", container="vernemq"}'),
  ]);
