import { quoteIdentifier, quoteLiteral } from '@plantmesh/core';
import type { KpiColumn, KpiDefinition } from './definition.js';

/**
 * The columns that name a KPI table's window: start and end (and the shift's name) for time windows,
 * the entity's key column for entity windows.
 */
export function windowColumnsOf(definition: KpiDefinition, entityKey: string | undefined): string[] {
  if (definition.window.kind === 'entity') return [entityKey as string];
  return definition.window.kind === 'shift' ? ['window_start', 'window_end', 'shift'] : ['window_start', 'window_end'];
}

/** The business table of a KPI: its window, its columns, the version that computed each row. */
export function kpiTableDdl(definition: KpiDefinition, entityKey: string | undefined): string {
  const table = `business.${quoteIdentifier(definition.table)}`;
  const window =
    definition.window.kind === 'entity'
      ? [`  ${quoteIdentifier(entityKey as string)} text not null`]
      : [
          '  window_start timestamptz not null',
          '  window_end timestamptz not null',
          ...(definition.window.kind === 'shift' ? ['  shift text not null'] : []),
        ];
  const identity = [
    definition.window.kind === 'entity' ? (entityKey as string) : 'window_start',
    ...(definition.key ?? []),
  ];
  const comments = definition.columns
    .filter((column) => column.unit || column.description)
    .map(
      (column) =>
        `comment on column ${table}.${quoteIdentifier(column.name)} is ${quoteLiteral(
          [column.description, column.unit && `unit: ${column.unit}`].filter(Boolean).join('; '),
        )};`,
    );
  return [
    `create table ${table} (`,
    [
      ...window,
      ...definition.columns.map((column) => `  ${quoteIdentifier(column.name)} ${column.type}`),
      '  _definition_version text not null',
      '  _computed_at timestamptz not null default clock_timestamp()',
    ].join(',\n'),
    ');',
    // A window's rows, told apart by the KPI's key (null as a value of its own).
    `create unique index on ${table} (${identity.map(quoteIdentifier).join(', ')}) nulls not distinct;`,
    `comment on table ${table} is ${quoteLiteral(`${definition.kpi.description} (KPI ${definition.kpi.name} ${definition.kpi.version}, owner ${definition.kpi.owner})`)};`,
    ...comments,
  ].join('\n');
}

/** A column added by a minor version. */
export function addKpiColumnDdl(definition: KpiDefinition, column: KpiColumn): string {
  return `alter table business.${quoteIdentifier(definition.table)} add column if not exists ${quoteIdentifier(column.name)} ${column.type}`;
}
