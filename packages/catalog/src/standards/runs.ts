/**
 * The runs the ETLs record, read back for OpenLineage RunEvents. Neither ETL keeps a run log: the curated
 * ETL logs each committed batch that changed rows in `curated.changes` (product, commit position, the
 * keys it wrote, when), and the business ETL leaves each window's rows stamped with `_computed_at` and
 * `_definition_version` (a recompute replaces them, so only a window's latest computation is on record).
 * A batch that changed nothing, or a window recomputed to the same rows, leaves no trace and has no run.
 */
import { quoteIdentifier } from '@plantmesh/core';
import type { KpiDefinition } from '@plantmesh/etl-business';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import type pg from 'pg';
import { assetId } from '../model.js';
import type { RecordedRun } from './openlineage.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

const iso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();

/**
 * The curated ETL's committed batches since `since` (oldest first, at most `limit`), one run each: the
 * rows it inserted or changed in its product's table. The version is the one applied now (the change
 * log does not record which version wrote a batch).
 */
export async function curatedRuns(
  curated: Queryable,
  options: { since?: Date; limit?: number } = {},
): Promise<RecordedRun[]> {
  const { rows } = await curated.query<{
    product: string;
    version: string;
    table_name: string;
    txid: string;
    seq: string;
    rows: number;
    changed_at: Date;
  }>(
    `select c.product, d.version, d.table_name, c.txid::text as txid, c.seq::text as seq,
            jsonb_array_length(c.keys) as rows, c.changed_at
     from curated.changes c join curated.definitions d using (product)
     where c.changed_at >= $1
     order by c.changed_at, c.txid, c.seq
     limit $2`,
    [options.since ?? new Date(0), options.limit ?? 10_000],
  );
  return rows.map((row) => ({
    via: `etl-curated/${row.product}@${row.version}`,
    key: `${row.txid}/${row.seq}`,
    endedAt: iso(row.changed_at),
    rowsWritten: { [assetId('postgres_table', `curated.${row.table_name}`)]: row.rows },
    version: row.version,
  }));
}

/**
 * The business ETL's window computations on record: per KPI and window (or entity), the rows the latest
 * computation left and when it committed (the newest `_computed_at` of those rows).
 */
export async function kpiRuns(
  stores: { curated: Queryable; business: Queryable },
  options: { limitPerKpi?: number } = {},
): Promise<RecordedRun[]> {
  const { rows: kpis } = await stores.business.query<{
    kpi: string;
    version: string;
    table_name: string;
    definition: KpiDefinition;
  }>('select kpi, version, table_name, definition from business.kpi_definitions order by kpi');
  const { rows: curated } = await stores.curated.query<{ product: string; definition: CuratedDefinition }>(
    'select product, definition from curated.definitions',
  );
  const keyOf = new Map(curated.map((row) => [row.product, row.definition.key[0]]));
  const runs: RecordedRun[] = [];
  for (const kpi of kpis) {
    const table = `business.${quoteIdentifier(kpi.table_name)}`;
    const output = assetId('postgres_table', `business.${kpi.table_name}`);
    const via = `etl-business/${kpi.kpi}@${kpi.version}`;
    const limit = options.limitPerKpi ?? 1_000;
    if (kpi.definition.window.kind === 'entity') {
      const key = keyOf.get(kpi.definition.window.entity ?? '');
      if (!key) continue;
      const { rows } = await stores.business.query<{ entity: string; rows: number; computed_at: Date }>(
        `select ${quoteIdentifier(key)} as entity, count(*)::int as rows, max(_computed_at) as computed_at
         from ${table} group by 1 order by 3 desc limit $1`,
        [limit],
      );
      for (const row of rows) {
        runs.push({
          via,
          key: `${row.entity}/${iso(row.computed_at)}`,
          endedAt: iso(row.computed_at),
          rowsWritten: { [output]: row.rows },
          version: kpi.version,
        });
      }
    } else {
      const { rows } = await stores.business.query<{
        window_start: Date;
        window_end: Date;
        rows: number;
        computed_at: Date;
      }>(
        `select window_start, window_end, count(*)::int as rows, max(_computed_at) as computed_at
         from ${table} group by 1, 2 order by 4 desc limit $1`,
        [limit],
      );
      for (const row of rows) {
        runs.push({
          via,
          key: `${iso(row.window_start)}/${iso(row.computed_at)}`,
          endedAt: iso(row.computed_at),
          rowsWritten: { [output]: row.rows },
          nominal: { start: iso(row.window_start), end: iso(row.window_end) },
          version: kpi.version,
        });
      }
    }
  }
  return runs.sort((a, b) => (a.endedAt < b.endedAt ? -1 : a.endedAt > b.endedAt ? 1 : 0));
}
