/**
 * The live stream into the subscriptions (ADR 0014): each replica has a queue of its own (server-named,
 * exclusive, bounded), bound to `plantmesh.live` for the parent paths of the series some subscription
 * watches, keeps those series of each message, and hands
 * what arrives to the streams and the staging (StreamHub.deliver: once per subscription, whichever replicas
 * see it). After every (re)connection it first reads what it missed from metrics.samples (catchUp), so a
 * restart or a lost connection leaves no gap. It also publishes the values written through this replica.
 * It binds the series whose last values this replica holds too (ADR 0023): each message removes theirs.
 */
import { backoffDelay, type Logger, sleep } from '@plantmesh/core';
import {
  bindingKeysForFilter,
  decodeLiveMessage,
  type LiveSamples,
  liveExchange,
  liveMessages,
} from '@plantmesh/live-stream';
import amqp, { type Channel, type ConsumeMessage } from 'amqplib';
import { Counter, type Registry } from 'prom-client';
import type { LastValues } from '../last-values.js';

/** Where the feed's samples go, and what it binds (the StreamHub). */
export interface LiveSink {
  deliver(messages: readonly LiveSamples[]): Promise<void>;
  catchUp(paths?: ReadonlySet<string>): Promise<number>;
  watchedPaths(): Promise<Set<string>>;
}

export interface LiveFeedOptions {
  url: string;
  sink: LiveSink;
  log: Logger;
  /** Messages the broker keeps for this replica; beyond, the oldest go (and catch-up closes the gap). */
  queueMax?: number;
  prefetch?: number;
  /** How long messages are gathered into one staging transaction. */
  flushMs?: number;
  /** Where `plantmesh_i3x_live_messages_total{outcome}` goes. */
  registry?: Registry;
  /** The last values held in memory: their series are bound too, and a message removes theirs. */
  lastValues?: LastValues;
}

const bindingsAtOnce = 500;

export class LiveFeed {
  private channel: Channel | undefined;
  private queue: string | undefined;
  /** The series some subscription watches, and the binding keys that bring them. */
  private watched = new Set<string>();
  private bound = new Set<string>();
  private buffer: Array<{ message: ConsumeMessage; series: LiveSamples[] }> = [];
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private rebinding: Promise<void> | undefined;
  private rebindAgain = false;
  private needsCatchUp = false;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** Connected, bound and caught up. */
  ready = false;

  private readonly messages: Counter<'outcome'> | undefined;

  constructor(private readonly options: LiveFeedOptions) {
    this.messages = options.registry
      ? new Counter({
          name: 'plantmesh_i3x_live_messages_total',
          help: 'Live-stream messages taken for subscriptions: delivered (to streams and staging), or failed (caught up from the store later)',
          labelNames: ['outcome'],
          registers: [options.registry],
        })
      : undefined;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    // Made once, before anything waits on it: an abort that came during a connection still ends the wait.
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      let connection: amqp.ChannelModel | undefined;
      try {
        connection = await amqp.connect(this.options.url);
        let lost = () => {};
        const closed = new Promise<void>((resolve) => {
          lost = resolve;
        });
        connection.on('close', () => lost());
        connection.on('error', () => lost());
        const channel = await connection.createChannel();
        // A channel closed alone (a broker error on it) ends its consumer too: both start again.
        channel.on('close', () => lost());
        channel.on('error', () => {});
        const { queue } = await channel.assertQueue('', {
          exclusive: true,
          autoDelete: true,
          durable: false,
          arguments: { 'x-max-length': this.options.queueMax ?? 100_000, 'x-overflow': 'drop-head' },
        });
        this.channel = channel;
        this.queue = queue;
        this.bound = new Set();
        this.watched = new Set();
        await this.rebind();
        await channel.prefetch(this.options.prefetch ?? 1_000);
        await channel.consume(queue, (message) => message && this.received(message), { noAck: false });
        // Bound first, then the store: what arrives meanwhile is staged once either way.
        const missed = await this.options.sink.catchUp();
        if (missed > 0) this.options.log.info({ samples: missed }, 'subscriptions: caught up from metrics.samples');
        this.ready = true;
        attempt = 0;
        this.options.log.info({ queue }, 'subscriptions: consuming the live stream');
        await Promise.race([closed, stopped]);
      } catch (error) {
        if (!signal.aborted) this.options.log.warn({ err: error }, 'subscriptions: live stream unavailable; retrying');
      } finally {
        this.ready = false;
        this.options.lastValues?.unbound();
        this.channel = undefined;
        this.buffer = [];
        await connection?.close().catch(() => {});
      }
      await sleep(backoffDelay(attempt, { initialMs: 200, maxMs: 10_000 }), signal).catch(() => {});
    }
  }

  /** Binds the queue to the series watched now and unbinds the others (after register, unregister, delete). */
  rebind(): Promise<void> {
    if (this.rebinding) {
      this.rebindAgain = true;
      return this.rebinding;
    }
    const work = async () => {
      do {
        this.rebindAgain = false;
        const channel = this.channel;
        const queue = this.queue;
        if (!channel || !queue) return;
        const wanted = await this.options.sink.watchedPaths();
        const held = this.options.lastValues?.paths() ?? [];
        const added = new Set([...wanted].filter((path) => !this.watched.has(path)));
        const keys = new Set([...wanted, ...held].flatMap((path) => bindingKeysForFilter(path)));
        const unbound = [...keys].filter((key) => !this.bound.has(key));
        // Many bindings at once, not one round trip each: 10,000 watched series bind in seconds, not minutes.
        for (let first = 0; first < unbound.length; first += bindingsAtOnce) {
          await Promise.all(
            unbound.slice(first, first + bindingsAtOnce).map(async (key) => {
              await channel.bindQueue(queue, liveExchange, key);
              this.bound.add(key);
            }),
          );
        }
        this.watched = wanted;
        // Only while this channel is the feed's: a lost one has unbound everything held.
        if (this.channel === channel) this.options.lastValues?.bound(held);
        if (added.size > 0) {
          this.options.log.info({ added: added.size, bound: this.bound.size }, 'subscriptions: series bound');
        }
        // What a newly watched series committed between its registration and its binding.
        if (added.size > 0 && this.ready) await this.options.sink.catchUp(added);
        for (const key of [...this.bound]) {
          if (keys.has(key)) continue;
          await channel.unbindQueue(queue, liveExchange, key);
          this.bound.delete(key);
        }
      } while (this.rebindAgain);
    };
    // Cleared once settled (never before it is stored: the work may end before its first await).
    const running: Promise<void> = work()
      .catch((error) =>
        this.options.log.warn({ err: error }, 'subscriptions: bindings not brought up to date; retried'),
      )
      .finally(() => {
        if (this.rebinding === running) this.rebinding = undefined;
      });
    this.rebinding = running;
    return this.rebinding;
  }

  private received(message: ConsumeMessage): void {
    try {
      // A message carries a parent path's series: those watched, and their siblings.
      const all = decodeLiveMessage(message.content);
      this.options.lastValues?.remove(all.map((one) => one.path));
      this.buffer.push({ message, series: all.filter((one) => this.watched.has(one.path)) });
    } catch (error) {
      this.options.log.warn({ err: error }, 'subscriptions: not a live samples message; dropped');
      this.channel?.ack(message);
      return;
    }
    if (this.buffer.length >= (this.options.prefetch ?? 1_000) / 2) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 20);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const taken = this.buffer;
    this.buffer = [];
    if (taken.length === 0) return;
    const channel = this.channel;
    this.flushing = this.flushing.then(async () => {
      try {
        if (this.needsCatchUp) {
          await this.options.sink.catchUp();
          this.needsCatchUp = false;
        }
        await this.options.sink.deliver(taken.flatMap((entry) => entry.series));
        this.messages?.inc({ outcome: 'delivered' }, taken.length);
      } catch (error) {
        this.messages?.inc({ outcome: 'failed' }, taken.length);
        // The stream is a notification: the store has the samples, and the next catch-up delivers them.
        this.needsCatchUp = true;
        this.options.log.warn({ err: error }, 'subscriptions: live samples not delivered; caught up later');
      }
      try {
        channel?.ack(taken[taken.length - 1]?.message as ConsumeMessage, true);
      } catch {
        // The channel is gone: its messages are gone with it.
      }
    });
  }

  /**
   * Publishes samples on the live stream, as the writer does for what it commits (fire and forget: the
   * store is the record, and every replica catches up from it).
   */
  publish(messages: readonly LiveSamples[]): void {
    const channel = this.channel;
    if (!channel) return;
    try {
      for (const { routingKey, body } of liveMessages(messages)) channel.publish(liveExchange, routingKey, body);
    } catch (error) {
      this.options.log.warn({ err: error }, 'written values not published on the live stream');
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.loop;
    await this.flushing;
  }
}
