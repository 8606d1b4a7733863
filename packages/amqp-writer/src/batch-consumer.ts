import {
  backoffDelay,
  type ConfirmChannel,
  type ConsumeMessage,
  isTransientPgError,
  type Logger,
  type Postgres,
  sleep,
} from '@plantmesh/core';
import type { WriterMetrics } from './metrics.js';
import { headersAsJson, writeQuarantine } from './quarantine-store.js';
import type { StreamWriter } from './stream-writer.js';

interface Pending<T> {
  message: ConsumeMessage;
  channel: ConfirmChannel;
  item?: T;
  /** Set when the message can never be written: it goes to raw.quarantine with this reason. */
  refused?: string;
}

export interface BatchOptions {
  maxRows: number;
  maxMs: number;
  /** Batches written at once, each on its own connection: one builds while the database loads another. */
  concurrency: number;
}

/**
 * Consumes one queue into PostgreSQL: deliveries gather into a batch (by rows and by time), each batch
 * is one transaction, and its messages are acknowledged only after the commit. A transient database
 * error is retried with backoff while the messages are held (the prefetch window then stops further
 * deliveries); a batch the database refuses is retried message by message, and a message refused on
 * its own goes to raw.quarantine with the reason.
 */
export class BatchConsumer<T> {
  private pending: Array<Pending<T>> = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ready: Array<Array<Pending<T>>> = [];
  private active = 0;
  private idle: (() => void) | undefined;
  private consumer: { channel: ConfirmChannel; tag: string } | undefined;
  private stopped = false;
  private readonly labels: { stream: string };

  constructor(
    private readonly writer: StreamWriter<T>,
    private readonly postgres: Postgres,
    private readonly quarantine: Postgres,
    private readonly options: BatchOptions,
    private readonly log: Logger,
    private readonly metrics: WriterMetrics,
  ) {
    this.labels = { stream: writer.stream };
    for (const counter of [metrics.messages, metrics.rows, metrics.retries, metrics.quarantined, metrics.duplicates]) {
      counter.inc(this.labels, 0);
    }
  }

  /** Starts consuming on a (new) channel; called from the AMQP setup after every reconnect. */
  async consume(channel: ConfirmChannel): Promise<void> {
    if (this.stopped) return;
    const { consumerTag } = await channel.consume(this.writer.queue, (message) => {
      if (message) this.receive(channel, message);
    });
    this.consumer = { channel, tag: consumerTag };
  }

  private receive(channel: ConfirmChannel, message: ConsumeMessage): void {
    const entry: Pending<T> = { message, channel };
    try {
      entry.item = this.writer.decode(message);
      this.pendingRows += this.writer.rows(entry.item);
    } catch (error) {
      entry.refused = `${this.writer.stream} writer cannot decode it: ${(error as Error).message}`;
      this.pendingRows += 1;
    }
    this.pending.push(entry);
    if (this.pendingRows >= this.options.maxRows) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.maxMs);
  }

  /** Hands the gathered messages to the writers. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.ready.push(this.pending);
    this.pending = [];
    this.pendingRows = 0;
    this.startWrites();
  }

  private startWrites(): void {
    while (this.active < this.options.concurrency && this.ready.length > 0) {
      const batch = this.ready.shift() as Array<Pending<T>>;
      this.active += 1;
      void this.write(batch).finally(() => {
        this.active -= 1;
        this.startWrites();
        if (this.active === 0) this.idle?.();
      });
    }
  }

  private async write(batch: Array<Pending<T>>): Promise<void> {
    const inserted = await this.insert(batch.filter((entry) => entry.item !== undefined));
    await this.quarantineRefused(batch.filter((entry) => entry.refused));
    this.acknowledge(batch, inserted);
  }

  /**
   * Inserts the entries' items in one transaction, retrying while the database is away; a batch it
   * refuses is split, and an entry refused on its own is marked for the quarantine. Returns the rows
   * inserted.
   */
  private async insert(entries: Array<Pending<T>>): Promise<number> {
    if (entries.length === 0) return 0;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.postgres.transaction((client) =>
          this.writer.write(
            client,
            entries.map((entry) => entry.item as T),
          ),
        );
        result.onCommit?.();
        return result.rows;
      } catch (error) {
        if (isTransientPgError(error)) {
          await this.backOff(error, attempt);
          continue;
        }
        if (entries.length > 1) {
          this.log.warn({ err: error, messages: entries.length }, 'batch refused, writing its messages one by one');
          let rows = 0;
          for (const entry of entries) rows += await this.insert([entry]);
          return rows;
        }
        const [entry] = entries as [Pending<T>];
        entry.refused = `the database refused it: ${(error as Error).message}`;
        entry.item = undefined;
        return 0;
      }
    }
  }

  /** raw.quarantine lives in the raw store, wherever this stream's own store is. */
  private async quarantineRefused(entries: Array<Pending<T>>): Promise<void> {
    if (entries.length === 0) return;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.quarantine.transaction((client) =>
          writeQuarantine(
            client,
            entries.map((entry) => this.quarantineEntry(entry)),
          ),
        );
        return;
      } catch (error) {
        // Not even the quarantine takes it: hold the messages rather than drop them.
        await this.backOff(error, attempt);
      }
    }
  }

  private async backOff(error: unknown, attempt: number): Promise<void> {
    this.metrics.retries.inc(this.labels);
    if (attempt === 1 || attempt % 20 === 0) this.log.warn({ err: error, attempt }, 'batch not written, retrying');
    await sleep(backoffDelay(attempt, { maxMs: 5_000 }));
  }

  private quarantineEntry(entry: Pending<T>) {
    const headers = entry.message.properties.headers ?? {};
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      stage: 'amqp-writer',
      source: text(headers['x-source']),
      topic: text(headers['x-topic']),
      reason: entry.refused as string,
      payload: entry.message.content,
      headers: headersAsJson(headers),
    };
  }

  private acknowledge(batch: Array<Pending<T>>, inserted: number): void {
    const now = Date.now();
    let rows = 0;
    for (const entry of batch) {
      try {
        entry.channel.ack(entry.message);
      } catch {
        // The channel closed since delivery: RabbitMQ delivers it again and the store keeps one copy.
      }
      if (entry.item === undefined) {
        this.metrics.quarantined.inc(this.labels);
        continue;
      }
      rows += this.writer.rows(entry.item);
      for (const receivedAt of this.writer.receivedAt(entry.item)) {
        this.metrics.lag.observe(this.labels, Math.max(0, now - receivedAt) / 1000);
      }
    }
    this.metrics.messages.inc(this.labels, batch.length);
    this.metrics.rows.inc(this.labels, inserted);
    if (rows > inserted) this.metrics.duplicates.inc(this.labels, rows - inserted);
    this.metrics.batchRows.observe(this.labels, rows);
  }

  /** Stops taking deliveries, writes what was taken, and acknowledges it. */
  async drain(): Promise<void> {
    this.stopped = true;
    if (this.consumer) await this.consumer.channel.cancel(this.consumer.tag).catch(() => {});
    this.flush();
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }
}
