import pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { backoffDelay, sleep } from './backoff.js';
import { type ConnectionTracker, trackConnection } from './connection-metrics.js';

export interface PostgresOptions {
  url: string;
  log: Logger;
  /** Shown in pg_stat_activity, so that an operator sees which service holds a connection. */
  applicationName: string;
  max?: number;
  /** How often the connection is checked while idle, for readiness. */
  healthIntervalMs?: number;
  /** Where the connection's up/lost metrics go; `target` labels them (default postgres). */
  metrics?: Registry;
  target?: string;
}

/**
 * A pg pool with a health loop. The pool opens a fresh connection on demand, so it reconnects by
 * itself once the server is back; the loop only tracks whether it can (for /readyz), backing off
 * while the server is down.
 */
export class Postgres {
  readonly pool: pg.Pool;
  private healthy = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly tracker: ConnectionTracker;

  constructor(private readonly options: PostgresOptions) {
    this.tracker = trackConnection(options.metrics, options.target ?? 'postgres');
    this.pool = new pg.Pool({
      connectionString: options.url,
      application_name: options.applicationName,
      max: options.max ?? 10,
      connectionTimeoutMillis: 5_000,
    });
    // An idle client whose server went away emits here; without a listener the process would crash.
    this.pool.on('error', (error) => {
      this.markDown(error);
    });
  }

  get ready(): boolean {
    return this.healthy;
  }

  /** Checks the connection now and then keeps checking in the background. */
  async start(): Promise<void> {
    await this.check();
  }

  /** Records the outcome of a query made elsewhere, so readiness follows real traffic too. */
  markDown(error: unknown): void {
    if (this.healthy) this.options.log.warn({ err: error }, 'postgres connection lost');
    this.healthy = false;
    this.tracker.set(false);
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    try {
      await this.pool.query('select 1');
      if (!this.healthy) this.options.log.info({ afterFailures: this.failures }, 'postgres connected');
      this.healthy = true;
      this.tracker.set(true);
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      this.markDown(error);
      if (this.failures === 1) this.options.log.warn({ err: error }, 'postgres not reachable, retrying');
    }
    if (this.closed) return;
    const delay = this.healthy
      ? (this.options.healthIntervalMs ?? 2_000)
      : backoffDelay(this.failures, { maxMs: this.options.healthIntervalMs ?? 2_000 });
    this.timer = setTimeout(() => void this.check(), delay);
    this.timer.unref();
  }

  /**
   * Waits until every named table exists: a service started beside (or before) the migrations Job
   * waits for its tables instead of failing on each row it cannot write.
   */
  async waitForTables(tables: string[], signal?: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const missing = await this.pool
        .query<{ name: string }>('select name from unnest($1::text[]) as name where to_regclass(name) is null', [
          tables,
        ])
        .then((result) => result.rows.map((row) => row.name))
        .catch(() => tables);
      if (missing.length === 0) return;
      if (attempt === 1) this.options.log.warn({ missing }, 'waiting for migrations to create tables');
      await sleep(backoffDelay(attempt, { maxMs: 5_000 }), signal);
    }
  }

  /**
   * Runs `work` in one transaction on a pooled connection. A connection that fails on the way is
   * destroyed rather than returned to the pool, and is not asked to roll back (the server already did;
   * after a broken COPY its query queue would never move again). Errors a checked-out connection emits
   * while in use are caught here instead of crashing the process.
   */
  async transaction<R>(work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      if (broken || isTransientPgError(error)) {
        broken ??= error as Error;
        this.markDown(error);
      } else {
        await client.query('rollback').catch(() => {});
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.healthy = false;
    await this.pool.end();
  }
}

const transientCodes = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** Errors worth retrying with the same data: the server or the connection, not the data, failed. */
export function isTransientPgError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  // pg reports a lost connection without a code, by message.
  if (typeof code !== 'string') {
    return /Connection terminated|not queryable|timeout/i.test(String((error as Error).message));
  }
  // SQLSTATE class 08 is connection exceptions; Node's socket errors (ECONNREFUSED, EPIPE, ...) start
  // with E, which no SQLSTATE class does.
  return transientCodes.has(code) || code.startsWith('08') || code.startsWith('E');
}

/**
 * Errors caused by the rows themselves, which another try with the same rows fails again and a try
 * without them does not: a data exception (class 22: bad JSON, a number or time out of range), an
 * integrity constraint (23), a program limit such as the stack depth (54), an exception raised by a
 * trigger (P0), or an error thrown while the statement was built from the data. Anything else that is
 * not transient (a missing grant or table, a full disk) is the database's, not the data's.
 */
export function isDataPgError(error: unknown): boolean {
  if (isTransientPgError(error)) return false;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return true;
  return /^(22|23|54|P0)/.test(code);
}

/**
 * Runs `work` in one transaction on a connection of a plain pool: committed when it returns, rolled back
 * when it throws. (Services that keep a store's readiness use Postgres.transaction.)
 */
export async function inTransaction<R>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
