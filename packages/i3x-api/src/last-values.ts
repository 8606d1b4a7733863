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
 */
import { Counter, type Registry } from 'prom-client';
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
  usedAt: number;
}

/** What a read of the store must bring back: the series not answered from memory, and when the read began. */
export interface Misses {
  series: CachedSeries[];
  clock: number;
  at: number;
}

export class LastValues {
  private readonly held = new Map<string, Held>();
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

  /** The values held of these series; the others are returned to be read, and start to be held. */
  lookup(series: readonly CachedSeries[], hits: Map<number, Vqt>): Misses {
    const now = Date.now();
    const misses: CachedSeries[] = [];
    let added = false;
    for (const one of series) {
      let held = this.held.get(one.path);
      if (!held && this.held.size < this.options.capacity) {
        held = { seriesId: one.seriesId, boundAt: undefined, removedAt: 0, value: undefined, readAt: 0, usedAt: now };
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
      if (held?.value && now - held.readAt < this.options.maxAgeMs) {
        hits.set(one.seriesId, held.value);
      } else {
        misses.push(one);
      }
    }
    if (added) this.options.onPathsChanged();
    if (series.length > misses.length) this.answered.memory(series.length - misses.length);
    if (misses.length > 0) this.answered.store(misses.length);
    return { series: misses, clock: this.clock, at: now };
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
