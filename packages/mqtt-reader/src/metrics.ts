import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The reader's metrics; `stream` is its profile, so both readers share one dashboard. */
export function createReaderMetrics(registry: Registry, stream: string) {
  const registers = [registry];
  const labels = { stream };
  const received = new Counter({
    name: 'plantmesh_reader_received_total',
    help: 'MQTT messages received',
    labelNames: ['stream'],
    registers,
  });
  const forwarded = new Counter({
    name: 'plantmesh_reader_forwarded_total',
    help: 'MQTT messages confirmed by RabbitMQ (acknowledged to the broker where QoS > 0)',
    labelNames: ['stream'],
    registers,
  });
  const samples = new Counter({
    name: 'plantmesh_reader_samples_forwarded_total',
    help: 'Sensor samples confirmed by RabbitMQ',
    labelNames: ['stream'],
    registers,
  });
  const deadLettered = new Counter({
    name: 'plantmesh_reader_dead_lettered_total',
    help: 'Payloads refused (not JSON, not UTF-8, oversize, invalid) and sent to the dead-letter queue',
    labelNames: ['stream', 'reason'],
    registers,
  });
  const publishRetries = new Counter({
    name: 'plantmesh_reader_publish_retries_total',
    help: 'Publishes to RabbitMQ retried after a refusal or a lost channel',
    labelNames: ['stream'],
    registers,
  });
  const inFlight = new Gauge({
    name: 'plantmesh_reader_in_flight',
    help: 'Messages received and not yet confirmed by RabbitMQ',
    labelNames: ['stream'],
    registers,
  });
  const batchSamples = new Histogram({
    name: 'plantmesh_reader_batch_samples',
    help: 'Samples per AMQP batch message',
    labelNames: ['stream'],
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
    registers,
  });
  for (const counter of [received, forwarded, samples, publishRetries]) counter.inc(labels, 0);
  return {
    received: () => received.inc(labels),
    forwarded: () => forwarded.inc(labels),
    samplesForwarded: (n: number) => samples.inc(labels, n),
    deadLettered: (reason: string) => deadLettered.inc({ stream, reason }),
    publishRetried: () => publishRetries.inc(labels),
    inFlight: (n: number) => inFlight.set(labels, n),
    batch: (n: number) => batchSamples.observe(labels, n),
  };
}

export type ReaderMetrics = ReturnType<typeof createReaderMetrics>;
