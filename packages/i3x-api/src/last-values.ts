/**
 * Last known values of series held in memory (ADR 0023): read from metrics.latest once, answered from memory
 * until the live stream says the series has a newer sample, or at most `maxAgeMs` after the read.
 *
 * An entry is only ever filled from the store; a live message only removes it. It is filled only if the read
 * began after the series' live-stream binding was confirmed and after the series' last removal: a commit the
 * read did not see is announced after the read began, and removes what the read brings (a logical clock
 * orders the three). A lost message (the writer killed between its commit and its publish, a dropped
 * connection, an overflowing queue) leaves a value at most `maxAgeMs` old; a lost connection empties the
 * whole cache.
 *
 * A value asked for in the last fifth of its age is read again in the background, once, while memory still
 * answers: a hot value never expires under load, so requests do not all go to the store together at its
 * expiry (one read instead of one per request in flight). For the same reason requests share the reads of
 * held series in flight, as long as no live message or write for the series came after the read began.
 */
import { Counter, type Registry } from 'prom-client';
import { type ReadKeys, readAheadDue, SharedReads } from './shared-reads.js';
import type { Vqt } from './values.js';

export interface CachedSeries {
  seriesId: number;
  path: string;
}

export interface LastValuesOptions {
  /** How long a value read from the store is answered without reading it again. */
  maxAgeMs: number;
  /** Most series held; beyond, series are read from the store each time until idle ones leave. */
  capacity: number;
  /** A series not asked for in this long leaves (and its binding goes). */
  idleMs?: number;
  /** Called when series are added or removed: the live feed brings its bindings up to date. */
  onPathsChanged: () => void;
  /** Where `plantmesh_i3x_last_values_total{source}` goes. */
  registry?: Registry;
}

interface Held {
  seriesId: number;
  /** Clock when the binding bringing its messages was confirmed; undefined while it is not. */
  boundAt: number | undefined;
  /** Clock of the last live message that removed its value. */
  removedAt: number;
  value: Vqt | undefined;
  /** When the read that brought the value began (ms). */
  readAt: number;
  /** When the last read ahead of expiry began (ms). */
  refreshAt: number;
  usedAt: number;
}

/**
 * What a read of the store must bring back: the series not answered from memory, and when the read began;
 * and the series answered from memory but near their age limit, to be read again in the background (and
 * filled like misses).
 */
export interface Misses {
  series: CachedSeries[];
  due: CachedSeries[];
  clock: number;
  at: number;
}

export class LastValues {
  private readonly held = new Map<string, Held>();
  private readonly reads = new SharedReads<number, Vqt>();
  private clock = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly answered: { memory: (n: number) => void; store: (n: number) => void };

  constructor(private readonly options: LastValuesOptions) {
    const counter = new Counter({
      name: 'plantmesh_i3x_last_values_total',
      help: 'Last values of series asked for: answered from memory, or read from the store',
      labelNames: ['source'],
      registers: options.registry ? [options.registry] : [],
    });
    const memory = counter.labels('memory');
    const store = counter.labels('store');
    this.answered = { memory: (n) => memory.inc(n), store: (n) => store.inc(n) };
    const idleMs = options.idleMs ?? 300_000;
    this.sweeper = setInterval(() => this.sweep(idleMs), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * The last values of these series: those held, and the others from `read` (the store), held from then on.
   * A held series being read already waits for that read, unless a live message or a write came since it
   * began (a few milliseconds at most, as the live stream's own delay); one near its age limit is also read
   * again in the background.
   */
  async values(series: readonly CachedSeries[], read: ReadKeys<number, Vqt>): Promise<Map<number, Vqt>> {
    const found = new Map<number, Vqt>();
    const misses = this.lookup(series, found);
    const filling =
      (part: CachedSeries[]): ReadKeys<number, Vqt> =>
      async (seriesIds) => {
        const values = await read(seriesIds);
        this.fill({ ...misses, series: part }, values);
        return values;
      };
    if (misses.due.length > 0) {
      // No request waits for it; should it fail, the values expire and a request reads them (and fails).
      const ids = misses.due.map((one) => one.seriesId);
      this.reads.start(ids, filling(misses.due)).catch(() => {});
    }
    if (misses.series.length === 0) return found;
    // A held series' read may be shared: a write through this replica forgets it (remove). Others are read alone.
    const held: CachedSeries[] = [];
    const alone: CachedSeries[] = [];
    for (const one of misses.series) (this.held.get(one.path)?.seriesId === one.seriesId ? held : alone).push(one);
    const [shared, own] = await Promise.all([
      held.length > 0
        ? this.reads.get(
            held.map((one) => one.seriesId),
            filling(held),
          )
        : undefined,
      alone.length > 0 ? filling(alone)(alone.map((one) => one.seriesId)) : undefined,
    ]);
    for (const values of [shared, own]) for (const [seriesId, vqt] of values ?? []) found.set(seriesId, vqt);
    return found;
  }

  /** The values held of these series; the others are returned to be read, and start to be held. */
  lookup(series: readonly CachedSeries[], hits: Map<number, Vqt>): Misses {
    const now = Date.now();
    const misses: CachedSeries[] = [];
    const due: CachedSeries[] = [];
    const { maxAgeMs } = this.options;
    let added = false;
    for (const one of series) {
      let held = this.held.get(one.path);
      if (!held && this.held.size < this.options.capacity) {
        held = {
          seriesId: one.seriesId,
          boundAt: undefined,
          removedAt: 0,
          value: undefined,
          readAt: 0,
          refreshAt: 0,
          usedAt: now,
        };
        this.held.set(one.path, held);
        added = true;
      }
      if (held) {
        held.usedAt = now;
        // The path names another series now (it was removed and made again): what was held is not its value.
        if (held.seriesId !== one.seriesId) {
          held.seriesId = one.seriesId;
          held.value = undefined;
        }
      }
      if (held?.value && now - held.readAt < maxAgeMs) {
        hits.set(one.seriesId, held.value);
        if (readAheadDue(held, now - held.readAt, maxAgeMs, now)) due.push(one);
      } else {
        misses.push(one);
      }
    }
    if (added) this.options.onPathsChanged();
    if (series.length > misses.length) this.answered.memory(series.length - misses.length);
    if (misses.length > 0) this.answered.store(misses.length);
    return { series: misses, due, clock: this.clock, at: now };
  }

  /** Holds what a read begun at `misses` brought, where no binding or live message came after it began. */
  fill(misses: Misses, values: ReadonlyMap<number, Vqt>): void {
    for (const one of misses.series) {
      const held = this.held.get(one.path);
      const value = values.get(one.seriesId);
      if (!held || !value || held.seriesId !== one.seriesId) continue;
      if (held.boundAt === undefined || held.boundAt > misses.clock || held.removedAt > misses.clock) continue;
      held.value = value;
      held.readAt = misses.at;
    }
  }

  /** New samples of these series were committed (a live message, or a write through this replica). */
  remove(paths: Iterable<string>): void {
    for (const path of paths) {
      const held = this.held.get(path);
      if (!held) continue;
      this.clock += 1;
      held.removedAt = this.clock;
      held.value = undefined;
      this.reads.forget(held.seriesId);
    }
  }

  /** The series held: the live feed binds their parent paths. */
  paths(): string[] {
    return [...this.held.keys()];
  }

  /** The live feed's bindings now bring the messages of these series. */
  bound(paths: Iterable<string>): void {
    for (const path of paths) {
      const held = this.held.get(path);
      if (!held || held.boundAt !== undefined) continue;
      this.clock += 1;
      held.boundAt = this.clock;
    }
  }

  /** The live feed lost its queue: nothing held can be trusted, and every binding must be made again. */
  unbound(): void {
    this.reads.forgetAll();
    for (const held of this.held.values()) {
      held.boundAt = undefined;
      held.value = undefined;
    }
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweep(idleMs: number): void {
    const before = Date.now() - idleMs;
    let removed = false;
    for (const [path, held] of this.held) {
      if (held.usedAt >= before) continue;
      this.held.delete(path);
      removed = true;
    }
    if (removed) this.options.onPathsChanged();
  }
}
