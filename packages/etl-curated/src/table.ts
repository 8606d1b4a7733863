import type { ColumnDefinition, CuratedDefinition } from './definition.js';

/** SQL identifier, quoted (definitions allow only lower-case names, so quoting is for safety alone). */
const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The columns every curated row carries besides its own: the raw event it came from and the
 * definition version that made it (lineage down to the row).
 */
export const provenanceColumns = [
  '_event_seq bigint not null',
  '_event_id text not null',
  '_definition_version text not null',
  '_curated_at timestamptz not null default now()',
] as const;

/** The curated table of a definition: its columns, typed, the natural key as primary key, and provenance. */
export function tableDdl(definition: CuratedDefinition, schema = 'curated'): string {
  const keys = new Set(definition.key);
  const columns = definition.columns.map((column) => {
    const notNull = keys.has(column.name) || column.nullable === false ? ' not null' : '';
    return `  ${identifier(column.name)} ${column.type}${notNull}`;
  });
  const table = `${identifier(schema)}.${identifier(definition.table)}`;
  const comments = definition.columns
    .filter((column) => column.unit || column.description)
    .map((column) => {
      const text = [column.description, column.unit && `unit: ${column.unit}`].filter(Boolean).join('; ');
      return `comment on column ${table}.${identifier(column.name)} is ${literal(text)};`;
    });
  return [
    `create table ${table} (`,
    [
      ...columns,
      ...provenanceColumns.map((column) => `  ${column}`),
      `  primary key (${definition.key.map(identifier).join(', ')})`,
    ].join(',\n'),
    ');',
    `create index on ${table} (${identifier(definition.eventTime)});`,
    `comment on table ${table} is ${literal(`${definition.product.description} (data product ${definition.product.name} ${definition.product.version}, owner ${definition.product.owner})`)};`,
    ...comments,
  ].join('\n');
}

/** A column added by a minor version: always nullable, since the rows already there have no value. */
export function addColumnDdl(definition: CuratedDefinition, column: ColumnDefinition, schema = 'curated'): string {
  return `alter table ${identifier(schema)}.${identifier(definition.table)} add column if not exists ${identifier(column.name)} ${column.type}`;
}
