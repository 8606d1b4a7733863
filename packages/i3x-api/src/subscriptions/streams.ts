/**
 * SSE streams of subscriptions (POST /subscriptions/stream), served from memory (ADR 0022). One stream per
 * subscription across all replicas: opening one stores its token and notifies every replica, and the one
 * holding the older stream ends it (an ordinary end, no error). While a replica holds a subscription's stream,
 * no replica stages for it: this replica's feed hands it the live samples (`deliver`), and it writes them to
 * the stream as they come, each after the subscription's in-memory marks (so once). A client that reads
 * slower than updates come spills into the store's queue, which the stream drains before it goes back to
 * memory: a slow reader holds its socket's buffer and the store's bounded queue, not the server's memory.
 * The marks of what was written are saved every few seconds and when the stream ends; then what came after them
 * is read back from metrics.samples for /sync, so a stream's end, a replica's crash or a handover to another
 * replica loses nothing (an update may come twice across a handover). Keepalive comments every
 * `keepaliveMs` also keep the subscription alive (TTL) and find a stream that another replica took over
 * without telling.
 */
import type { ServerResponse } from 'node:http';
import { appendTo, backoffDelay, type Logger, sleep } from '@plantmesh/core';
import type { LiveSamples } from '@plantmesh/live-stream';
import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { channels, type SubscriptionStore, type Update, updatesFor, type WatchRow } from './store.js';

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
  /** Its watched series by path, with the marks of what it was given. */
  watched: Map<string, WatchRow[]>;
  /** The newest timestamp written to the client, per watched row: what is saved as the marks. */
  sent: Map<WatchRow, number>;
  /** The marks as last saved: only those that moved since are saved again. */
  saved: Map<WatchRow, number>;
  /** Updates waiting in memory for the client (at most `memoryMax`). */
  pending: Update[];
  /** True while updates go to (and come from) the store's queue: at the start and after an overflow. */
  spilling: boolean;
  /** Updates on their way into the store's queue, and the write running (until the queue has them all). */
  spill: Update[];
  spillWriting: Promise<void> | undefined;
  /** Counts finished spill writes: a drain that found the queue empty may switch back only if none ended meanwhile. */
  spillWrites: number;
  pumping: boolean;
  again: boolean;
  closed: boolean;
  /** Once ended: its marks saved (and, if it still held the subscription, the subscription freed). */
  released?: Promise<void>;
  keepalive: NodeJS.Timeout;
}

export interface StreamHubOptions {
  store: SubscriptionStore;
  /** The i3x store, for LISTEN. */
  pool: pg.Pool;
  log: Logger;
  /** Called when the set of watched series may have changed (the live feed rebinds). */
  onWatchChanged?: () => void;
  /** Puts values written through this replica on the live stream, for the other replicas and live readers. */
  publish?: (messages: readonly LiveSamples[]) => void;
  /** Updates per SSE event. */
  chunk?: number;
  /** Updates a stream holds in memory before it spills into the store's queue. */
  memoryMax?: number;
  /** How often the marks of open streams are saved (what a handover may send twice). */
  marksMs?: number;
  /** Where `plantmesh_i3x_streams_open` goes. */
  registry?: Registry;
}

export class StreamHub {
  private readonly streams = new Map<string, LocalStream>();
  /** Ends of streams being recorded (stop waits for them). */
  private readonly releasing = new Set<Promise<void>>();
  /** The local streams watching each path. */
  private readonly watchers = new Map<string, Set<LocalStream>>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private marksTimer: NodeJS.Timeout | undefined;
  private readonly chunk: number;
  private readonly memoryMax: number;

  constructor(private readonly options: StreamHubOptions) {
    this.chunk = options.chunk ?? 500;
    this.memoryMax = options.memoryMax ?? 4 * this.chunk;
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

  /** The most updates any stream holds in memory (bounded by `memoryMax`, plus one delivery on its way to the store). */
  get held(): number {
    return Math.max(0, ...[...this.streams.values()].map((stream) => stream.pending.length + stream.spill.length));
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
    this.marksTimer = setInterval(() => void this.saveMarks([...this.streams.values()]), this.options.marksMs ?? 5_000);
    this.marksTimer.unref();
  }

  /**
   * Samples committed to the stores (from the live stream, a catch-up, or a write through this replica): to
   * the streams held here from memory, and staged for the subscriptions without a stream.
   */
  async deliver(messages: readonly LiveSamples[]): Promise<void> {
    const local = new Map<LocalStream, Map<string, LiveSamples['samples']>>();
    for (const message of messages) {
      for (const stream of this.watchers.get(message.path) ?? []) {
        const byPath = local.get(stream) ?? new Map<string, LiveSamples['samples']>();
        appendTo(byPath, message.path, message.samples);
        local.set(stream, byPath);
      }
    }
    for (const [stream, byPath] of local) {
      const rows = [...byPath.keys()].flatMap((path) => stream.watched.get(path) ?? []);
      this.push(
        stream,
        updatesFor(rows, (path) => byPath.get(path) ?? []),
      );
    }
    await this.options.store.stage(messages);
    // Back-pressure: the feed waits while a stream's overflow goes into the store slower than it comes.
    await Promise.all(
      [...local.keys()].filter((stream) => stream.spill.length > this.memoryMax).map((stream) => stream.spillWriting),
    );
  }

  /** Values written through this replica: delivered here at once, and published for everyone else. */
  async written(messages: readonly LiveSamples[]): Promise<void> {
    await this.deliver(messages);
    this.options.publish?.(messages);
  }

  /** What the live stream did not bring (see SubscriptionStore.catchUp), delivered. */
  catchUp(paths?: ReadonlySet<string>): Promise<number> {
    return this.options.store.catchUp((messages) => this.deliver(messages), paths);
  }

  watchedPaths(): Promise<Set<string>> {
    return this.options.store.watchedPaths();
  }

  private push(stream: LocalStream, updates: Update[]): void {
    if (updates.length === 0 || stream.closed) return;
    if (stream.spilling || stream.pending.length + updates.length > this.memoryMax) {
      stream.spilling = true;
      stream.spill.push(...stream.pending.splice(0), ...updates);
      this.writeSpill(stream);
    } else {
      stream.pending.push(...updates);
    }
    void this.pump(stream);
  }

  private writeSpill(stream: LocalStream): void {
    if (stream.spillWriting) return;
    // Cleared once settled (never before it is stored: the callback runs after this assignment).
    const running: Promise<void> = this.spillAll(stream).finally(() => {
      if (stream.spillWriting === running) stream.spillWriting = undefined;
      stream.spillWrites += 1;
      void this.pump(stream);
    });
    stream.spillWriting = running;
  }

  /** Writes the overflow into the store's queue until none is left (never rejects). */
  private async spillAll(stream: LocalStream): Promise<void> {
    for (let attempt = 1; stream.spill.length > 0 && !stream.closed; ) {
      const batch = stream.spill.splice(0);
      try {
        if (!(await this.options.store.spill(stream.subscriptionId, stream.token, batch))) {
          // Another stream holds the subscription now: its marks stay before these, so they are read back.
          stream.spill.splice(0);
          return;
        }
        this.wrote(stream, batch);
        attempt = 1;
      } catch (error) {
        // Kept in order and tried again; if the stream ends first, the marks stay before them and they are
        // read back for /sync.
        stream.spill.unshift(...batch);
        this.options.log.warn(
          { err: error, subscription: stream.subscriptionId },
          'stream overflow not queued; retried',
        );
        await sleep(backoffDelay(attempt++, { initialMs: 200, maxMs: 5_000 }));
      }
    }
  }

  /** These updates reached the client (or the store's queue): the marks to save move past them. */
  private wrote(stream: LocalStream, updates: readonly Update[]): void {
    for (const { ts, rows } of updates) {
      for (const row of rows) stream.sent.set(row, Math.max(stream.sent.get(row) ?? -Infinity, ts));
    }
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
        // What changed while nobody listened.
        for (const stream of this.streams.values()) void this.refresh(stream);
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
    if (channel === channels.streams) {
      const [subscriptionId = '', token] = payload.split(' ');
      const stream = this.streams.get(subscriptionId);
      if (stream && stream.token !== token) this.end(stream, false);
    } else if (channel === channels.watch) {
      const stream = this.streams.get(payload);
      if (stream) void this.refresh(stream);
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
      watched: new Map(),
      sent: new Map(),
      saved: new Map(),
      pending: [],
      // What was queued before the stream opened goes first.
      spilling: true,
      spill: [],
      spillWriting: undefined,
      spillWrites: 0,
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
    // After the stream it replaces here saved its marks: the new one starts where that one stopped.
    void (before?.released ?? Promise.resolve()).then(() => this.refresh(stream));
  }

  /**
   * (Re)reads what the stream watches, keeping the marks it holds, then reads back what its new series
   * committed before it watched them (between the stream's opening, or their registration, and now).
   */
  private async refresh(stream: LocalStream): Promise<void> {
    try {
      const rows = await this.options.store.watching(stream.subscriptionId);
      if (stream.closed) return;
      const key = (row: WatchRow) => `${row.item_id}\u0000${row.element_id}`;
      const held = new Map([...stream.watched.values()].flat().map((row) => [key(row), row]));
      const added = new Set<string>();
      const watched = new Map<string, WatchRow[]>();
      for (const fresh of rows) {
        const row = held.get(key(fresh)) ?? fresh;
        if (row === fresh) added.add(fresh.path);
        else row.last_ms = Math.max(row.last_ms, fresh.last_ms);
        appendTo(watched, row.path, [row]);
      }
      this.unindex(stream);
      stream.watched = watched;
      for (const path of watched.keys()) {
        const set = this.watchers.get(path) ?? new Set();
        set.add(stream);
        this.watchers.set(path, set);
      }
      const kept = new Set([...watched.values()].flat());
      for (const row of stream.sent.keys()) if (!kept.has(row)) stream.sent.delete(row);
      for (const row of stream.saved.keys()) if (!kept.has(row)) stream.saved.delete(row);
      if (added.size > 0) await this.catchUp(added);
    } catch (error) {
      this.options.log.warn(
        { err: error, subscription: stream.subscriptionId },
        'stream could not read what it watches',
      );
    }
  }

  private unindex(stream: LocalStream): void {
    for (const path of stream.watched.keys()) {
      const set = this.watchers.get(path);
      set?.delete(stream);
      if (set?.size === 0) this.watchers.delete(path);
    }
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

  /** Writes what waits (the store's queue first while spilling), a chunk at a time, as fast as the client reads. */
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
          let updates: Array<Update['update']>;
          if (stream.spilling) {
            const writes = stream.spillWrites;
            updates = await this.options.store.takeStaged(stream.subscriptionId, stream.token, this.chunk);
            if (updates.length === 0) {
              // Back to memory only when nothing is on its way into the queue.
              if (stream.spill.length > 0 || stream.spillWriting || writes !== stream.spillWrites) break;
              stream.spilling = false;
              continue;
            }
          } else {
            const taken = stream.pending.splice(0, this.chunk);
            if (taken.length === 0) break;
            this.wrote(stream, taken);
            updates = taken.map((entry) => entry.update);
          }
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

  /** The stream's marks that moved since they were last saved (all of them with `all`). */
  private marksOf(stream: LocalStream, all = false): Array<[WatchRow, number]> {
    return [...stream.sent].filter(([row, last]) => all || stream.saved.get(row) !== last);
  }

  private async saveMarks(streams: readonly LocalStream[]): Promise<void> {
    const moved = streams.flatMap((stream) => this.marksOf(stream).map((mark) => ({ stream, mark })));
    if (moved.length === 0) return;
    try {
      await this.options.store.saveMarks(moved.map(({ mark: [row, last_ms] }) => ({ ...row, last_ms })));
      for (const { stream, mark } of moved) stream.saved.set(...mark);
    } catch (error) {
      this.options.log.warn({ err: error }, 'stream marks not saved; saved again later');
    }
  }

  /** Ends a stream: by the client (closed), or because another took its place or the server stops. */
  private end(stream: LocalStream, byClient: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    clearInterval(stream.keepalive);
    if (this.streams.get(stream.subscriptionId) === stream) this.streams.delete(stream.subscriptionId);
    this.unindex(stream);
    if (!byClient) stream.response.end();
    // Free the subscription for /sync (unless another stream holds it now), with what was not written queued.
    const released = this.release(stream).finally(() => this.releasing.delete(released));
    this.releasing.add(released);
    stream.released = released;
  }

  private async release(stream: LocalStream): Promise<void> {
    await stream.spillWriting;
    await this.options.store
      .releaseStream(
        stream.subscriptionId,
        stream.token,
        this.marksOf(stream, true).map(([row, last_ms]) => ({ ...row, last_ms })),
      )
      .catch((error) => this.options.log.warn({ err: error }, 'stream close not recorded'));
  }

  /** Ends every stream (before the server closes: they would hold it open). */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) this.end(stream, false);
  }

  async stop(): Promise<void> {
    this.closeAll();
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.marksTimer) clearInterval(this.marksTimer);
    this.stopping.abort();
    await this.loop;
    await Promise.all(this.releasing);
  }
}
