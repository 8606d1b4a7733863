import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The reader's metrics; `stream` is its profile, so both readers share one dashboard. Each series is
 * bound to its stream once, so that counting a message on the hot path does not hash labels.
 */
export function createReaderMetrics(registry: Registry, stream: string) {
  const registers = [registry];
  // Bound to the stream and started at 0, so that rate() has a series before the first message.
  const counter = (name: string, help: string) => {
    const bound = new Counter({ name, help, labelNames: ['stream'], registers }).labels(stream);
    bound.inc(0);
    return bound;
  };
  const received = counter('plantmesh_reader_received_total', 'MQTT messages received');
  const forwarded = counter(
    'plantmesh_reader_forwarded_total',
    'MQTT messages confirmed by RabbitMQ (acknowledged to the broker where QoS > 0)',
  );
  const samples = counter('plantmesh_reader_samples_forwarded_total', 'Sensor samples confirmed by RabbitMQ');
  const publishRetries = counter(
    'plantmesh_reader_publish_retries_total',
    'Publishes to RabbitMQ retried after a refusal or a lost channel',
  );
  const deadLettered = new Counter({
    name: 'plantmesh_reader_dead_lettered_total',
    help: 'Payloads refused (not JSON, not UTF-8, oversize, invalid) and sent to the dead-letter queue',
    labelNames: ['stream', 'reason'],
    registers,
  });
  const inFlight = new Gauge({
    name: 'plantmesh_reader_in_flight',
    help: 'Messages received and not yet confirmed by RabbitMQ',
    labelNames: ['stream'],
    registers,
  }).labels(stream);
  const batchSamples = new Histogram({
    name: 'plantmesh_reader_batch_samples',
    help: 'Samples per AMQP batch message',
    labelNames: ['stream'],
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
    registers,
  }).labels(stream);
  return {
    received: () => received.inc(),
    forwarded: () => forwarded.inc(),
    samplesForwarded: (n: number) => samples.inc(n),
    deadLettered: (reason: string) => deadLettered.labels(stream, reason).inc(),
    publishRetried: () => publishRetries.inc(),
    inFlight: (n: number) => inFlight.set(n),
    batch: (n: number) => batchSamples.observe(n),
  };
}

export type ReaderMetrics = ReturnType<typeof createReaderMetrics>;
