import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

export const writerStreams = ['events', 'samples', 'dead-letter'] as const;
export type WriterStream = (typeof writerStreams)[number];

export const writerEnv = {
  ...storeUrlEnv,
  AMQP_URL: env.url(['amqp', 'amqps']),
  /** Comma-separated: which queues this writer consumes (one deployment each scales them apart). */
  WRITER_STREAMS: env.string().default(writerStreams.join(',')),
  /** Unacknowledged event-batch and dead-letter deliveries; the next batch fills while one is written. */
  PREFETCH: env.int(1).default(200),
  /** Events (or dead letters) per transaction. */
  BATCH_MAX_ROWS: env.int(1).default(2_000),
  /** Unacknowledged sample batch messages (each holds up to the reader's BATCH_MAX_SAMPLES). */
  SAMPLE_PREFETCH: env.int(1).default(32),
  /** Samples per transaction (one COPY). */
  SAMPLE_BATCH_MAX_ROWS: env.int(1).default(50_000),
  /** Transactions in progress at once per stream, each on its own connection. */
  WRITE_CONCURRENCY: env.int(1).default(2),
  /** How long a batch may wait to fill before it is written. */
  BATCH_MAX_MS: env.int(1).default(50),
  /** Whether committed samples are published on the live stream (plantmesh.live) for live consumers. */
  LIVE_STREAM: env.bool().default(true),
};

/** The streams named in WRITER_STREAMS, or an error naming the unknown one. */
export function parseStreams(value: string): WriterStream[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!writerStreams.includes(name as WriterStream)) {
      throw new Error(`WRITER_STREAMS must name some of ${writerStreams.join(', ')} (got "${name}")`);
    }
  }
  return [...new Set(names)] as WriterStream[];
}
