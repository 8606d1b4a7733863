import { quoteIdentifier, quoteLiteral } from '@plantmesh/core';
import type { ColumnDefinition, CuratedDefinition } from './definition.js';

/**
 * The columns every curated row carries besides its own: the raw event it came from and the
 * definition version that made it (lineage down to the row).
 */
export const provenanceColumns = [
  '_event_seq bigint not null',
  '_event_id text not null',
  '_definition_version text not null',
  '_curated_at timestamptz not null default clock_timestamp()',
] as const;

/** The curated table of a definition: its columns, typed, the natural key as primary key, and provenance. */
export function tableDdl(definition: CuratedDefinition, schema = 'curated'): string {
  const keys = new Set(definition.key);
  const columns = definition.columns.map((column) => {
    const notNull = keys.has(column.name) || column.nullable === false ? ' not null' : '';
    return `  ${quoteIdentifier(column.name)} ${column.type}${notNull}`;
  });
  const table = `${quoteIdentifier(schema)}.${quoteIdentifier(definition.table)}`;
  const comments = definition.columns
    .filter((column) => column.unit || column.description)
    .map((column) => {
      const text = [column.description, column.unit && `unit: ${column.unit}`].filter(Boolean).join('; ');
      return `comment on column ${table}.${quoteIdentifier(column.name)} is ${quoteLiteral(text)};`;
    });
  return [
    `create table ${table} (`,
    [
      ...columns,
      ...provenanceColumns.map((column) => `  ${column}`),
      `  primary key (${definition.key.map(quoteIdentifier).join(', ')})`,
    ].join(',\n'),
    ');',
    `create index on ${table} (${quoteIdentifier(definition.eventTime)});`,
    ...relationshipIndexDdl(definition, schema).map((ddl) => `${ddl};`),
    `comment on table ${table} is ${quoteLiteral(`${definition.product.description} (data product ${definition.product.name} ${definition.product.version}, owner ${definition.product.owner})`)};`,
    ...comments,
  ].join('\n');
}

/**
 * An index for each relationship's columns, so that following a relationship (to a heat's slabs, a slab's
 * plates) reads the rows related, not the table. Named after the columns, created only when missing.
 */
export function relationshipIndexDdl(definition: CuratedDefinition, schema = 'curated'): string[] {
  return (definition.relationships ?? []).map((relationship) => {
    const columns = Object.keys(relationship.columns);
    const name = `${definition.table}_${columns.join('_')}_related`.slice(0, 63);
    return `create index if not exists ${quoteIdentifier(name)} on ${quoteIdentifier(schema)}.${quoteIdentifier(definition.table)} (${columns.map(quoteIdentifier).join(', ')})`;
  });
}

/** A column added by a minor version: always nullable, since the rows already there have no value. */
export function addColumnDdl(definition: CuratedDefinition, column: ColumnDefinition, schema = 'curated'): string {
  return `alter table ${quoteIdentifier(schema)}.${quoteIdentifier(definition.table)} add column if not exists ${quoteIdentifier(column.name)} ${column.type}`;
}
