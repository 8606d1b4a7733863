import { type Postgres, writeQuarantine } from '@plantmesh/core';
import type pg from 'pg';
import { commitFrontier, tryTransactionLock } from './commit-order.js';
import type { CuratedDefinition } from './definition.js';
import { CuratedProduct, type RawEvent, type Refined, rawEventColumns } from './product.js';

/** What one batch of a definition did. */
export interface BatchResult {
  /** Another worker holds this definition now: nothing was done. */
  busy: boolean;
  events: number;
  rows: number;
  quarantined: number;
  /** The batch was full: more events are waiting. */
  more: boolean;
  /** Seconds from the last event taken to now when more are waiting, else 0. */
  lagSeconds: number;
  /** The watermark before and after, as txid:seq (for the debug log). */
  from?: string;
  to?: string;
}

/** The stores the curated ETL works on: they may be one database or two. */
export interface CuratedStores {
  raw: Postgres;
  curated: Postgres;
}

/** A definition's applied version and its watermark, or undefined for a product not (or no longer) registered. */
async function watermark(
  client: pg.ClientBase,
  name: string,
): Promise<{ version: string; txid: string; seq: string } | undefined> {
  const { rows } = await client.query<{ version: string; txid: string; seq: string }>(
    `select d.version, w.txid::text as txid, w.seq::text as seq
     from curated.definitions d join curated.watermarks w using (product) where product = $1`,
    [name],
  );
  return rows[0];
}

const lockClass = 0x706d_6574; // "pmet": plantmesh ETL, the first key of its advisory locks

/**
 * Runs one definition from the registry, recompiling it when the registry holds a new version, so that
 * every replica curates with the definition applied last whatever its own files say.
 */
export class ProductCache {
  private readonly products = new Map<string, CuratedProduct>();

  async get(client: pg.ClientBase, name: string, version: string): Promise<CuratedProduct> {
    const held = this.products.get(name);
    if (held?.version === version) return held;
    const { rows } = await client.query<{ definition: CuratedDefinition }>(
      'select definition from curated.definitions where product = $1',
      [name],
    );
    const product = new CuratedProduct(rows[0]?.definition as CuratedDefinition);
    this.products.set(name, product);
    return product;
  }
}

/** A batch read ahead while the one before it commits: valid if it starts where that one ends. */
export interface ReadAhead {
  product: CuratedProduct;
  after: { txid: string; seq: string };
  frontier: string;
  batch: Promise<{ events: Array<RawEvent & { txid: string }>; refined: Refined }>;
}

/** The events of a definition after a position and below a frontier, refined, in (txid, seq) order. */
function readBatch(
  stores: CuratedStores,
  product: CuratedProduct,
  after: { txid: string; seq: string },
  frontier: string,
  limit: number,
): ReadAhead {
  const selection = product.selection(5);
  const batch = stores.raw.pool
    .query<RawEvent & { txid: string }>(
      // Ordered by the columns, not by the text aliases of the select list ('1000' sorts before '994').
      `select txid::text as txid, ${rawEventColumns()} from raw.events
       where (txid, seq) > ($1::xid8, $2::bigint) and txid < $3::xid8 and ${selection.sql}
       order by raw.events.txid, raw.events.seq limit $4`,
      [after.txid, after.seq, frontier, limit, ...selection.params],
    )
    .then(({ rows: events }) => ({ events, refined: product.refine(events) }));
  // A read ahead that is never used must not fail the process; a used one rethrows when awaited.
  batch.catch(() => {});
  return { product, after, frontier, batch };
}

/**
 * Curates the next batch of one definition's raw events, exactly once: the rows, and the watermark
 * that covers them, commit in one transaction; refused events are quarantined before it commits
 * (idempotently, so a batch retried after a crash adds nothing).
 *
 * The watermark is a position in (txid, seq) order, and only events of transactions below the frontier
 * (the oldest transaction still running on the raw store) are taken: those rows can no longer change, so
 * a row committed late by a concurrent writer is never skipped (docs/adr/0009-etl-delivery.md).
 * Replicas take a definition each through a non-blocking advisory lock: none waits for another.
 *
 * While a full batch is stored, the next one is read and refined (`next`): pass it to the next call,
 * which uses it only if the watermark it finds is where this batch left it.
 */
export async function curateBatch(
  stores: CuratedStores,
  products: ProductCache,
  name: string,
  limit: number,
  ahead?: ReadAhead,
): Promise<BatchResult & { next?: ReadAhead }> {
  return stores.curated.transaction(async (client) => {
    const idle: BatchResult = { busy: false, events: 0, rows: 0, quarantined: 0, more: false, lagSeconds: 0 };
    if (!(await tryTransactionLock(client, lockClass, name))) return { ...idle, busy: true };
    const mark = await watermark(client, name);
    if (!mark) return idle;
    const product = await products.get(client, name, mark.version);
    const current =
      ahead && ahead.product === product && ahead.after.txid === mark.txid && ahead.after.seq === mark.seq
        ? ahead
        : // Read now, before this transaction writes anything: its own id must not hold the frontier back.
          readBatch(stores, product, mark, await commitFrontier(stores.raw.pool), limit);
    const { events, refined } = await current.batch;
    const { frontier } = current;
    const last = events.at(-1);
    const more = events.length === limit && last !== undefined;
    const next = more ? readBatch(stores, product, last, frontier, limit) : undefined;
    await writeQuarantine(stores.raw.pool, refined.refused);
    const rows = await product.store(client, refined.rows);
    // A batch that is not full has seen every event below the frontier: the watermark moves up to it.
    const [txid, seq] = more ? [last.txid, last.seq] : [frontier, '0'];
    const moved = await client.query(
      `update curated.watermarks
       set txid = $2::xid8, seq = $3::bigint, events = events + $4, updated_at = now(),
           last_received_at = coalesce($5, last_received_at)
       where product = $1 and txid = $6::xid8 and seq = $7::bigint and ($2::xid8, $3::bigint) > (txid, seq)`,
      [name, txid, seq, events.length, last?.receivedAt ?? null, mark.txid, mark.seq],
    );
    if (moved.rowCount === 0 && events.length > 0) {
      throw new Error(`watermark of ${name} moved by another worker during a batch; retrying`);
    }
    return {
      busy: false,
      events: events.length,
      rows,
      quarantined: refined.refused.length,
      more,
      lagSeconds: more ? Math.max(0, (Date.now() - last.receivedAt.getTime()) / 1000) : 0,
      from: `${mark.txid}:${mark.seq}`,
      to: moved.rowCount ? `${txid}:${seq}` : `${mark.txid}:${mark.seq}`,
      next,
    };
  });
}

/** Raw events of a definition past its watermark, counted up to `cap` (a gauge, not an exact backlog). */
export async function eventsBehind(
  stores: CuratedStores,
  products: ProductCache,
  name: string,
  cap = 1_000_000,
): Promise<number> {
  const client = await stores.curated.pool.connect();
  try {
    const mark = await watermark(client, name);
    if (!mark) return 0;
    const selection = (await products.get(client, name, mark.version)).selection(4);
    const { rows: counted } = await stores.raw.pool.query<{ behind: string }>(
      `select count(*)::text as behind from (
         select from raw.events where (txid, seq) > ($1::xid8, $2::bigint) and ${selection.sql} limit $3) as waiting`,
      [mark.txid, mark.seq, cap, ...selection.params],
    );
    return Number(counted[0]?.behind ?? 0);
  } finally {
    client.release();
  }
}
