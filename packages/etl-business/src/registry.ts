import { quoteIdentifier } from '@plantmesh/core';
import {
  type ApplyOutcome,
  beginApply,
  type CuratedDefinition,
  canonical,
  type DefinitionProblem,
} from '@plantmesh/etl-curated';
import type pg from 'pg';
import type { KpiDefinition } from './definition.js';
import { pathToEntity } from './relationships.js';
import { addKpiColumnDdl, kpiTableDdl } from './table.js';

/** The curated definitions applied now, by product: what KPIs may take as inputs and entities. */
export async function curatedRegistry(curated: pg.Pool | pg.ClientBase): Promise<Map<string, CuratedDefinition>> {
  const { rows } = await curated.query<{ product: string; definition: CuratedDefinition }>(
    'select product, definition from curated.definitions',
  );
  return new Map(rows.map((row) => [row.product, row.definition]));
}

/**
 * What a KPI needs of the curated registry: its inputs applied; for an entity window, an entity with a
 * one-column key that every input reaches along relationships. Each problem at its place in the file.
 */
export function registryProblems(
  definition: KpiDefinition,
  registry: ReadonlyMap<string, CuratedDefinition>,
  at: (path: Array<string | number>, message: string) => DefinitionProblem,
): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  definition.inputs.forEach((input, index) => {
    if (!registry.has(input)) problems.push(at(['inputs', index], `no curated product "${input}" is applied`));
  });
  const entity = definition.window.entity;
  if (definition.window.kind === 'entity' && entity) {
    const product = registry.get(entity);
    if (!product) problems.push(at(['window', 'entity'], `no curated product "${entity}" is applied`));
    else if (product.key.length !== 1) {
      problems.push(
        at(['window', 'entity'], `the entity's key must be one column (${entity} has ${product.key.join(', ')})`),
      );
    } else {
      definition.inputs.forEach((input, index) => {
        if (registry.has(input) && !pathToEntity(registry, input, entity)) {
          problems.push(at(['inputs', index], `${input} has no relationship path to ${entity}`));
        }
      });
    }
  }
  return problems;
}

const kpiRegistryPlace = { role: 'plantmesh_business_owner', table: 'business.kpi_definitions', nameColumn: 'kpi' };

/** What a minor version may not change: the table's layout and the meaning of its window. */
function incompatibleChanges(applied: KpiDefinition, next: KpiDefinition): string[] {
  const changes: string[] = [];
  const after = new Map(next.columns.map((column) => [column.name, column]));
  for (const column of applied.columns) {
    const now = after.get(column.name);
    if (!now) changes.push(`column "${column.name}" removed`);
    else if (now.type !== column.type) changes.push(`column "${column.name}" type changed to ${now.type}`);
  }
  if ((applied.key ?? []).join(',') !== (next.key ?? []).join(',')) changes.push('key changed');
  if (applied.window.kind !== next.window.kind) changes.push(`window changed to ${next.window.kind}`);
  if (applied.window.entity !== next.window.entity) changes.push('entity changed');
  if (applied.table !== next.table) changes.push(`table changed to "${next.table}"`);
  return changes;
}

/**
 * Applies a KPI definition: creates its table and registers it, or evolves the applied one. Any applied
 * change recomputes every window (the watermark on the change log starts again); a changed calendar
 * also empties the table first, since its windows are no longer the same. Columns may be added in a
 * minor version; other layout changes need a new major version with a new table.
 */
export async function applyKpi(
  client: pg.ClientBase,
  definition: KpiDefinition,
  entityKey: string | undefined,
  file?: string,
): Promise<ApplyOutcome> {
  const { name, version } = definition.kpi;
  const { step, applied } = await beginApply(client, kpiRegistryPlace, name, definition, version, incompatibleChanges);
  if (step === 'unchanged') return 'unchanged';
  try {
    let outcome: ApplyOutcome = 'created';
    if (step === 'new' || step === 'major') {
      await client.query(kpiTableDdl(definition, entityKey));
    } else if (applied) {
      const known = new Set(applied.definition.columns.map((column) => column.name));
      for (const column of definition.columns.filter((column) => !known.has(column.name))) {
        await client.query(addKpiColumnDdl(definition, column));
      }
      if (canonical(applied.definition.window) !== canonical(definition.window)) {
        await client.query(`truncate business.${quoteIdentifier(definition.table)}`);
      }
      outcome = 'evolved';
    }
    await client.query(
      `insert into business.kpi_definitions (kpi, version, table_name, domain, owner, description, inputs, series, definition, file, applied_at)
       values ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9, now())
       on conflict (kpi) do update set version = excluded.version, table_name = excluded.table_name,
         domain = excluded.domain, owner = excluded.owner, description = excluded.description,
         inputs = excluded.inputs, series = excluded.series, definition = excluded.definition,
         file = excluded.file, applied_at = now()`,
      [
        name,
        version,
        definition.table,
        definition.kpi.domain,
        definition.kpi.owner,
        definition.kpi.description,
        definition.inputs,
        JSON.stringify(definition),
        file ?? null,
        definition.series ?? [],
      ],
    );
    await client.query('insert into business.kpi_definition_versions (kpi, version, definition) values ($1, $2, $3)', [
      name,
      version,
      JSON.stringify(definition),
    ]);
    // Every window again, from the first change on: its computation or its inputs may have changed.
    await client.query(
      `insert into business.watermarks (kpi) values ($1)
       on conflict (kpi) do update set txid = '0', seq = 0, changes = 0, samples_txid = '0', samples_id = 0,
         updated_at = now()`,
      [name],
    );
    await client.query('commit');
    return outcome;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
