/**
 * SSE streams of subscriptions (POST /subscriptions/stream) and the notifications that drive them. One stream
 * per subscription across all replicas: opening one stores its token and notifies every replica, and the one
 * holding the older stream ends it (an ordinary end, no error). A stream takes the staged updates from the
 * store (so at most once: what it sent is gone) when a replica that staged some notifies, a chunk at a time
 * and only as fast as the client reads (a slow reader holds its socket's buffer, not the server's memory:
 * the queue stays in PostgreSQL, bounded). Keepalive comments every `keepaliveMs` also keep the
 * subscription alive (TTL) and find a stream that another replica took over without telling.
 */
import type { ServerResponse } from 'node:http';
import { backoffDelay, type Logger, sleep } from '@plantmesh/core';
import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { channels, type SubscriptionStore } from './store.js';

/** Resolves when the response can take more, or is gone; leaves no listener behind. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

interface LocalStream {
  subscriptionId: string;
  token: string;
  response: ServerResponse;
  pumping: boolean;
  again: boolean;
  closed: boolean;
  keepalive: NodeJS.Timeout;
}

export interface StreamHubOptions {
  store: SubscriptionStore;
  /** The i3x store, for LISTEN. */
  pool: pg.Pool;
  log: Logger;
  /** Called when the set of watched series may have changed (the live feed rebinds). */
  onWatchChanged?: () => void;
  /** Updates per SSE event. */
  chunk?: number;
  /** Where `plantmesh_i3x_streams_open` goes. */
  registry?: Registry;
}

export class StreamHub {
  private readonly streams = new Map<string, LocalStream>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: StreamHubOptions) {
    if (options.registry) {
      const hub = this;
      new Gauge({
        name: 'plantmesh_i3x_streams_open',
        help: 'Subscription streams (SSE) this replica serves now',
        registers: [options.registry],
        collect() {
          this.set(hub.open);
        },
      });
    }
  }

  get open(): number {
    return this.streams.size;
  }

  /** The most bytes any stream's response holds unsent in this process (bounded: one event past the high-water mark). */
  get buffered(): number {
    return Math.max(0, ...[...this.streams.values()].map((stream) => stream.response.writableLength));
  }

  start(): void {
    this.loop = this.listen();
    const { ttlMs } = this.options.store.limits;
    this.sweeper = setInterval(
      () => {
        this.options.store
          .expire()
          .then((n) => {
            if (n > 0) this.options.log.info({ subscriptions: n }, 'subscriptions expired (TTL)');
          })
          .catch((error) => this.options.log.warn({ err: error }, 'subscription expiry failed; retried'));
      },
      Math.max(1_000, Math.min(ttlMs / 4, 60_000)),
    );
    this.sweeper.unref();
  }

  private async listen(): Promise<void> {
    const { signal } = this.stopping;
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        const client = await this.options.pool.connect();
        const lost = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        client.on('notification', (message) => this.notified(message.channel, message.payload ?? ''));
        for (const channel of Object.values(channels)) await client.query(`listen ${channel}`);
        attempt = 0;
        // What was staged or changed while nobody listened.
        for (const stream of this.streams.values()) void this.pump(stream);
        this.options.onWatchChanged?.();
        await Promise.race([lost, stopped]);
        client.removeAllListeners('notification');
        client.release(true);
      } catch (error) {
        if (signal.aborted) return;
        this.options.log.warn({ err: error }, 'subscriptions: not listening for notifications; retrying');
      }
      await sleep(backoffDelay(attempt, { initialMs: 200, maxMs: 10_000 }), signal).catch(() => {});
    }
  }

  private notified(channel: string, payload: string): void {
    this.options.log.debug({ channel, payload }, 'subscriptions: notified');
    if (channel === channels.updates) {
      const stream = this.streams.get(payload);
      if (stream) void this.pump(stream);
    } else if (channel === channels.streams) {
      const [subscriptionId = '', token] = payload.split(' ');
      const stream = this.streams.get(subscriptionId);
      if (stream && stream.token !== token) this.end(stream, false);
    } else if (channel === channels.watch) {
      this.options.onWatchChanged?.();
    }
  }

  /** Serves an opened stream (the token from store.openStream) on this response until it ends. */
  attach(subscriptionId: string, token: string, response: ServerResponse): void {
    const before = this.streams.get(subscriptionId);
    if (before) this.end(before, false);
    const stream: LocalStream = {
      subscriptionId,
      token,
      response,
      pumping: false,
      again: false,
      closed: false,
      // Often enough that an open stream keeps its subscription within the TTL.
      keepalive: setInterval(
        () => void this.keepalive(stream),
        Math.min(this.options.store.limits.keepaliveMs, this.options.store.limits.ttlMs / 3),
      ),
    };
    this.streams.set(subscriptionId, stream);
    response.on('close', () => this.end(stream, true));
    // A write racing the client's going away is nothing to report.
    response.on('error', () => this.end(stream, true));
    void this.pump(stream);
  }

  private async keepalive(stream: LocalStream): Promise<void> {
    if (stream.closed) return;
    stream.response.write(': keepalive\n\n');
    try {
      if (!(await this.options.store.streamAlive(stream.subscriptionId, stream.token))) this.end(stream, false);
    } catch (error) {
      this.options.log.warn({ err: error }, 'stream keepalive not recorded');
    }
  }

  /** Sends what is staged, a chunk at a time, waiting for the client to read each. */
  private async pump(stream: LocalStream): Promise<void> {
    if (stream.pumping) {
      stream.again = true;
      return;
    }
    stream.pumping = true;
    try {
      do {
        stream.again = false;
        for (;;) {
          if (stream.closed) return;
          const updates = await this.options.store.takeStaged(
            stream.subscriptionId,
            stream.token,
            this.options.chunk ?? 500,
          );
          if (updates.length === 0) break;
          if (stream.closed) return;
          if (!stream.response.write(`data: ${JSON.stringify(updates)}\n\n`)) await drained(stream.response);
        }
      } while (stream.again);
    } catch (error) {
      this.options.log.warn(
        { err: error, subscription: stream.subscriptionId },
        'stream could not be fed; retried on the next update',
      );
    } finally {
      stream.pumping = false;
    }
  }

  /** Ends a stream: by the client (closed), or because another took its place or the server stops. */
  private end(stream: LocalStream, byClient: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    clearInterval(stream.keepalive);
    if (this.streams.get(stream.subscriptionId) === stream) this.streams.delete(stream.subscriptionId);
    if (!byClient) stream.response.end();
    // Free the subscription for /sync, unless another stream holds it now.
    this.options.store
      .closeStream(stream.subscriptionId, stream.token)
      .catch((error) => this.options.log.warn({ err: error }, 'stream close not recorded'));
  }

  /** Ends every stream (before the server closes: they would hold it open). */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) this.end(stream, false);
  }

  async stop(): Promise<void> {
    this.closeAll();
    if (this.sweeper) clearInterval(this.sweeper);
    this.stopping.abort();
    await this.loop;
  }
}
