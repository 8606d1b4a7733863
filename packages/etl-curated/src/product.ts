import { createHash } from 'node:crypto';
import { type QuarantineEntry, quoteIdentifier } from '@plantmesh/core';
import type pg from 'pg';
import type { CuratedDefinition } from './definition.js';
import { pointerPath } from './json-schema.js';
import { compileMapping, type MappingError } from './mapping.js';
import { topicFiltersPattern } from './topic-filter.js';

/** A raw event as the curated ETL reads it: the payload as its JSON text (quarantined byte for byte). */
export interface RawEvent {
  seq: string;
  id: string;
  idType: string;
  topic: string;
  receivedAt: Date;
  payload: string;
}

/** A batch of raw events refined: the rows to upsert (one per key) and the events refused. */
export interface Refined {
  rows: Array<Record<string, unknown>>;
  refused: QuarantineEntry[];
}

/** The quarantine stage of the curated ETL. */
export const curatedStage = 'etl-curated';

/** The columns of raw.events (as `alias`) the ETL reads, under the names of RawEvent. */
export function rawEventColumns(alias = 'raw.events'): string {
  const e = alias;
  return `${e}.seq::text as seq, ${e}.id, ${e}.id_type as "idType", ${e}.topic, ${e}.received_at as "receivedAt", ${e}.payload::text as payload`;
}

/**
 * A definition made ready to run: the selection of its raw events as SQL, its mapping, and its upsert.
 * Built from the definition the registry holds, so that every replica runs the same version.
 */
export class CuratedProduct {
  readonly name: string;
  readonly version: string;
  /** `topic ~ $n [and payload #>> $m = $k]`, its parameters numbered from `first`. */
  readonly selection: (first: number) => { sql: string; params: unknown[] };
  private readonly map: ReturnType<typeof compileMapping>;
  private readonly upsert: string;
  private readonly keyOf: (row: Record<string, unknown>) => string;
  private readonly eventTime: string;

  constructor(readonly definition: CuratedDefinition) {
    this.name = definition.product.name;
    this.version = definition.product.version;
    this.map = compileMapping(definition);
    this.eventTime = definition.eventTime;
    const pattern = topicFiltersPattern(definition.source.topics);
    const type = definition.source.type;
    this.selection = (first) =>
      type
        ? {
            sql: `topic ~ $${first} and payload #>> $${first + 1}::text[] = $${first + 2}`,
            params: [pattern, pointerPath(type.field).map(String), type.equals],
          }
        : { sql: `topic ~ $${first}`, params: [pattern] };
    this.keyOf = (row) => JSON.stringify(definition.key.map((column) => row[column]));
    this.upsert = upsertSql(definition);
  }

  /**
   * Maps each event to a row or a quarantine entry. Of several events with one key the latest wins,
   * by event time and then by arrival (seq), as the upsert decides between batches.
   */
  refine(events: readonly RawEvent[]): Refined {
    const rows = new Map<string, Record<string, unknown>>();
    const refused: QuarantineEntry[] = [];
    for (const event of events) {
      const mapped = this.map(JSON.parse(event.payload));
      if (!mapped.ok) {
        refused.push(this.quarantineEntry(event, mapped.errors));
        continue;
      }
      const row = {
        ...mapped.row,
        _event_seq: event.seq,
        _event_id: event.id,
        _definition_version: this.version,
      };
      const key = this.keyOf(row);
      const held = rows.get(key);
      if (!held || !this.isNewer(held, row)) rows.set(key, row);
    }
    return { rows: [...rows.values()], refused };
  }

  /** Upserts rows; a row replaces the stored one only if it is not older. Returns the rows changed. */
  async store(client: pg.ClientBase, rows: ReadonlyArray<Record<string, unknown>>): Promise<number> {
    if (rows.length === 0) return 0;
    const result = await client.query<{ rows: number }>(this.upsert, [JSON.stringify(rows), this.name]);
    return result.rows[0]?.rows ?? 0;
  }

  /** Whether `held` comes after `candidate` (event time, then seq): ISO times and seqs compare as written. */
  private isNewer(held: Record<string, unknown>, candidate: Record<string, unknown>): boolean {
    const [a, b] = [held[this.eventTime] as string, candidate[this.eventTime] as string];
    if (a !== b) return a > b;
    return BigInt(held._event_seq as string) > BigInt(candidate._event_seq as string);
  }

  private quarantineEntry(event: RawEvent, errors: MappingError[]): QuarantineEntry {
    return {
      stage: curatedStage,
      source: this.name,
      topic: event.topic,
      reason: `${this.name} ${this.version}: ${errors.map((error) => `${error.path || '/'} ${error.message}`).join('; ')}`,
      payload: Buffer.from(event.payload),
      headers: {
        definition: this.name,
        version: this.version,
        eventId: event.id,
        eventIdType: event.idType,
        eventSeq: event.seq,
        errors,
      },
      // Once per event and definition version: a retried batch adds nothing; a fixed version refusing
      // it again is a new row.
      key: createHash('sha256').update(`${curatedStage}\n${this.name}\n${this.version}\n${event.seq}`).digest(),
    };
  }
}

/**
 * The upsert of a definition's rows, given as one JSON array. A stored row is replaced only by one
 * that is not older (event time, then raw seq), so that a replay or a late duplicate never undoes a
 * correction; and only when something differs, so that a replay leaves the table as it was. The rows
 * inserted or changed are logged in curated.changes (one row per batch) with their event times.
 */
function upsertSql(definition: CuratedDefinition): string {
  const table = `curated.${quoteIdentifier(definition.table)}`;
  const columns = [
    ...definition.columns.map((column) => ({ name: column.name, type: column.type })),
    { name: '_event_seq', type: 'bigint' },
    { name: '_event_id', type: 'text' },
    { name: '_definition_version', type: 'text' },
  ];
  const names = columns.map((column) => quoteIdentifier(column.name));
  const keys = new Set(definition.key);
  const keyNames = definition.key.map(quoteIdentifier);
  const updated = columns.filter((column) => !keys.has(column.name)).map((column) => quoteIdentifier(column.name));
  const time = quoteIdentifier(definition.eventTime);
  const end = definition.eventEnd ? quoteIdentifier(definition.eventEnd) : undefined;
  // One statement: its CTEs all see the table as it was, so `previous` holds the event times before.
  return `with incoming as (
  select * from json_to_recordset($1::json) as r(${columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ')})
), previous as (
  select ${keyNames.map((name) => `stored.${name}`).join(', ')}, stored.${time} as previous_time,
    ${end ? `stored.${end}` : 'null::timestamptz'} as previous_end
  from ${table} as stored join incoming using (${keyNames.join(', ')})
), upserted as (
  insert into ${table} as stored (${names.join(', ')})
  select ${names.join(', ')} from incoming
  on conflict (${keyNames.join(', ')}) do update
  set ${updated.map((name) => `${name} = excluded.${name}`).join(', ')}, _curated_at = clock_timestamp()
  where (excluded.${time}, excluded._event_seq) >= (stored.${time}, stored._event_seq)
    and (${updated.map((name) => `excluded.${name}`).join(', ')}) is distinct from (${updated.map((name) => `stored.${name}`).join(', ')})
  returning ${keyNames.join(', ')}, ${time} as event_time, ${end ?? 'null::timestamptz'} as event_end
)
insert into curated.changes (product, keys, event_times, previous_times, event_ends, previous_ends)
select $2, jsonb_agg(jsonb_build_array(${keyNames.map((name) => `upserted.${name}`).join(', ')})),
  array_agg(upserted.event_time), array_agg(nullif(previous.previous_time, upserted.event_time)),
  ${end ? 'array_agg(upserted.event_end), array_agg(previous.previous_end)' : 'null, null'}
from upserted left join previous using (${keyNames.join(', ')})
having count(*) > 0
returning jsonb_array_length(keys) as rows`;
}
