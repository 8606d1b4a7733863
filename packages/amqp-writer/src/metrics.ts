import { Counter, Histogram, type Registry } from 'prom-client';

/** The writer's metrics, labelled by stream (events, samples, dead-letter). */
export function createWriterMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ['stream'] as const;
  return {
    messages: new Counter({
      name: 'plantmesh_writer_messages_total',
      help: 'AMQP messages committed and acknowledged',
      labelNames,
      registers,
    }),
    rows: new Counter({ name: 'plantmesh_writer_rows_total', help: 'Rows committed', labelNames, registers }),
    duplicates: new Counter({
      name: 'plantmesh_writer_duplicates_total',
      help: 'Events ignored because their id was already stored',
      labelNames,
      registers,
    }),
    batchRows: new Histogram({
      name: 'plantmesh_writer_batch_rows',
      help: 'Rows per transaction',
      labelNames,
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers,
    }),
    lag: new Histogram({
      name: 'plantmesh_writer_lag_seconds',
      help: 'End-to-end lag: received by the MQTT reader -> committed in PostgreSQL',
      labelNames,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    retries: new Counter({
      name: 'plantmesh_writer_retries_total',
      help: 'Batches retried after a transient database error',
      labelNames,
      registers,
    }),
    quarantined: new Counter({
      name: 'plantmesh_writer_quarantined_total',
      help: 'Payloads the database refuses (and messages that cannot be decoded), stored in raw.quarantine with the reason',
      labelNames,
      registers,
    }),
    live: new Counter({
      name: 'plantmesh_writer_live_messages_total',
      help: 'Messages of committed samples on the live stream, published or dropped (the broker away)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}

export type WriterMetrics = ReturnType<typeof createWriterMetrics>;
