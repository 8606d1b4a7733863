import {
  backoffDelay,
  type ConfirmChannel,
  type ConsumeMessage,
  isDataPgError,
  isTransientPgError,
  type Logger,
  type Postgres,
  type QuarantineEntry,
  sleep,
  writeQuarantine,
} from '@plantmesh/core';
import type { WriterMetrics } from './metrics.js';
import { messageQuarantineEntry } from './quarantine-store.js';
import { halves, type StreamWriter } from './stream-writer.js';

interface Pending<T> {
  message: ConsumeMessage;
  channel: ConfirmChannel;
  /** What the writer decoded; undefined when the message could not be decoded. */
  item?: T;
  /** What of the message goes to raw.quarantine: its refused parts, or all of it if undecodable. */
  quarantine: QuarantineEntry[];
  /** Rows of the item that went to the quarantine instead of the store. */
  refusedRows: number;
}

/** A part of a message's item: the unit that is halved while a refused payload is searched for. */
interface Part<T> {
  entry: Pending<T>;
  item: T;
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
 * error, or one of the database's own (a missing grant, a full disk), is retried with backoff while the
 * messages are held (the prefetch window then stops further deliveries). When the data is refused, the
 * batch is halved, across messages and then inside a message, until each refused payload stands alone:
 * it goes to raw.quarantine with the reason and everything else is stored.
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
    const entry: Pending<T> = { message, channel, quarantine: [], refusedRows: 0 };
    try {
      entry.item = this.writer.decode(message);
      this.pendingRows += this.writer.rows(entry.item);
    } catch (error) {
      entry.quarantine.push(
        messageQuarantineEntry(
          message,
          'amqp-writer',
          `${this.writer.stream} writer cannot decode it: ${(error as Error).message}`,
        ),
      );
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
    const parts = batch.flatMap((entry) => (entry.item === undefined ? [] : [{ entry, item: entry.item }]));
    const inserted = parts.length > 0 ? await this.store(parts) : 0;
    await this.quarantineRefused(batch.flatMap((entry) => entry.quarantine));
    this.acknowledge(batch, inserted);
  }

  /**
   * Stores the parts' items in one transaction. When the database refuses the data, the parts are
   * halved (across messages first, then inside one) and each half stored on its own, until a refused
   * part cannot be split: it is marked for the quarantine. Returns the rows inserted.
   */
  private async store(parts: Array<Part<T>>): Promise<number> {
    const outcome = await this.commit(parts.map((part) => part.item));
    if ('rows' in outcome) return outcome.rows;
    const { refusal } = outcome;
    const split = parts.length > 1 ? halves(parts) : this.splitPart(parts[0] as Part<T>);
    if (!split) {
      const [{ entry, item }] = parts as [Part<T>];
      entry.quarantine.push(
        ...this.writer.refusals(item, entry.message, `the database refused it: ${refusal.message}`),
      );
      entry.refusedRows += this.writer.rows(item);
      return 0;
    }
    this.log.debug({ err: refusal, parts: parts.length }, 'the database refused a batch, halving it');
    const first = await this.store(split[0]);
    return first + (await this.store(split[1]));
  }

  private splitPart({ entry, item }: Part<T>): [Array<Part<T>>, Array<Part<T>>] | undefined {
    const split = this.writer.split(item);
    return split && [[{ entry, item: split[0] }], [{ entry, item: split[1] }]];
  }

  /**
   * Commits the items in one transaction: the rows inserted, or the error when the data was refused.
   * Any other failure is retried with backoff, holding the messages, until it passes.
   */
  private async commit(items: T[]): Promise<{ rows: number } | { refusal: Error }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.postgres.transaction((client) => this.writer.write(client, items));
        result.onCommit?.();
        return { rows: result.rows };
      } catch (error) {
        if (isDataPgError(error)) return { refusal: error as Error };
        await this.backOff(error, attempt, isTransientPgError(error) ? 'warn' : 'error');
      }
    }
  }

  /**
   * raw.quarantine lives in the raw store, wherever this stream's own store is. A refusal of the
   * quarantine's own (which storable texts should prevent) keeps the payload and drops the rest.
   */
  private async quarantineRefused(entries: QuarantineEntry[]): Promise<void> {
    let rows = entries;
    for (let attempt = 1; rows.length > 0; attempt += 1) {
      try {
        await this.quarantine.transaction((client) => writeQuarantine(client, rows));
        return;
      } catch (error) {
        if (isDataPgError(error)) {
          this.log.error({ err: error }, 'raw.quarantine refused rows; storing their payloads without headers');
          rows = rows.map((entry) => ({ ...entry, headers: {}, reason: 'quarantined without its headers and reason' }));
          continue;
        }
        // The quarantine is away: hold the messages rather than drop them.
        await this.backOff(error, attempt, 'warn');
      }
    }
  }

  private async backOff(error: unknown, attempt: number, level: 'warn' | 'error'): Promise<void> {
    this.metrics.retries.inc(this.labels);
    if (attempt === 1 || attempt % 20 === 0) this.log[level]({ err: error, attempt }, 'batch not written, retrying');
    await sleep(backoffDelay(attempt, { maxMs: 5_000 }));
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
      this.metrics.quarantined.inc(this.labels, entry.quarantine.length);
      if (entry.item === undefined) continue;
      rows += this.writer.rows(entry.item) - entry.refusedRows;
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
