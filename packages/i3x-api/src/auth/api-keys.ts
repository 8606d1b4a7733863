/**
 * API keys (`plantmesh keys create NAME --scopes read,subscribe`): `pmk_` and 43 characters of base64url
 * (256 random bits). The store keeps the SHA-256 of the key's text only, so a key is checked by hashing
 * what the client sent and looking the hash up. Found keys are cached for `cacheMs`; every replica LISTENs
 * for the store's notification of a revoked or changed key and forgets it at once (and caches nothing
 * while it cannot listen), so a revoked key stops working everywhere without waiting for the cache. A key in
 * use is read again in the background in the last fifth of its time, so that it does not expire under load
 * and send every request in flight to the store together.
 */
import { createHash } from 'node:crypto';
import { backoffDelay, type Logger, sleep } from '@plantmesh/core';
import type pg from 'pg';
import { readAheadDue } from '../shared-reads.js';
import { isScope, type Principal } from './principal.js';

/** The shape of a key; anything else is refused without a look-up. */
export const apiKeyPattern = /^pmk_[A-Za-z0-9_-]{43}$/;

/** What the store keeps of a key: the SHA-256 of its UTF-8 text (packages/cli/src/keys.ts makes the same). */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

const channel = 'plantmesh_i3x_api_keys';

export interface ApiKeyStoreOptions {
  log: Logger;
  /** How long a found key is trusted without asking the store again (revocations arrive by notification). */
  cacheMs?: number;
  /** Most keys cached; beyond, the cache starts over. */
  maxCached?: number;
}

interface Cached {
  principal: Principal;
  until: number;
  /** When the last read ahead of expiry began (ms). */
  refreshAt: number;
}

export class ApiKeyStore {
  private readonly cache = new Map<string, Cached>();
  private listening = false;
  /** Counts the times the cache was emptied: a read begun before one is not cached (its key may be revoked). */
  private generation = 0;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly cacheMs: number;
  private readonly maxCached: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: ApiKeyStoreOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 10_000;
    this.maxCached = options.maxCached ?? 10_000;
  }

  /** The key's principal, or undefined for a key that is malformed, unknown or revoked. */
  async lookup(key: string): Promise<Principal | undefined> {
    if (!apiKeyPattern.test(key)) return undefined;
    const hash = hashApiKey(key);
    const cacheKey = hash.toString('base64');
    const cached = this.cache.get(cacheKey);
    const now = Date.now();
    if (cached && cached.until > now && this.listening) {
      if (readAheadDue(cached, this.cacheMs - (cached.until - now), this.cacheMs, now)) {
        this.read(hash, cacheKey).catch((error) =>
          this.options.log.warn({ err: error }, 'could not read an API key again; it is read when it expires'),
        );
      }
      return cached.principal;
    }
    this.cache.delete(cacheKey);
    return this.read(hash, cacheKey);
  }

  /** The key's principal from the store, cached unless the cache was emptied meanwhile. */
  private async read(hash: Buffer, cacheKey: string): Promise<Principal | undefined> {
    const generation = this.generation;
    const { rows } = await this.pool.query<{ id: string; name: string; scopes: string[]; used: boolean }>(
      `select id::text, name, scopes,
              coalesce(last_used_at > now() - interval '1 minute', false) as used
         from i3x.api_keys where key_hash = $1 and revoked_at is null`,
      [hash],
    );
    const row = rows[0];
    if (!row) {
      this.cache.delete(cacheKey);
      return undefined;
    }
    const principal: Principal = {
      kind: 'api-key',
      id: `key:${row.name}`,
      name: row.name,
      scopes: new Set(row.scopes.filter(isScope)),
    };
    if (!row.used) {
      // When it was last used, to the minute: what an operator looks at before revoking a key.
      this.pool
        .query('update i3x.api_keys set last_used_at = now() where id = $1', [row.id])
        .catch((error) => this.options.log.warn({ err: error }, 'could not note the use of an API key'));
    }
    if (this.listening && this.cacheMs > 0 && generation === this.generation) {
      if (this.cache.size >= this.maxCached) this.cache.clear();
      this.cache.set(cacheKey, { principal, until: Date.now() + this.cacheMs, refreshAt: 0 });
    }
    return principal;
  }

  /** Listens for revoked and changed keys, reconnecting with backoff, until close(). */
  start(): void {
    this.loop = this.listenLoop();
  }

  private async listenLoop(): Promise<void> {
    const { signal } = this.stopping;
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        const client = await this.pool.connect();
        const lost = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        client.on('notification', () => this.forgetAll());
        await client.query(`listen ${channel}`);
        // Whatever was revoked while nobody listened is forgotten too.
        this.forgetAll();
        this.listening = true;
        attempt = 0;
        await Promise.race([lost, stopped]);
        this.listening = false;
        this.forgetAll();
        client.removeAllListeners('notification');
        client.release(true);
      } catch (error) {
        this.listening = false;
        if (signal.aborted) return;
        this.options.log.warn({ err: error }, 'API keys: not listening for revocations; retrying');
      }
      await sleep(backoffDelay(attempt, { initialMs: 200, maxMs: 10_000 }), signal).catch(() => {});
    }
  }

  private forgetAll(): void {
    this.generation += 1;
    this.cache.clear();
  }

  async close(): Promise<void> {
    this.listening = false;
    this.stopping.abort();
    await this.loop;
  }
}
