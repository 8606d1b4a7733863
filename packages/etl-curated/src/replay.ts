import { writeQuarantine } from '@plantmesh/core';
import type pg from 'pg';
import type { CuratedDefinition } from './definition.js';
import { CuratedProduct, curatedStage, type RawEvent, rawEventColumns } from './product.js';

/** What to curate again: a definition's events received in a time range, or its quarantined events. */
export interface ReplaySelection {
  /** One data product; all of the registry when absent. */
  definition?: string;
  /** The events refused by the ETL and not replayed yet, instead of a range. */
  quarantine?: boolean;
  from?: Date;
  to?: Date;
}

export interface ReplayResult {
  product: string;
  version: string;
  events: number;
  rows: number;
  quarantined: number;
}

export type ReplayProgress = (product: string, done: number, total: number) => void;

const pageSize = 2_000;

/**
 * Curates events again with the definition the registry holds now, after a definition was fixed or
 * extended. Rows are upserted as the worker does (a row replaces a stored one only if it is not older,
 * and only if something differs), so a replay running beside the worker changes nothing it should not,
 * and two replays leave the tables as one does. The watermark is not touched. A quarantined event that
 * the definition now takes is marked replayed; one refused again by a new version gets a row of its own.
 */
export async function replayCurated(
  stores: { raw: pg.Pool; curated: pg.Pool },
  selection: ReplaySelection,
  progress?: ReplayProgress,
): Promise<ReplayResult[]> {
  const { rows: registered } = await stores.curated.query<{ definition: CuratedDefinition }>(
    'select definition from curated.definitions where $1::text is null or product = $1 order by product',
    [selection.definition ?? null],
  );
  if (selection.definition && registered.length === 0) {
    throw new Error(`no definition "${selection.definition}" is applied (see curated.definitions)`);
  }
  const results: ReplayResult[] = [];
  for (const { definition } of registered) {
    const product = new CuratedProduct(definition);
    const source = selection.quarantine ? quarantined(product) : inRange(product, selection);
    const result: ReplayResult = {
      product: product.name,
      version: product.version,
      events: 0,
      rows: 0,
      quarantined: 0,
    };
    // What is there now: the rows this replay quarantines (or the writer stores) meanwhile are not its work.
    const { rows: counted } = await stores.raw.query<{ total: string; last: string | null }>(
      `select count(*)::text as total, max(position)::text as last from (${source.sql}) as selected`,
      source.params,
    );
    const total = Number(counted[0]?.total);
    const last = counted[0]?.last ?? '0';
    let after = '0';
    for (;;) {
      const n = source.params.length;
      const { rows: page } = await stores.raw.query<RawEvent & { position: string; quarantineId: string | null }>(
        `select * from (${source.sql}) as selected where position > $${n + 1}::bigint and position <= $${n + 2}::bigint
         order by position limit ${pageSize}`,
        [...source.params, after, last],
      );
      if (page.length === 0) break;
      const refined = product.refine(page);
      await writeQuarantine(stores.raw, refined.refused);
      const client = await stores.curated.connect();
      try {
        await client.query('begin');
        result.rows += await product.store(client, refined.rows);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
      if (selection.quarantine) {
        // Refused again by this same version: the row stays the record of it. Anything else is done.
        const stillRefused = new Set(refined.refused.map((entry) => String(entry.headers.eventSeq)));
        await stores.raw.query(
          `update raw.quarantine set replayed_at = now()
           where id = any($1::bigint[]) and replayed_at is null and not (headers ->> 'version' = $2 and
             (headers ->> 'eventSeq') = any($3::text[]))`,
          [page.map((event) => event.quarantineId), product.version, [...stillRefused]],
        );
      }
      result.events += page.length;
      result.quarantined += refined.refused.length;
      after = (page.at(-1) as { position: string }).position;
      progress?.(product.name, result.events, total);
    }
    results.push(result);
  }
  return results;
}

/** A selection of events, each with a `position` to page by and the quarantine row it comes from, if any. */
interface Source {
  sql: string;
  params: unknown[];
}

function inRange(product: CuratedProduct, selection: ReplaySelection): Source {
  const where = product.selection(3);
  return {
    sql: `select seq as position, null::text as "quarantineId", ${rawEventColumns()} from raw.events
          where ($1::timestamptz is null or received_at >= $1) and ($2::timestamptz is null or received_at < $2)
            and ${where.sql}`,
    params: [selection.from ?? null, selection.to ?? null, ...where.params],
  };
}

/** The product's events refused by the ETL and not replayed yet. */
function quarantined(product: CuratedProduct): Source {
  return {
    sql: `select q.id as position, q.id::text as "quarantineId", ${rawEventColumns('e')}
          from raw.quarantine q join raw.events e on e.seq = (q.headers ->> 'eventSeq')::bigint
          where q.stage = $1 and q.source = $2 and q.replayed_at is null`,
    params: [curatedStage, product.name],
  };
}
