import { quoteIdentifier } from '@plantmesh/core';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import { type KpiDefinition, positionalSql } from './definition.js';
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
  readonly query: string;
  readonly entityKey: string | undefined;
  /** For entity windows: per input product, the SQL giving entity keys for its changed keys. */
  readonly entityKeys = new Map<string, string>();
  /** The arguments of business.time_windows after the span: kind, zone, shift starts and names. */
  readonly timeWindow: [string, string, string[], string[]];
  readonly deleteWindow: string;
  readonly insertRows: string;

  constructor(
    readonly definition: KpiDefinition,
    registry: ReadonlyMap<string, CuratedDefinition>,
  ) {
    this.name = definition.kpi.name;
    this.version = definition.kpi.version;
    this.query = positionalSql(definition);
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
    const windowColumns = windowColumnsOf(definition, this.entityKey).map(quoteIdentifier);
    const entityWindow = window.kind === 'entity';
    this.deleteWindow = `delete from ${table} where ${entityWindow ? `${windowColumns[0]} = $1` : 'window_start = $1'}`;
    const columns = definition.columns.map((column) => quoteIdentifier(column.name));
    const windowValues = entityWindow
      ? ['$2::text']
      : ['$2::timestamptz', '$3::timestamptz', ...(window.kind === 'shift' ? ['$4::text'] : [])];
    const version = `$${windowValues.length + 2}::text`;
    this.insertRows = `insert into ${table} (${[...windowColumns, ...columns, '_definition_version'].join(', ')})
select ${[...windowValues, ...columns.map((column) => `r.${column}`), version].join(', ')}
from json_to_recordset($1::json) as r(${definition.columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ')})`;
  }

  /** The query's parameters for a window. */
  queryParameters(window: KpiWindow): unknown[] {
    return this.definition.window.kind === 'entity' ? [window.entity] : [window.start, window.end];
  }

  /** The insert's parameters: the rows, the window's values, the version. */
  insertParameters(rows: unknown[], window: KpiWindow): unknown[] {
    const kind = this.definition.window.kind;
    const values =
      kind === 'entity' ? [window.entity] : [window.start, window.end, ...(kind === 'shift' ? [window.label] : [])];
    return [JSON.stringify(rows), ...values, this.version];
  }
}
