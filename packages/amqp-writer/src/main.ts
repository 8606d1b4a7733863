import {
  AmqpClient,
  ConfigError,
  checkIngestTopology,
  connectPostgres,
  type Postgres,
  runService,
} from '@plantmesh/core';
import { type LiveSamples, liveExchange, liveMessages } from '@plantmesh/live-stream';
import { storeUrls } from '@plantmesh/schema';
import { BatchConsumer } from './batch-consumer.js';
import { parseStreams, type WriterStream, writerEnv } from './config.js';
import { DeadLetterWriter } from './dead-letter-writer.js';
import { EventWriter } from './event-writer.js';
import { createWriterMetrics } from './metrics.js';
import { SampleWriter } from './sample-writer.js';
import type { StreamWriter } from './stream-writer.js';

const partitionCheckMs = 3_600_000;

await runService(
  { name: 'amqp-writer', packageJson: new URL('../package.json', import.meta.url), env: writerEnv },
  async (runtime) => {
    const { config, log, metrics, readiness, shutdown } = runtime;
    let streams: WriterStream[];
    try {
      streams = parseStreams(config.WRITER_STREAMS);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
    }
    const urls = storeUrls(config, ['raw', 'metrics']);
    const writerMetrics = createWriterMetrics(metrics);
    const databases = new Map<'raw' | 'metrics', Postgres>();
    const database = async (store: 'raw' | 'metrics') => {
      let postgres = databases.get(store);
      if (!postgres) {
        postgres = await connectPostgres(runtime, urls[store], `postgres-${store}`);
        databases.set(store, postgres);
      }
      return postgres;
    };

    for (const stream of streams) {
      // Committed samples go on the live stream over the stream's own channel, best effort.
      let amqp: AmqpClient | undefined;
      const publishLive = (series: LiveSamples[]) => {
        for (const { routingKey, body } of liveMessages(series)) {
          const sent = amqp?.publishTransient(liveExchange, routingKey, body);
          writerMetrics.live.inc({ outcome: sent ? 'published' : 'dropped' });
        }
      };
      const writer: StreamWriter<unknown> =
        stream === 'events'
          ? new EventWriter()
          : stream === 'samples'
            ? new SampleWriter(config.LIVE_STREAM ? publishLive : undefined)
            : new DeadLetterWriter();
      const postgres = await database(stream === 'samples' ? 'metrics' : 'raw');
      // Every stream quarantines in the raw store, wherever its own store is.
      const raw = await database('raw');
      await postgres.waitForTables(writer.tables, shutdown.signal);
      await raw.waitForTables(['raw.quarantine'], shutdown.signal);
      if (stream === 'samples') {
        // Native partitions are made a week ahead (a no-op under TimescaleDB); rows beyond land in the default one.
        const ensurePartitions = () =>
          postgres.pool
            .query('select metrics.create_partitions(current_date + 7)')
            .catch((error) => log.warn({ err: error }, 'could not create sample partitions'));
        await ensurePartitions();
        const timer = setInterval(ensurePartitions, partitionCheckMs);
        timer.unref();
        shutdown.add('partitions', () => clearInterval(timer));
      }
      const samples = stream === 'samples';
      const consumer = new BatchConsumer(
        writer,
        postgres,
        raw,
        {
          maxRows: samples ? config.SAMPLE_BATCH_MAX_ROWS : config.BATCH_MAX_ROWS,
          maxMs: config.BATCH_MAX_MS,
          concurrency: config.WRITE_CONCURRENCY,
        },
        log.child({ stream }),
        writerMetrics,
      );
      amqp = new AmqpClient({
        url: config.AMQP_URL,
        log: log.child({ stream }),
        metrics,
        target: `amqp-${stream}`,
        prefetch: samples ? config.SAMPLE_PREFETCH : config.PREFETCH,
        setup: async (channel) => {
          // Declared by the administrator (plantmesh migrate); this service's user may only consume.
          await checkIngestTopology(channel, { queues: [writer.queue] });
          await consumer.consume(channel);
        },
      });
      await amqp.start();
      readiness.register(`amqp-${stream}`, () => amqp.ready);
      shutdown.add(`amqp-${stream}`, () => amqp.close());
      shutdown.add(`drain-${stream}`, () => consumer.drain());
    }
    log.info({ streams }, 'writing');
  },
);
