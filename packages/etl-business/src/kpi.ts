import { quoteIdentifier } from '@plantmesh/core';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import { type KpiDefinition, windowedSql } from './definition.js';
import { entityKeysSql, pathToEntity } from './relationships.js';
import { windowColumnsOf } from './table.js';

/** One window of a KPI: a span of time (with its shift's name) or an entity. */
export interface KpiWindow {
  start: Date | null;
  end: Date | null;
  label: string | null;
  entity: string | null;
}

/**
 * A KPI definition made ready to run against the curated registry it was checked with: how its
 * windows are found for changed rows, its query, and the statements that replace a window's rows.
 */
export class CompiledKpi {
  readonly name: string;
  readonly version: string;
  readonly entityKey: string | undefined;
  /** For entity windows: per input product, the SQL giving entity keys for its changed keys. */
  readonly entityKeys = new Map<string, string>();
  /** The arguments of business.time_windows after the span: kind, zone, shift starts and names. */
  readonly timeWindow: [string, string, string[], string[]];
  /** The windows' rows: the KPI's query run for every window given ($1.., arrays), with the window's columns. */
  readonly query: string;
  readonly deleteWindows: string;
  readonly insertRows: string;

  constructor(
    readonly definition: KpiDefinition,
    registry: ReadonlyMap<string, CuratedDefinition>,
  ) {
    this.name = definition.kpi.name;
    this.version = definition.kpi.version;
    const { window } = definition;
    this.timeWindow = [
      window.kind,
      window.timeZone ?? 'UTC',
      (window.shifts ?? []).map((shift) => `${shift.start}:00`),
      (window.shifts ?? []).map((shift) => shift.name),
    ];
    if (window.kind === 'entity') {
      const entity = registry.get(window.entity as string) as CuratedDefinition;
      this.entityKey = entity.key[0] as string;
      for (const input of definition.inputs) {
        const hops = pathToEntity(registry, input, entity.product.name);
        const from = registry.get(input);
        if (hops && from) this.entityKeys.set(input, entityKeysSql(from, hops, this.entityKey));
      }
    }
    const table = `business.${quoteIdentifier(definition.table)}`;
    const entityWindow = window.kind === 'entity';
    const windowColumns = windowColumnsOf(definition, this.entityKey);
    // The window row's values under the table's column names.
    const windowValues = entityWindow
      ? [`_window.entity as ${quoteIdentifier(this.entityKey as string)}`]
      : ['_window.window_start', '_window.window_end', ...(window.kind === 'shift' ? ['_window.label as shift'] : [])];
    const windows = entityWindow
      ? 'unnest($1::text[]) as _window(entity)'
      : 'unnest($1::timestamptz[], $2::timestamptz[], $3::text[]) as _window(window_start, window_end, label)';
    this.query = `select ${windowValues.join(', ')}, _kpi.*\nfrom ${windows}\ncross join lateral (\n${windowedSql(definition)}\n) as _kpi`;
    this.deleteWindows = `delete from ${table} where ${quoteIdentifier(entityWindow ? (this.entityKey as string) : 'window_start')} = any($1)`;
    const columns = [
      ...windowColumns.map((name) => ({ name, type: name.startsWith('window_') ? 'timestamptz' : 'text' })),
      ...definition.columns,
    ];
    const names = columns.map((column) => quoteIdentifier(column.name));
    this.insertRows = `insert into ${table} (${[...names, '_definition_version'].join(', ')})
select ${names.map((name) => `r.${name}`).join(', ')}, $2::text
from json_to_recordset($1::json) as r(${columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ')})`;
  }

  /** The query's parameters for these windows. */
  queryParameters(windows: KpiWindow[]): unknown[] {
    return this.definition.window.kind === 'entity'
      ? [windows.map((window) => window.entity)]
      : [
          windows.map((window) => window.start),
          windows.map((window) => window.end),
          windows.map((window) => window.label),
        ];
  }

  /** The delete's parameter: the windows' identities. */
  deleteParameters(windows: KpiWindow[]): unknown[] {
    return [
      this.definition.window.kind === 'entity'
        ? windows.map((window) => window.entity)
        : windows.map((window) => window.start),
    ];
  }
}
