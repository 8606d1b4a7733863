/**
 * `plantmesh import assets FILE.yaml`: an asset-model file stored as the loader `assets`, in one transaction.
 * What it stored before and the file no longer has is removed; an equipment or series object it had taken
 * over from the topic paths goes back to what the paths give (loader `equipment`). The file's rules for
 * series are kept in model_loader_state, so that series that appear later are placed as the file says.
 */
import { DefinitionError, type DefinitionProblem } from '@plantmesh/core';
import type pg from 'pg';
import { type AssetModelBuild, buildAssetModel } from '../assets/build.js';
import { isElementIdRef, type ParsedAssetModel } from '../assets/file.js';
import type { AssetRules } from '../assets/rules.js';
import { platformModel } from '../platform.js';
import type { SeriesRow } from './equipment.js';
import { type StoreResult, storeModelInTransaction } from './write.js';

export const ASSETS_LOADER = 'assets';

export interface AssetStoreResult extends StoreResult {
  file: string;
  /** Objects given back to the topic paths' hierarchy (the file no longer names them). */
  restored: number;
  /** Series objects the file's rules place (under equipment, or with relationships). */
  series: number;
}

/** Stores a parsed file. Throws a DefinitionError for references the store does not resolve; nothing is then stored. */
export async function storeAssetModel(client: pg.ClientBase, parsed: ParsedAssetModel): Promise<AssetStoreResult> {
  await client.query('begin');
  try {
    // The equipment sync's lock first (it writes `assets` rows for new series too), then ours in storeModel.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', ['plantmesh.model:equipment']);
    await storeModelInTransaction(client, platformModel(), 'platform');
    const build = await build_(client, parsed);
    const kept = build.model.objects.map((object) => object.elementId);
    const owned = await client.query<{ element_id: string }>(
      `select element_id from curated.model_objects where source = $1 and element_id <> all($2::text[])`,
      [ASSETS_LOADER, kept],
    );
    const restore = owned.rows.flatMap((row) => build.derived.get(row.element_id) ?? []);
    if (restore.length > 0) {
      await storeModelInTransaction(
        client,
        { namespaces: [], objectTypes: [], relationshipTypes: [], dataTypes: [], objects: restore },
        'equipment',
        { replace: false },
      );
    }
    const result = await storeModelInTransaction(client, build.model, ASSETS_LOADER);
    await client.query(
      `insert into curated.model_loader_state (loader, state) values ($1, $2)
       on conflict (loader) do update set state = excluded.state, updated_at = now()`,
      [ASSETS_LOADER, { file: parsed.file, rules: build.rules }],
    );
    await client.query('commit');
    return {
      ...result,
      file: parsed.file,
      restored: restore.length,
      series: build.model.objects.filter((object) => object.value !== undefined).length,
    };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/** The rules of the asset model stored last, if any (for the equipment sync). */
export async function storedAssetRules(client: pg.ClientBase): Promise<AssetRules | undefined> {
  const { rows } = await client.query<{ state: { rules?: AssetRules } }>(
    'select state from curated.model_loader_state where loader = $1',
    [ASSETS_LOADER],
  );
  return rows[0]?.state.rules;
}

/** Reads what the file's references need from the store, checks them, and builds the loader's model. */
async function build_(client: pg.ClientBase, parsed: ParsedAssetModel): Promise<AssetModelBuild> {
  const file = parsed.model;
  const typeRefs = [
    ...(file.objectTypes ?? []).flatMap((type) => (type.inheritsFrom === undefined ? [] : [type.inheritsFrom])),
    ...file.equipment.flatMap((item) => (item.type === undefined ? [] : [item.type])),
  ].filter(isElementIdRef);
  const declared = (file.relationshipTypes ?? []).flatMap((type) => [type.id, type.reverse ?? type.id]);
  const relationshipRefs = [...declared, ...(file.relationships ?? []).map((edge) => edge.type).filter(isElementIdRef)];
  const types = await client.query<{ element_id: string }>(
    'select element_id from curated.model_object_types where element_id = any($1::text[])',
    [typeRefs],
  );
  const relationshipTypes = await client.query<{ element_id: string; reverse_of: string; source: string }>(
    'select element_id, reverse_of, source from curated.model_relationship_types where element_id = any($1::text[])',
    [relationshipRefs],
  );
  // A relationship type another loader stored may be used, not redefined with another reverse.
  const problems: DefinitionProblem[] = [];
  const storedReverse = new Map(
    relationshipTypes.rows.filter((row) => row.source !== ASSETS_LOADER).map((row) => [row.element_id, row]),
  );
  (file.relationshipTypes ?? []).forEach((type, i) => {
    const reverse = type.symmetric === true ? type.id : (type.reverse ?? type.id);
    for (const [name, other] of [
      [type.id, reverse],
      [reverse, type.id],
    ] as const) {
      const row = storedReverse.get(name);
      if (row && row.reverse_of !== other) {
        problems.push(
          parsed.at(
            ['relationshipTypes', i],
            `relationship type "${name}" is stored by ${row.source} with the reverse "${row.reverse_of}"`,
          ),
        );
      }
    }
  });
  if (problems.length > 0) throw new DefinitionError(problems);
  const series = await client.query<SeriesRow>(
    `select series_id as id, system ->> 'seriesPath' as path, system ->> 'unit' as unit
     from curated.model_objects where value_source = 'series' and system ? 'seriesPath' order by series_id`,
  );
  return buildAssetModel(parsed, series.rows, {
    objectTypes: new Set(types.rows.map((row) => row.element_id)),
    relationshipTypes: new Map(
      relationshipTypes.rows
        .filter((row) => isElementIdRef(row.element_id))
        .map((row) => [row.element_id, row.reverse_of]),
    ),
  });
}
