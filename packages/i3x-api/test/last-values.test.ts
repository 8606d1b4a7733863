/**
 * The rules of the last values held in memory (ADR 0023), on their own: a value is held only from a read that
 * began after the series was bound and after its last live message; a live message, a lost live stream and
 * age each take it away; capacity bounds what is held.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LastValues } from '../src/last-values.js';
import type { Vqt } from '../src/values.js';

const speed = { seriesId: 1, path: 'plant1/line1/cell1/speed' };
const torque = { seriesId: 2, path: 'plant1/line1/cell1/torque' };
const vqt = (value: number): Vqt => ({ value, quality: 'Good', timestamp: '2026-12-01T00:00:00Z' });

function cache(options: { maxAgeMs?: number; capacity?: number } = {}) {
  const registry = new Registry();
  const changed = vi.fn();
  const lastValues = new LastValues({
    maxAgeMs: options.maxAgeMs ?? 60_000,
    capacity: options.capacity ?? 100,
    onPathsChanged: changed,
    registry,
  });
  /** One request: what memory answers, then the store's values for the rest (as ValueReader does). */
  const read = (series: Array<typeof speed>, store: Map<number, Vqt>) => {
    const found = new Map<number, Vqt>();
    const misses = lastValues.lookup(series, found);
    for (const one of misses.series) {
      const value = store.get(one.seriesId);
      if (value) found.set(one.seriesId, value);
    }
    lastValues.fill(misses, found);
    return { found, fromStore: misses.series.map((one) => one.seriesId) };
  };
  const counted = async () => (await registry.getSingleMetric('plantmesh_i3x_last_values_total')?.get())?.values;
  return { lastValues, changed, read, counted };
}

describe('last values held in memory', () => {
  afterEach(() => vi.useRealTimers());

  it('holds nothing until the live stream binds the series, then answers from memory', async () => {
    const { lastValues, changed, read, counted } = cache();
    const store = new Map([[1, vqt(10)]]);
    expect(read([speed], store).fromStore).toEqual([1]);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(lastValues.paths()).toEqual([speed.path]);
    // Not bound yet: a commit now would not be announced, so the read is not kept.
    expect(read([speed], store).fromStore).toEqual([1]);
    lastValues.bound([speed.path]);
    expect(read([speed], store).fromStore).toEqual([1]);
    store.set(1, vqt(11));
    const answer = read([speed], store);
    expect(answer.fromStore).toEqual([]);
    expect(answer.found.get(1)).toEqual(vqt(10));
    expect(await counted()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { source: 'memory' }, value: 1 }),
        expect.objectContaining({ labels: { source: 'store' }, value: 3 }),
      ]),
    );
  });

  it('a live message takes the value away, and a read begun before it is not kept', () => {
    const { lastValues, read } = cache();
    const store = new Map([
      [1, vqt(10)],
      [2, vqt(20)],
    ]);
    read([speed, torque], store);
    lastValues.bound([speed.path, torque.path]);
    read([speed, torque], store);
    expect(read([speed, torque], store).fromStore).toEqual([]);
    lastValues.remove([speed.path]);
    expect(read([speed, torque], store).fromStore).toEqual([1]);

    // A read that began, then a live message for its series, then the read's answer: that answer may predate
    // the commit the message announces, so it is not held.
    lastValues.remove([speed.path]);
    const found = new Map<number, Vqt>();
    const misses = lastValues.lookup([speed], found);
    lastValues.remove([speed.path]);
    lastValues.fill(misses, new Map([[1, vqt(10)]]));
    expect(read([speed], new Map([[1, vqt(12)]])).found.get(1)).toEqual(vqt(12));
    expect(read([speed], store).found.get(1)).toEqual(vqt(12));
  });

  it('a path that names another series now is read again, and then held for it', () => {
    const { lastValues, read } = cache();
    read([speed], new Map([[1, vqt(10)]]));
    lastValues.bound([speed.path]);
    read([speed], new Map([[1, vqt(10)]]));
    const remade = { seriesId: 7, path: speed.path };
    expect(read([remade], new Map([[7, vqt(70)]])).fromStore).toEqual([7]);
    const answer = read([remade], new Map());
    expect(answer.fromStore).toEqual([]);
    expect(answer.found.get(7)).toEqual(vqt(70));
  });

  it('a read begun before the binding was confirmed is not kept', () => {
    const { lastValues, read } = cache();
    const found = new Map<number, Vqt>();
    const misses = lastValues.lookup([speed], found);
    lastValues.bound([speed.path]);
    lastValues.fill(misses, new Map([[1, vqt(10)]]));
    expect(read([speed], new Map([[1, vqt(11)]])).fromStore).toEqual([1]);
  });

  it('a lost live stream takes every value away until the series are bound again', () => {
    const { lastValues, read } = cache();
    const store = new Map([[1, vqt(10)]]);
    read([speed], store);
    lastValues.bound([speed.path]);
    read([speed], store);
    lastValues.unbound();
    expect(read([speed], store).fromStore).toEqual([1]);
    expect(read([speed], store).fromStore).toEqual([1]);
    lastValues.bound([speed.path]);
    read([speed], store);
    expect(read([speed], store).fromStore).toEqual([]);
  });

  it('a value is read again once it is maxAgeMs old (a live message lost on the way)', () => {
    vi.useFakeTimers();
    const { lastValues, read } = cache({ maxAgeMs: 1_000 });
    lastValues.lookup([speed], new Map());
    lastValues.bound([speed.path]);
    read([speed], new Map([[1, vqt(10)]]));
    vi.advanceTimersByTime(999);
    expect(read([speed], new Map([[1, vqt(11)]])).found.get(1)).toEqual(vqt(10));
    vi.advanceTimersByTime(1);
    expect(read([speed], new Map([[1, vqt(11)]])).found.get(1)).toEqual(vqt(11));
  });

  it('holds at most `capacity` series; series not asked for go, and their bindings with them', () => {
    vi.useFakeTimers();
    const { lastValues, changed, read } = cache({ capacity: 1 });
    read([speed, torque], new Map());
    expect(lastValues.paths()).toEqual([speed.path]);
    lastValues.bound([speed.path, torque.path]);
    read([speed, torque], new Map([[2, vqt(20)]]));
    expect(read([torque], new Map([[2, vqt(21)]])).found.get(2)).toEqual(vqt(21));
    changed.mockClear();
    vi.advanceTimersByTime(300_000 + 60_000);
    expect(lastValues.paths()).toEqual([]);
    expect(changed).toHaveBeenCalledTimes(1);
    lastValues.stop();
  });

  it('requests share a read of a held series in flight, but not one a live message came after', async () => {
    const { lastValues } = cache();
    lastValues.lookup([speed], new Map());
    lastValues.bound([speed.path]);
    const answers: Array<(values: Map<number, Vqt>) => void> = [];
    let reads = 0;
    const read = () => {
      reads += 1;
      return new Promise<Map<number, Vqt>>((resolve) => answers.push(resolve));
    };
    const first = lastValues.values([speed], read);
    const second = lastValues.values([speed], read);
    expect(reads).toBe(1);
    answers[0]?.(new Map([[1, vqt(10)]]));
    expect((await first).get(1)).toEqual(vqt(10));
    expect((await second).get(1)).toEqual(vqt(10));
    expect((await lastValues.values([speed], read)).get(1)).toEqual(vqt(10));
    expect(reads).toBe(1);

    // A commit announced while a read runs: a request after it reads again, and only its value is held.
    lastValues.remove([speed.path]);
    const third = lastValues.values([speed], read);
    lastValues.remove([speed.path]);
    const fourth = lastValues.values([speed], read);
    expect(reads).toBe(3);
    answers[1]?.(new Map([[1, vqt(11)]]));
    answers[2]?.(new Map([[1, vqt(12)]]));
    expect((await third).get(1)).toEqual(vqt(11));
    expect((await fourth).get(1)).toEqual(vqt(12));
    expect((await lastValues.values([speed], read)).get(1)).toEqual(vqt(12));
    expect(reads).toBe(3);
  });

  it('a value asked for near its age limit is read again in the background, once, and does not expire', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { lastValues } = cache({ maxAgeMs: 1_000 });
    lastValues.lookup([speed], new Map());
    lastValues.bound([speed.path]);
    let stored = 10;
    let reads = 0;
    const read = async () => {
      reads += 1;
      return new Map([[1, vqt(stored)]]);
    };
    const start = Date.now();
    await lastValues.values([speed], read);
    vi.setSystemTime(start + 799);
    expect((await lastValues.values([speed], read)).get(1)).toEqual(vqt(10));
    expect(reads).toBe(1);
    stored = 11;
    vi.setSystemTime(start + 800);
    // Answered from memory at once; the read ahead goes on behind it, and one at a time.
    expect((await lastValues.values([speed], read)).get(1)).toEqual(vqt(10));
    await lastValues.values([speed], read);
    expect(reads).toBe(2);
    await new Promise(setImmediate);
    // Past the first read's age limit: the read ahead's value, with no request waiting for the store.
    vi.setSystemTime(start + 1_500);
    expect((await lastValues.values([speed], read)).get(1)).toEqual(vqt(11));
    expect(reads).toBe(2);
    // Not asked for in its last fifth: it expires, and the next request reads it.
    vi.setSystemTime(start + 2_900);
    await lastValues.values([speed], read);
    expect(reads).toBe(3);
  });
});
