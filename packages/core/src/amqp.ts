import { randomUUID } from 'node:crypto';
import amqp, { type ConfirmChannel, type Options } from 'amqplib';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { backoffDelay, sleep } from './backoff.js';
import { type ConnectionTracker, trackConnection } from './connection-metrics.js';

export type { ConfirmChannel, ConsumeMessage, Options as AmqpPublishOptions } from 'amqplib';

export interface AmqpOptions {
  url: string;
  log: Logger;
  /** Unacknowledged deliveries the broker may push to this channel at once. */
  prefetch?: number;
  /**
   * Declares what the service needs (exchanges, queues, bindings) and starts its consumers. It runs
   * on every (re)connect with the new confirm channel, so the topology is re-declared after a broker
   * restart; declarations must therefore be idempotent.
   */
  setup?: (channel: ConfirmChannel) => Promise<void>;
  /** Where the connection's up/lost metrics go; `target` labels them (default amqp). */
  metrics?: Registry;
  target?: string;
}

/**
 * One AMQP connection with one confirm channel that comes back after the broker does. Reconnection
 * uses amqplib's own recovery (exponential backoff with jitter); this class re-creates the channel,
 * re-runs the setup and reports readiness.
 */
export class AmqpClient {
  private model: amqp.RecoveringChannelModel | undefined;
  private current: ConfirmChannel | undefined;
  private waiters: Array<(channel: ConfirmChannel) => void> = [];
  private closing = false;
  private blocked = false;
  /** Ids of messages the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();
  private readonly tracker: ConnectionTracker;

  constructor(private readonly options: AmqpOptions) {
    this.tracker = trackConnection(options.metrics, options.target ?? 'amqp');
  }

  /** Ready when a channel is open and the broker is not blocking publishers (memory or disk alarm). */
  get ready(): boolean {
    return this.current !== undefined && !this.blocked;
  }

  /** Starts connecting; resolves once the first channel is set up. */
  async start(): Promise<void> {
    const { log } = this.options;
    this.model = await amqp.connect(this.options.url, {
      recovery: {
        initialDelay: 200,
        maxDelay: 5_000,
        maxRetries: Number.POSITIVE_INFINITY,
        waitForConnect: false,
        setup: (model: amqp.ChannelModel) => this.openChannel(model),
      },
    });
    this.model.on('disconnect', (error) => {
      this.current = undefined;
      this.tracker.set(false);
      if (!this.closing) log.warn({ err: error }, 'amqp connection lost, reconnecting');
    });
    // Said at once and then now and again: a refused login or an unverifiable certificate must show.
    let failures = 0;
    this.model.on('connect', () => {
      failures = 0;
    });
    this.model.on('connect-failed', (error) => {
      failures += 1;
      if (failures === 1 || failures % 20 === 0) {
        log.warn({ err: error, attempts: failures }, 'amqp connection failed, retrying');
      }
    });
    this.model.on('error', (error) => log.warn({ err: error }, 'amqp connection error'));
    this.model.on('blocked', (reason) => {
      this.blocked = true;
      log.warn({ reason }, 'amqp connection blocked by the broker');
    });
    this.model.on('unblocked', () => {
      this.blocked = false;
      log.info('amqp connection unblocked');
    });
    await this.channel();
  }

  private async openChannel(model: amqp.ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error) => this.options.log.warn({ err: error }, 'amqp channel error'));
    channel.on('return', (message: { properties: { messageId?: string } }) => {
      if (message.properties.messageId) this.returned.add(message.properties.messageId);
    });
    channel.on('close', () => {
      if (this.current === channel) this.current = undefined;
      // A channel can close on its own (a failed declaration, a broker-side policy); re-open it while
      // the connection itself is still up. When the connection went down, recovery re-runs the setup.
      if (!this.closing) void this.reopenWhileConnected(model);
    });
    if (this.options.prefetch) await channel.prefetch(this.options.prefetch);
    await this.options.setup?.(channel);
    this.current = channel;
    this.tracker.set(true);
    this.blocked = false;
    this.options.log.info('amqp channel ready');
    for (const resolve of this.waiters.splice(0)) resolve(channel);
  }

  private async reopenWhileConnected(model: amqp.ChannelModel): Promise<void> {
    for (let attempt = 1; !this.closing && !this.current; attempt += 1) {
      await sleep(backoffDelay(attempt, { maxMs: 5_000 }));
      if (this.closing || this.current) return;
      try {
        await this.openChannel(model);
      } catch (error) {
        // The connection itself is gone: recovery will run the setup again.
        this.options.log.debug({ err: error }, 'amqp channel re-open failed');
        if (/closed/i.test(String((error as Error).message))) return;
      }
    }
  }

  /** The open channel, waiting for one while the broker is away. */
  channel(signal?: AbortSignal): Promise<ConfirmChannel> {
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const waiter = (channel: ConfirmChannel) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(channel);
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Publishes a persistent, mandatory message and resolves once the broker has confirmed it (the
   * message is in a queue, replicated for a quorum queue). Rejects when the broker refuses it, no queue
   * takes it, or the channel goes down before the confirm: the caller still holds the message and
   * decides whether to retry.
   */
  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish = {},
    signal?: AbortSignal,
  ): Promise<void> {
    const channel = await this.channel(signal);
    const messageId = options.messageId ?? randomUUID();
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        exchange,
        routingKey,
        content,
        { persistent: true, mandatory: true, ...options, messageId },
        (error) => {
          if (error)
            return reject(error instanceof Error ? error : new Error(`publish not confirmed: ${String(error)}`));
          // A message no queue took is confirmed too; `mandatory` makes the broker return it first.
          if (this.returned.delete(messageId))
            return reject(new Error(`no queue took the message (${exchange}/${routingKey})`));
          resolve();
        },
      );
    });
  }

  /**
   * Publishes a transient message without waiting for anything, on the open channel; false when there is
   * none (the broker is away) and the message was dropped. For what may be lost: the live stream.
   */
  publishTransient(exchange: string, routingKey: string, content: Buffer): boolean {
    if (!this.current || this.blocked) return false;
    try {
      this.current.publish(exchange, routingKey, content, { persistent: false }, () => {});
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const channel = this.current;
    this.current = undefined;
    try {
      await channel?.close();
    } catch {
      // Already closed with its connection.
    }
    await this.model?.close();
  }
}
