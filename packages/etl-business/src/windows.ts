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

/** A change log a KPI reads in commit order: where its position is kept and how a batch marks windows. */
interface ChangeLog<C extends { txid: string; position: string }> {
  /** Advisory lock class: one marking of a KPI from this log at a time. */
  lock: number;
  /** The KPI's position in this log: its business.watermarks columns. */
  txidColumn: string;
  positionColumn: string;
  /** Which KPIs read this log (SQL over business.kpi_definitions d). */
  reads: string;
  /** The store the log is in, whose commit frontier bounds what can be read. */
  store: (stores: BusinessStores) => Postgres;
  /** The next changes after a position and below the frontier, in (txid, position) order. */
  read: (pool: pg.Pool, after: [string, string], frontier: string, kpi: CompiledKpi, limit: number) => Promise<C[]>;
  /** Marks the windows a batch of changes touched; returns how many marks it added. */
  mark: (client: pg.ClientBase, kpi: CompiledKpi, changes: C[], stores: BusinessStores) => Promise<number>;
}

/**
 * Reads a KPI's next changes from a log and marks the windows they touched, moving the KPI's position
 * in the same transaction (compare-and-set): every change is marked once. Changes are read below the
 * log's store's commit frontier, in (txid, position) order, as the curated ETL reads raw events
 * (docs/adr/0009-etl-delivery.md); replicas skip a KPI another is marking.
 */
async function markFromLog<C extends { txid: string; position: string }>(
  stores: BusinessStores,
  kpis: KpiCache,
  name: string,
  log: ChangeLog<C>,
  limit: number,
): Promise<MarkResult> {
  return stores.business.transaction(async (client) => {
    const idle: MarkResult = { busy: false, changes: 0, windows: 0, more: false };
    if (!(await tryTransactionLock(client, log.lock, name))) return { ...idle, busy: true };
    const { rows: marks } = await client.query<{ version: string; txid: string; position: string }>(
      `select d.version, w.${log.txidColumn}::text as txid, w.${log.positionColumn}::text as position
       from business.kpi_definitions d join business.watermarks w using (kpi) where kpi = $1 and ${log.reads}`,
      [name],
    );
    const mark = marks[0];
    if (!mark) return idle;
    const kpi = await kpis.get(client, name, mark.version);
    const pool = log.store(stores).pool;
    const frontier = await commitFrontier(pool);
    const changes = await log.read(pool, [mark.txid, mark.position], frontier, kpi, limit);
    const windows = changes.length === 0 ? 0 : await log.mark(client, kpi, changes, stores);
    const last = changes.at(-1);
    const more = changes.length === limit && last !== undefined;
    const [txid, position] = more ? [last.txid, last.position] : [frontier, '0'];
    const moved = await client.query(
      `update business.watermarks set ${log.txidColumn} = $2::xid8, ${log.positionColumn} = $3::bigint,
         changes = changes + $4, updated_at = now()
       where kpi = $1 and ${log.txidColumn} = $5::xid8 and ${log.positionColumn} = $6::bigint
         and ($2::xid8, $3::bigint) > (${log.txidColumn}, ${log.positionColumn})`,
      [name, txid, position, changes.length, mark.txid, mark.position],
    );
    if (moved.rowCount === 0 && changes.length > 0) {
      throw new Error(`position of KPI ${name} in its change log moved by another worker during a batch; retrying`);
    }
    return { busy: false, changes: changes.length, windows, more };
  });
}

interface CuratedChange {
  txid: string;
  position: string;
  product: string;
  keys: unknown[];
  froms: Date[];
  tos: Date[];
  changed_at: Date;
}

/** curated.changes: what the curated ETL changed, per batch and product (docs/adr/0010-business-etl.md). */
const curatedChanges: ChangeLog<CuratedChange> = {
  lock: markLock,
  txidColumn: 'txid',
  positionColumn: 'seq',
  reads: 'true',
  store: (stores) => stores.curated,
  read: async (pool, [txid, seq], frontier, kpi, limit) =>
    (
      await pool.query<CuratedChange>(
        // Each changed row's span now and, if a correction moved or resized it, before (an instant has
        // no end: from = to). Ordered by the columns, not by the text aliases of the select list.
        `select c.txid::text as txid, c.seq::text as position, c.product, c.keys, c.changed_at,
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
        [txid, seq, frontier, kpi.definition.inputs, limit],
      )
    ).rows,
  mark: async (client, kpi, changes, stores) => {
    if (kpi.definition.window.kind !== 'entity') {
      return markTimeWindows(
        client,
        kpi,
        changes.flatMap((change) => change.froms),
        changes.flatMap((change) => change.tos),
        changes.flatMap((change) => change.froms.map(() => change.changed_at)),
      );
    }
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
      [kpi.name, [...entities.keys()], [...entities.values()]],
    );
    return inserted.rowCount ?? 0;
  },
};

interface SampleChange {
  txid: string;
  position: string;
  ts_from: Date;
  ts_to: Date;
  changed_at: Date;
}

/**
 * metrics.sample_changes, for KPIs that read series: any write marks the time windows it covered. The
 * log says when samples were written, not of which series (a late write of another series costs one
 * recompute of the windows it fell into).
 */
const sampleChanges: ChangeLog<SampleChange> = {
  lock: sampleMarkLock,
  txidColumn: 'samples_txid',
  positionColumn: 'samples_id',
  reads: 'cardinality(d.series) > 0',
  store: (stores) => stores.metrics,
  read: async (pool, [txid, id], frontier, _kpi, limit) =>
    (
      await pool.query<SampleChange>(
        `select c.txid::text as txid, c.id::text as position, c.ts_from, c.ts_to, c.changed_at
         from metrics.sample_changes c
         where (c.txid, c.id) > ($1::xid8, $2::bigint) and c.txid < $3::xid8
         order by c.txid, c.id limit $4`,
        [txid, id, frontier, limit],
      )
    ).rows,
  mark: (client, kpi, changes) =>
    markTimeWindows(
      client,
      kpi,
      changes.map((change) => change.ts_from),
      changes.map((change) => change.ts_to),
      changes.map((change) => change.changed_at),
    ),
};

/** Marks the windows the next curated changes of a KPI's inputs touched (where each row is and was). */
export function markWindows(stores: BusinessStores, kpis: KpiCache, name: string, limit: number): Promise<MarkResult> {
  return markFromLog(stores, kpis, name, curatedChanges, limit);
}

/** For a KPI that reads series: marks the time windows the next writes of samples covered. */
export function markSampleWindows(
  stores: BusinessStores,
  kpis: KpiCache,
  name: string,
  limit: number,
): Promise<MarkResult> {
  return markFromLog(stores, kpis, name, sampleChanges, limit);
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
    // With sequential scans priced out, a query that must scan a small table (metrics.series by a path
    // filter) looks costly enough for JIT, which then compiles for 750 ms a query that runs in 6 ms.
    await client.query('set local jit = off');
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
