/**
 * What the API keeps of hot entries, against a real PostgreSQL: requests in flight share one read of the same
 * objects, and objects and API keys in use are read again in the background before they expire, so that no
 * herd of requests goes to the store together (a cold start, an expiry under load); and a key read before its
 * revocation was heard is not cached.
 */
import { createLogger } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { type PostgresServer, waitFor } from '@plantmesh/testkit';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiKeyStore, ModelReader } from '../src/index.js';
import { SharedReads } from '../src/shared-reads.js';
import { insertKey } from './keys.js';
import { startModelStore, syncModel } from './model-store.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const paths = Array.from({ length: 20 }, (_, n) => `plant1/area/line/cell/tag${n}`);
const ids = paths.map(seriesObjectId);

interface Counted {
  pool: pg.Pool;
  /** Matching queries begun, and not ended yet. */
  reads: () => number;
  running: () => number;
  /** The next matching query runs at once, but its answer reaches its caller only at `release`. */
  holdNext: () => { ran: Promise<void>; release: () => void };
}

/** The pool, counting the queries whose text matches `pattern`, and holding back an answer when asked. */
function counting(pool: pg.Pool, pattern: RegExp): Counted {
  let reads = 0;
  let running = 0;
  let held: { ran: () => void; gate: Promise<void> } | undefined;
  const query = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
    let result = (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    if (!pattern.test(text ?? '')) return result;
    reads += 1;
    running += 1;
    const hold = held;
    held = undefined;
    if (hold) {
      result = result.then(async (answer) => {
        hold.ran();
        await hold.gate;
        return answer;
      });
    }
    const ended = () => {
      running -= 1;
    };
    result.then(ended, ended);
    return result;
  };
  const counted = new Proxy(pool, {
    get: (target, name) => {
      if (name === 'query') return query;
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const holdNext = () => {
    let ran = () => {};
    let release = () => {};
    const hasRun = new Promise<void>((resolve) => {
      ran = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    held = { ran, gate };
    return { ran: hasRun, release };
  };
  return { pool: counted, reads: () => reads, running: () => running, holdNext };
}

/** Until a look-up of the key is answered from the cache (the store caches once it listens for revocations). */
async function untilCached(apiKeys: ApiKeyStore, key: string, reads: () => number): Promise<void> {
  await waitFor('the key is cached', async () => {
    const before = reads();
    await apiKeys.lookup(key);
    return reads() === before;
  });
}

describe('shared reads', () => {
  it('a failed read fails the requests that joined it, and the next request reads again', async () => {
    const reads = new SharedReads<string, number>();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('the store is away');
    };
    const both = [reads.get(['a', 'b'], failing), reads.get(['b'], failing)];
    await expect(Promise.all(both)).rejects.toThrow('the store is away');
    expect(calls).toBe(1);
    const found = await reads.get(['a', 'b'], async (keys) => new Map(keys.map((key) => [key, key.length])));
    expect(found).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
      ]),
    );
  });
});

describe('hot reads against the store (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;

  beforeAll(async () => {
    ({ server, admin } = await startModelStore(6));
    await admin.query(`insert into metrics.series (path, unit) select unnest($1::text[]), 'CEL'`, [paths]);
    await syncModel(admin);
  });

  afterEach(() => vi.useRealTimers());

  afterAll(async () => {
    await admin?.end();
    await server?.destroy();
  });

  it('requests in flight share one read of the same objects; objects in use are read again before they expire', async () => {
    const { pool, reads, running } = counting(admin, /from curated\.model_objects o where o\.element_id = any/);
    const model = new ModelReader(pool, { maxObjects: 1_000 });
    // The clock stands still but where the test moves it: each read's time is known.
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => model.objects(ids)));
    expect(reads()).toBe(1);
    for (const answer of answers) expect([...answer.keys()]).toEqual(ids);
    expect((await model.objects(ids)).size).toBe(ids.length);
    expect(reads()).toBe(1);
    // In the last fifth of their two seconds: answered at once, and read again behind the answer, once.
    vi.setSystemTime(start + 1_700);
    expect((await model.objects(ids)).size).toBe(ids.length);
    expect((await model.objects(ids)).size).toBe(ids.length);
    expect(reads()).toBe(2);
    await waitFor('the read ahead ends', async () => running() === 0);
    // Past the first read's two seconds: what the read ahead brought, no request waiting for the store.
    vi.setSystemTime(start + 2_500);
    expect((await model.objects(ids)).size).toBe(ids.length);
    expect(reads()).toBe(2);
  });

  /** An API key store on a pool that counts its key look-ups; closed after `use`. */
  async function withKeyStore(cacheMs: number, use: (apiKeys: ApiKeyStore, counted: Counted) => Promise<void>) {
    const counted = counting(admin, /from i3x\.api_keys where key_hash/);
    const apiKeys = new ApiKeyStore(counted.pool, { log, cacheMs });
    apiKeys.start();
    try {
      await use(apiKeys, counted);
    } finally {
      await apiKeys.close();
    }
  }

  it('a key in use is read again before it expires, and a key revoked meanwhile is refused', async () => {
    await withKeyStore(10_000, async (apiKeys, { reads, running }) => {
      const key = await insertKey(admin, 'hot', ['read']);
      await untilCached(apiKeys, key, reads);
      vi.useFakeTimers({ toFake: ['Date'] });
      const start = Date.now();
      const before = reads();
      vi.setSystemTime(start + 8_500);
      expect(await apiKeys.lookup(key)).toMatchObject({ name: 'hot' });
      expect(await apiKeys.lookup(key)).toMatchObject({ name: 'hot' });
      expect(reads()).toBe(before + 1);
      await waitFor('the read ahead ends', async () => running() === 0);
      vi.setSystemTime(start + 11_000);
      expect(await apiKeys.lookup(key)).toMatchObject({ name: 'hot' });
      expect(reads()).toBe(before + 1);

      await admin.query(`update i3x.api_keys set revoked_at = now() where name = 'hot'`);
      await waitFor('the revocation is heard', async () => (await apiKeys.lookup(key)) === undefined);
    });
  });

  it('a key read before its revocation was heard is not cached', async () => {
    await withKeyStore(60_000, async (apiKeys, { reads, holdNext }) => {
      const doomed = await insertKey(admin, 'doomed', ['read']);
      const witness = await insertKey(admin, 'witness', ['read']);
      await untilCached(apiKeys, witness, reads);
      // The doomed key is read (and found valid), but its answer is held back until the revocation is heard.
      const held = holdNext();
      const reading = apiKeys.lookup(doomed);
      await held.ran;
      await admin.query(`update i3x.api_keys set revoked_at = now() where name = 'doomed'`);
      await waitFor('the revocation is heard (the witness is read again)', async () => {
        const before = reads();
        await apiKeys.lookup(witness);
        return reads() > before;
      });
      held.release();
      expect(await reading).toMatchObject({ name: 'doomed' });
      expect(await apiKeys.lookup(doomed)).toBeUndefined();
    });
  });
});
