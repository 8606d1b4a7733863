import type { Postgres } from '@plantmesh/core';
import { commitFrontier, tryTransactionLock } from '@plantmesh/etl-curated';
import type pg from 'pg';
import type { KpiDefinition } from './definition.js';
import { CompiledKpi, type KpiWindow } from './kpi.js';
import { curatedRegistry } from './registry.js';

/**
 * The stores the business ETL works on: it reads curated (and metrics through it, in KPI queries) and
 * writes business; it reads the change log of samples and maintains the rollups in metrics.
 */
export interface BusinessStores {
  curated: Postgres;
  business: Postgres;
  metrics: Postgres;
}

const markLock = 0x706d_6d6b; // "pmmk": the marking of one KPI from curated changes
const sampleMarkLock = 0x706d_6d73; // "pmms": the marking of one KPI from sample changes
const windowLock = 0x706d_7763; // "pmwc": the recompute of one window

/**
 * Runs each KPI with the version the registry holds, compiled against the curated registry as it is
 * when that version is first run; recompiled when the KPI's version changes.
 */
export class KpiCache {
  private readonly kpis = new Map<string, CompiledKpi>();

  constructor(private readonly curated: pg.Pool) {}

  async get(business: pg.ClientBase, name: string, version: string): Promise<CompiledKpi> {
    const held = this.kpis.get(name);
    if (held?.version === version) return held;
    const { rows } = await business.query<{ definition: KpiDefinition }>(
      'select definition from business.kpi_definitions where kpi = $1',
      [name],
    );
    const kpi = new CompiledKpi(rows[0]?.definition as KpiDefinition, await curatedRegistry(this.curated));
    this.kpis.set(name, kpi);
    return kpi;
  }
}

export interface MarkResult {
  busy: boolean;
  changes: number;
  windows: number;
  more: boolean;
}

/**
 * Reads the next curated changes of a KPI's inputs and marks the windows they touched (where each
 * changed row is and, if a correction moved it, was), with the watermark in the same transaction:
 * every change is marked once. Changes are read below the curated store's commit frontier, in
 * (txid, seq) order, as the curated ETL reads raw events (docs/adr/0009-etl-delivery.md).
 */
export async function markWindows(
  stores: BusinessStores,
  kpis: KpiCache,
  name: string,
  limit: number,
): Promise<MarkResult> {
  return stores.business.transaction(async (client) => {
    const idle: MarkResult = { busy: false, changes: 0, windows: 0, more: false };
    if (!(await tryTransactionLock(client, markLock, name))) return { ...idle, busy: true };
    const { rows: marks } = await client.query<{ version: string; txid: string; seq: string }>(
      `select d.version, w.txid::text as txid, w.seq::text as seq
       from business.kpi_definitions d join business.watermarks w using (kpi) where kpi = $1`,
      [name],
    );
    const mark = marks[0];
    if (!mark) return idle;
    const kpi = await kpis.get(client, name, mark.version);
    const frontier = await commitFrontier(stores.curated.pool);
    const { rows: changes } = await stores.curated.pool.query<{
      txid: string;
      seq: string;
      product: string;
      keys: unknown[];
      froms: Date[];
      tos: Date[];
      changed_at: Date;
    }>(
      // Each changed row's span now and, if a correction moved or resized it, before (an instant has
      // no end: from = to). Ordered by the columns, not by the text aliases of the select list.
      `select c.txid::text as txid, c.seq::text as seq, c.product, c.keys, c.changed_at,
         spans.froms, spans.tos
       from curated.changes as c,
         lateral (
           select array_agg(t_from) as froms, array_agg(t_to) as tos from (
             select r.t, coalesce(r.e, r.t) from unnest(c.event_times, c.event_ends) as r(t, e)
             union all
             select coalesce(r.p, r.t), coalesce(r.pe, r.p, r.t)
             from unnest(c.event_times, c.previous_times, c.event_ends, c.previous_ends) as r(t, p, e, pe)
             where r.p is not null or r.pe is distinct from r.e and r.pe is not null
           ) as span(t_from, t_to)
         ) as spans
       where (c.txid, c.seq) > ($1::xid8, $2::bigint) and c.txid < $3::xid8 and c.product = any($4::text[])
       order by c.txid, c.seq limit $5`,
      [mark.txid, mark.seq, frontier, kpi.definition.inputs, limit],
    );
    let windows = 0;
    if (kpi.definition.window.kind === 'entity') {
      // Each entity with the oldest change behind it: one query per input product for the whole batch,
      // its keys in commit order, so that the first key leading to an entity is its oldest change.
      const entities = new Map<string, Date>();
      for (const [product, sql] of kpi.entityKeys) {
        const ofProduct = changes.filter((change) => change.product === product);
        const keys = ofProduct.flatMap((change) => change.keys);
        if (keys.length === 0) continue;
        const changedAt = ofProduct.flatMap((change) => change.keys.map(() => change.changed_at));
        const { rows } = await stores.curated.pool.query<{ entity: string; n: string }>(sql, [JSON.stringify(keys)]);
        for (const { entity, n } of rows) {
          const at = changedAt[Number(n) - 1] as Date;
          const held = entities.get(entity);
          if (!held || at < held) entities.set(entity, at);
        }
      }
      const inserted = await client.query(
        'insert into business.dirty_windows (kpi, entity, changed_at) select $1, unnest($2::text[]), unnest($3::timestamptz[])',
        [name, [...entities.keys()], [...entities.values()]],
      );
      windows = inserted.rowCount ?? 0;
    } else if (changes.length > 0) {
      windows = await markTimeWindows(
        client,
        kpi,
        changes.flatMap((change) => change.froms),
        changes.flatMap((change) => change.tos),
        changes.flatMap((change) => change.froms.map(() => change.changed_at)),
      );
    }
    const last = changes.at(-1);
    const more = changes.length === limit && last !== undefined;
    const [txid, seq] = more ? [last.txid, last.seq] : [frontier, '0'];
    const moved = await client.query(
      `update business.watermarks set txid = $2::xid8, seq = $3::bigint, changes = changes + $4, updated_at = now()
       where kpi = $1 and txid = $5::xid8 and seq = $6::bigint and ($2::xid8, $3::bigint) > (txid, seq)`,
      [name, txid, seq, changes.length, mark.txid, mark.seq],
    );
    if (moved.rowCount === 0 && changes.length > 0) {
      throw new Error(`watermark of KPI ${name} moved by another worker during a batch; retrying`);
    }
    return { busy: false, changes: changes.length, windows, more };
  });
}

/** Marks the time windows that spans [from, to] overlap, each with the oldest change behind it. */
async function markTimeWindows(
  client: pg.ClientBase,
  kpi: CompiledKpi,
  froms: Date[],
  tos: Date[],
  changedAt: Date[],
): Promise<number> {
  const inserted = await client.query(
    `insert into business.dirty_windows (kpi, window_start, window_end, label, changed_at)
     select $1, w.window_start, w.window_end, w.label, min(s.changed_at)
     from unnest($2::timestamptz[], $3::timestamptz[], $4::timestamptz[]) as s(t_from, t_to, changed_at),
       business.time_windows(s.t_from, s.t_to, $5, $6, $7::interval[], $8::text[]) as w
     group by w.window_start, w.window_end, w.label`,
    [kpi.name, froms, tos, changedAt, ...kpi.timeWindow],
  );
  return inserted.rowCount ?? 0;
}

/**
 * For a KPI that reads series: marks the time windows that the next writes of samples covered, from
 * metrics.sample_changes below the metrics store's commit frontier in (txid, id) order, with its own
 * position in the same transaction, as markWindows does for curated changes. Any write marks: the log
 * says when samples were written, not of which series (a late write of another series costs one
 * recompute of the windows it fell into).
 */
export async function markSampleWindows(
  stores: BusinessStores,
  kpis: KpiCache,
  name: string,
  limit: number,
): Promise<MarkResult> {
  return stores.business.transaction(async (client) => {
    const idle: MarkResult = { busy: false, changes: 0, windows: 0, more: false };
    if (!(await tryTransactionLock(client, sampleMarkLock, name))) return { ...idle, busy: true };
    const { rows: marks } = await client.query<{ version: string; txid: string; id: string }>(
      `select d.version, w.samples_txid::text as txid, w.samples_id::text as id
       from business.kpi_definitions d join business.watermarks w using (kpi)
       where kpi = $1 and cardinality(d.series) > 0`,
      [name],
    );
    const mark = marks[0];
    if (!mark) return idle;
    const kpi = await kpis.get(client, name, mark.version);
    const frontier = await commitFrontier(stores.metrics.pool);
    const { rows: changes } = await stores.metrics.pool.query<{
      txid: string;
      id: string;
      ts_from: Date;
      ts_to: Date;
      changed_at: Date;
    }>(
      `select c.txid::text as txid, c.id::text as id, c.ts_from, c.ts_to, c.changed_at
       from metrics.sample_changes c
       where (c.txid, c.id) > ($1::xid8, $2::bigint) and c.txid < $3::xid8
       order by c.txid, c.id limit $4`,
      [mark.txid, mark.id, frontier, limit],
    );
    const windows =
      changes.length === 0
        ? 0
        : await markTimeWindows(
            client,
            kpi,
            changes.map((change) => change.ts_from),
            changes.map((change) => change.ts_to),
            changes.map((change) => change.changed_at),
          );
    const last = changes.at(-1);
    const more = changes.length === limit && last !== undefined;
    const [txid, id] = more ? [last.txid, last.id] : [frontier, '0'];
    const moved = await client.query(
      `update business.watermarks set samples_txid = $2::xid8, samples_id = $3::bigint, updated_at = now()
       where kpi = $1 and samples_txid = $4::xid8 and samples_id = $5::bigint
         and ($2::xid8, $3::bigint) > (samples_txid, samples_id)`,
      [name, txid, id, mark.txid, mark.id],
    );
    if (moved.rowCount === 0 && changes.length > 0) {
      throw new Error(`sample watermark of KPI ${name} moved by another worker during a batch; retrying`);
    }
    return { busy: false, changes: changes.length, windows, more };
  });
}

export interface RecomputeResult {
  windows: number;
  rows: number;
  more: boolean;
  /** Per window recomputed: when the oldest curated change behind it was committed. */
  changedAt: Date[];
}

/**
 * Recomputes the windows marked for a KPI: reads the oldest marks, takes each window with a
 * non-blocking advisory lock (a window another worker is recomputing is left to it), runs the KPI's
 * query for all of them at once, read-only, on the curated store, replaces their rows and deletes the
 * marks it read, in one transaction. A mark added meanwhile stays for the next round. Nothing is
 * written before the query has run, so the transaction holds a transaction id (which holds back every
 * ETL's commit frontier on the server) only while it writes.
 */
export async function recomputeWindows(
  stores: BusinessStores,
  kpis: KpiCache,
  name: string,
  limit: number,
): Promise<RecomputeResult> {
  return stores.business.transaction(async (client) => {
    const { rows: claimed } = await client.query<{
      id: string;
      start: Date | null;
      end: Date | null;
      label: string | null;
      entity: string | null;
      changed_at: Date | null;
      version: string;
    }>(
      `select w.id, w.window_start as start, w.window_end as "end", w.label, w.entity, w.changed_at, d.version
       from business.dirty_windows w join business.kpi_definitions d using (kpi)
       where w.kpi = $1 order by w.id limit $2`,
      [name, limit],
    );
    if (claimed.length === 0) return { windows: 0, rows: 0, more: false, changedAt: [] };
    const kpi = await kpis.get(client, name, (claimed[0] as { version: string }).version);
    const byWindow = new Map<string, { window: KpiWindow; ids: string[]; changedAt: Date | null }>();
    for (const { id, changed_at, version: _version, ...window } of claimed) {
      const identity = window.entity ?? (window.start as Date).toISOString();
      const held = byWindow.get(identity) ?? { window, ids: [], changedAt: changed_at };
      held.ids.push(id);
      if (changed_at && (!held.changedAt || changed_at < held.changedAt)) held.changedAt = changed_at;
      byWindow.set(identity, held);
    }
    // The windows no other worker is recomputing now: one query computes them all, their rows are replaced.
    const taken: Array<{ window: KpiWindow; ids: string[]; changedAt: Date | null }> = [];
    const { rows: locks } = await client.query<{ taken: boolean }>(
      "select pg_try_advisory_xact_lock($1, hashtext($2 || e'\\n' || identity)) as taken from unnest($3::text[]) with ordinality as u(identity, n) order by n",
      [windowLock, name, [...byWindow.keys()]],
    );
    [...byWindow.values()].forEach((held, index) => {
      if (locks[index]?.taken) taken.push(held);
    });
    const windows = taken.map((held) => held.window);
    const computed =
      windows.length > 0 ? await readOnly(stores.curated.pool, kpi.query, kpi.queryParameters(windows)) : [];
    if (windows.length > 0) await client.query(kpi.deleteWindows, kpi.deleteParameters(windows));
    if (computed.length > 0) await client.query(kpi.insertRows, [JSON.stringify(computed), kpi.version]);
    const done = taken.flatMap((held) => held.ids);
    const changedAt = taken.flatMap((held) => (held.changedAt ? [held.changedAt] : []));
    const rows = computed.length;
    await client.query('delete from business.dirty_windows where id = any($1::bigint[])', [done]);
    return { windows: taken.length, rows, more: claimed.length === limit, changedAt };
  });
}

/** A KPI's query in a read-only transaction: it may read anything the login may, and change nothing. */
async function readOnly(pool: pg.Pool, sql: string, parameters: unknown[]): Promise<unknown[]> {
  const client = await pool.connect();
  try {
    await client.query('begin transaction read only');
    // A window's rows are few and found by index; a scan reads the whole history. Tables that grow fast
    // have stale statistics for a while, and the planner then scans them once per window: 10 s for
    // 1,000 heats instead of 25 ms (bench:etl-freshness).
    await client.query('set local enable_seqscan = off');
    const { rows } = await client.query(sql, parameters);
    await client.query('commit');
    return rows;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
