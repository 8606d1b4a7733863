/**
 * Store reads by key that concurrent requests share: a request asking for a key already being read waits for
 * that read instead of starting another. Without it, every request in flight when a hot entry is missing (a
 * cold start, a value just taken away) reads it again, and the store and the event loop take the whole herd.
 */
/**
 * Whether a cached entry, `age` into its `lifeMs`, is to be read again now, ahead of its expiry, and marks it
 * so: in the last fifth of its life, one read at a time (one that failed or brought nothing is asked again
 * after a whole life). A hot entry is then never missing under load, and its requests do not all go to the
 * store together when it expires.
 */
export function readAheadDue(entry: { refreshAt: number }, age: number, lifeMs: number, now: number): boolean {
  if (age < 0.8 * lifeMs || now - entry.refreshAt < lifeMs) return false;
  entry.refreshAt = now;
  return true;
}

export type ReadKeys<K, V> = (keys: K[]) => Promise<ReadonlyMap<K, V>>;

export class SharedReads<K, V> {
  private readonly inFlight = new Map<K, Promise<ReadonlyMap<K, V>>>();

  /** The values of these keys (a key the store has not is absent): joined reads in flight, `read` the rest. */
  async get(keys: readonly K[], read: ReadKeys<K, V>): Promise<Map<K, V>> {
    const waits = new Set<Promise<ReadonlyMap<K, V>>>();
    const unread: K[] = [];
    for (const key of keys) {
      const reading = this.inFlight.get(key);
      if (reading) waits.add(reading);
      else unread.push(key);
    }
    if (unread.length > 0) waits.add(this.start(unread, read));
    const found = new Map<K, V>();
    for (const values of await Promise.all(waits)) {
      for (const key of keys) {
        const value = values.get(key);
        if (value !== undefined) found.set(key, value);
      }
    }
    return found;
  }

  /** Reads these keys now, whether or not they are being read; requests that come meanwhile join this read. */
  start(keys: K[], read: ReadKeys<K, V>): Promise<ReadonlyMap<K, V>> {
    const reading = read(keys);
    for (const key of keys) this.inFlight.set(key, reading);
    const done = () => {
      for (const key of keys) if (this.inFlight.get(key) === reading) this.inFlight.delete(key);
    };
    reading.then(done, done);
    return reading;
  }

  /** The key's read in flight may predate a change: requests that come from now on read it again. */
  forget(key: K): void {
    this.inFlight.delete(key);
  }

  forgetAll(): void {
    this.inFlight.clear();
  }
}
