import { quoteIdentifier } from '@plantmesh/core';
import type pg from 'pg';
import type { ColumnDefinition, CuratedDefinition } from './definition.js';
import { rowSchema } from './row-schema.js';
import { addColumnDdl, relationshipIndexDdl, tableDdl } from './table.js';

/** A definition that cannot replace the one applied: why, change by change. */
export class IncompatibleDefinitionError extends Error {
  constructor(
    readonly product: string,
    readonly changes: string[],
  ) {
    super(`definition ${product}: ${changes.join('; ')}`);
    this.name = 'IncompatibleDefinitionError';
  }
}

export type ApplyOutcome = 'created' | 'evolved' | 'unchanged';

const curatedRegistryPlace: RegistryPlace = {
  role: 'plantmesh_curated_owner',
  table: 'curated.definitions',
  nameColumn: 'product',
};

/** JSON with object keys sorted, so that a definition read back from jsonb compares equal to its file's. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

const versionParts = (version: string) => version.split('.').map(Number) as [number, number, number];

function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return 0;
}

/** How a definition stands to the one applied (see versionStep). */
export type VersionStep = 'new' | 'unchanged' | 'major' | 'minor';

/**
 * How a definition stands to the one applied: new, unchanged, a new major version (which must name a new
 * table: the rows of the old one stay as they were made), or a higher minor or patch version whose
 * changes the table can take (`incompatible` lists those it cannot). A changed definition whose version is
 * not higher is refused.
 */
export function versionStep<D extends { table: string }>(
  name: string,
  applied: { version: string; definition: D } | undefined,
  next: D,
  version: string,
  incompatible: (applied: D, next: D) => string[],
): VersionStep {
  if (!applied) return 'new';
  if (canonical(applied.definition) === canonical(next)) return 'unchanged';
  if (compareVersions(version, applied.version) <= 0) {
    throw new IncompatibleDefinitionError(name, [
      `the definition changed but its version ${version} is not higher than the applied ${applied.version}`,
    ]);
  }
  if (versionParts(version)[0] > versionParts(applied.version)[0]) {
    if (next.table === applied.definition.table) {
      throw new IncompatibleDefinitionError(name, [
        `a new major version needs a new table (the rows of ${applied.definition.table} stay as they were made)`,
      ]);
    }
    return 'major';
  }
  const changes = incompatible(applied.definition, next);
  if (changes.length > 0) {
    throw new IncompatibleDefinitionError(name, [
      ...changes,
      `make it version ${versionParts(applied.version)[0] + 1}.0.0 with a new table`,
    ]);
  }
  return 'minor';
}

/** Where a registry keeps its definitions: the store's owner role, the table and its name column. */
export interface RegistryPlace {
  role: string;
  table: string;
  nameColumn: string;
}

/**
 * Opens the transaction that applies a definition: as the store's owner role (the tables it creates
 * belong to the store, whichever login applies), serialised per name, with the applied entry and the
 * step from it. An unchanged definition ends it at once.
 */
export async function beginApply<D extends { table: string }>(
  client: pg.ClientBase,
  place: RegistryPlace,
  name: string,
  definition: D,
  version: string,
  incompatible: (applied: D, next: D) => string[],
): Promise<{ step: VersionStep; applied: { definition: D; version: string } | undefined }> {
  await client.query('begin');
  try {
    await client.query(`set local role ${quoteIdentifier(place.role)}`);
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${place.table}\n${name}`]);
    const { rows } = await client.query<{ definition: D; version: string }>(
      `select definition, version from ${place.table} where ${quoteIdentifier(place.nameColumn)} = $1`,
      [name],
    );
    const applied = rows[0];
    const step = versionStep(name, applied, definition, version, incompatible);
    if (step === 'unchanged') await client.query('rollback');
    return { step, applied };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/**
 * What a minor version may change in the table: add nullable, non-key columns. Everything else the
 * table holds (a column's type, its source, the key, the event time, the table) needs a new major
 * version, since rows already curated would no longer mean the same.
 */
function incompatibleChanges(applied: CuratedDefinition, next: CuratedDefinition): string[] {
  const changes: string[] = [];
  const before = new Map(applied.columns.map((column) => [column.name, column]));
  const after = new Map(next.columns.map((column) => [column.name, column]));
  for (const [name, column] of before) {
    const now = after.get(name);
    if (!now) changes.push(`column "${name}" removed`);
    else {
      for (const field of ['type', 'from', 'unit', 'sourceUnit'] as const) {
        if (column[field] !== now[field]) {
          changes.push(`column "${name}" ${field} changed from ${column[field] ?? 'none'} to ${now[field] ?? 'none'}`);
        }
      }
      if ((column.nullable ?? true) !== (now.nullable ?? true)) changes.push(`column "${name}" nullability changed`);
    }
  }
  for (const [name, column] of after) {
    if (!before.has(name) && column.nullable === false) changes.push(`new column "${name}" must be nullable`);
  }
  if (applied.key.join(',') !== next.key.join(',')) changes.push(`key changed from (${applied.key}) to (${next.key})`);
  if (applied.eventTime !== next.eventTime) changes.push(`event time changed to "${next.eventTime}"`);
  if (applied.eventEnd !== next.eventEnd) changes.push(`event end changed to "${next.eventEnd ?? 'none'}"`);
  if (applied.table !== next.table) changes.push(`table changed to "${next.table}"`);
  return changes;
}

/**
 * Applies a definition: creates its table and registers it, or evolves the applied one. A minor or
 * patch version may add nullable columns (added to the table); an incompatible change is refused
 * until it is a new major version with a new table (the old table stays, with its rows). A changed
 * definition must carry a higher version. One transaction, serialised per product.
 */
export async function applyDefinition(
  client: pg.ClientBase,
  definition: CuratedDefinition,
  file?: string,
): Promise<ApplyOutcome> {
  const { name, version } = definition.product;
  const { step, applied } = await beginApply(
    client,
    curatedRegistryPlace,
    name,
    definition,
    version,
    incompatibleChanges,
  );
  if (step === 'unchanged') return 'unchanged';
  try {
    let outcome: ApplyOutcome = 'created';
    if (step === 'new' || step === 'major') {
      await client.query(tableDdl(definition));
    } else if (applied) {
      const known = new Set(applied.definition.columns.map((column) => column.name));
      const added: ColumnDefinition[] = definition.columns.filter((column) => !known.has(column.name));
      for (const column of added) await client.query(addColumnDdl(definition, column));
      for (const ddl of relationshipIndexDdl(definition)) await client.query(ddl);
      outcome = 'evolved';
    }
    await client.query(
      `insert into curated.definitions (product, version, table_name, domain, owner, description, source_topics, definition, row_schema, file, applied_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
       on conflict (product) do update set version = excluded.version, table_name = excluded.table_name,
         domain = excluded.domain, owner = excluded.owner, description = excluded.description,
         source_topics = excluded.source_topics, definition = excluded.definition,
         row_schema = excluded.row_schema, file = excluded.file, applied_at = now()`,
      [
        name,
        version,
        definition.table,
        definition.product.domain,
        definition.product.owner,
        definition.product.description,
        definition.source.topics,
        JSON.stringify(definition),
        JSON.stringify(rowSchema(definition)),
        file ?? null,
      ],
    );
    // A new table (a new product or a new major version) is filled from the first raw event on.
    await client.query(
      `insert into curated.watermarks (product) values ($1)
       on conflict (product) do update set txid = '0', seq = 0, events = 0, last_received_at = null, updated_at = now()
       where $2`,
      [name, outcome === 'created'],
    );
    await client.query(
      'insert into curated.definition_versions (product, version, table_name, definition) values ($1, $2, $3, $4)',
      [name, version, definition.table, JSON.stringify(definition)],
    );
    await client.query('commit');
    return outcome;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
