/**
 * The ISA-95 equipment hierarchy of the sensor series: each metrics.series path `site/area/line/cell/tag`
 * gives a Site, Area, Line and Cell object (HasParent / HasChildren) and one value-bearing object for the
 * series under its cell, a component of it (the cell's value is composed of its sensors'), typed by its
 * unit's measurement type. Incremental: series are never removed or renamed, so only those with an id
 * above the last one made into objects are read.
 */
import type pg from 'pg';
import { AssetRuleMatcher } from '../assets/rules.js';
import type { ObjectType } from '../model.js';
import {
  EQUIPMENT_LEVELS,
  equipmentId,
  measurementType,
  measurementTypeId,
  PLATFORM_NAMESPACE,
  seriesObjectId,
} from '../platform.js';
import { storedAssetRules } from './assets.js';
import { type StoredObject, type StoreModel, storeModelInTransaction } from './write.js';

export interface SeriesRow {
  id: number;
  path: string;
  unit: string | null;
}

/** The equipment and series objects (and the measurement types) of some series. Pure. */
export function equipmentModel(series: readonly SeriesRow[]): StoreModel {
  const objects = new Map<string, StoredObject>();
  const types = new Map<string, ObjectType>();
  for (const row of series) {
    const segments = row.path.split('/');
    // The levels above the tag: at most site/area/line/cell; a deeper path's rest names the series.
    const levels = Math.min(EQUIPMENT_LEVELS.length, segments.length - 1);
    let parentId: string | undefined;
    for (let depth = 0; depth < levels; depth += 1) {
      const path = segments.slice(0, depth + 1).join('/');
      const elementId = equipmentId(path);
      const level = EQUIPMENT_LEVELS[depth] as (typeof EQUIPMENT_LEVELS)[number];
      if (!objects.has(elementId)) {
        objects.set(elementId, {
          elementId,
          displayName: segments[depth] || '(empty)',
          namespaceUri: PLATFORM_NAMESPACE.uri,
          typeElementId: level.type,
          ...(parentId === undefined ? {} : { parentId }),
          isComposition: false,
          relationships: [],
          description: `${level.name} ${path}`,
          source: { nodeClass: 'Object', browseName: segments[depth] ?? '' },
          system: { path, level: level.name.toLowerCase() },
        });
      }
      parentId = elementId;
    }
    const type = measurementType(row.unit);
    types.set(type.elementId, type);
    objects.set(seriesObjectId(row.path), {
      elementId: seriesObjectId(row.path),
      displayName: segments.slice(levels).join('/') || '(empty)',
      namespaceUri: PLATFORM_NAMESPACE.uri,
      typeElementId: measurementTypeId(row.unit),
      ...(parentId === undefined ? {} : { parentId, componentOfParent: true }),
      isComposition: false,
      relationships: [],
      description: `Sensor series ${row.path}${row.unit ? ` (${row.unit})` : ''}`,
      source: { nodeClass: 'Object', browseName: segments.at(-1) ?? '' },
      system: { seriesPath: row.path, seriesId: row.id, unit: row.unit },
      value: { series: row.id },
    });
  }
  return {
    // The platform's namespace is the platform loader's (storePlatform); these are in it.
    namespaces: [],
    objectTypes: [...types.values()],
    relationshipTypes: [],
    objects: [...objects.values()],
    dataTypes: [],
  };
}

export interface EquipmentSyncResult {
  series: number;
  objects: number;
  /** The highest metrics.series id made into objects. */
  lastSeriesId: number;
}

const LOADER = 'equipment';

/**
 * Brings the equipment objects up to date with metrics.series: reads the series above the watermark from
 * the metrics store (`metrics`, which may be another database) and writes their objects and the new
 * watermark in one transaction of the curated store (`curated`, a client not in a transaction). Replicas
 * may run it at once: they take turns on a transaction lock and the second finds nothing new.
 */
export async function syncEquipment(
  metrics: pg.Pool | pg.ClientBase,
  curated: pg.ClientBase,
  options: { batch?: number } = {},
): Promise<EquipmentSyncResult> {
  const batch = options.batch ?? 5_000;
  const result: EquipmentSyncResult = { series: 0, objects: 0, lastSeriesId: 0 };
  for (;;) {
    await curated.query('begin');
    try {
      await curated.query('select pg_advisory_xact_lock(hashtext($1))', [`plantmesh.model:${LOADER}`]);
      const state = await curated.query<{ state: { lastSeriesId?: number } }>(
        'select state from curated.model_loader_state where loader = $1',
        [LOADER],
      );
      const after = state.rows[0]?.state.lastSeriesId ?? 0;
      const { rows } = await metrics.query<SeriesRow>(
        'select id, path, unit from metrics.series where id > $1 order by id limit $2',
        [after, batch],
      );
      result.lastSeriesId = Math.max(result.lastSeriesId, after);
      if (rows.length === 0) {
        await curated.query('rollback');
        return result;
      }
      const model = equipmentModel(rows);
      // Objects another loader has taken over (an asset-model file's equipment) are its, not re-derived.
      const owned = await curated.query<{ element_id: string }>(
        'select element_id from curated.model_objects where element_id = any($1::text[]) and source <> $2',
        [model.objects.map((object) => object.elementId), LOADER],
      );
      const others = new Set(owned.rows.map((row) => row.element_id));
      // New series an asset-model file places (under a machine, with relationships) are its loader's.
      const assetRules = await storedAssetRules(curated);
      const rules = assetRules && new AssetRuleMatcher(assetRules);
      const placed: StoredObject[] = [];
      model.objects = model.objects.filter((object) => {
        if (others.has(object.elementId)) return false;
        const path = object.system?.seriesPath;
        const ruled = rules && typeof path === 'string' ? rules.apply(object, path) : undefined;
        if (ruled) placed.push(ruled);
        return ruled === undefined;
      });
      const stored = await storeModelInTransaction(curated, model, LOADER, { replace: false });
      if (placed.length > 0) {
        const empty = { namespaces: [], objectTypes: [], relationshipTypes: [], dataTypes: [] };
        await storeModelInTransaction(curated, { ...empty, objects: placed }, 'assets', { replace: false });
      }
      const last = (rows.at(-1) as SeriesRow).id;
      await curated.query(
        `insert into curated.model_loader_state (loader, state) values ($1, $2)
         on conflict (loader) do update set state = excluded.state, updated_at = now()`,
        [LOADER, { lastSeriesId: last }],
      );
      await curated.query('commit');
      result.series += rows.length;
      result.objects += stored.objects + placed.length;
      result.lastSeriesId = last;
      if (rows.length < batch) return result;
    } catch (error) {
      await curated.query('rollback').catch(() => {});
      throw error;
    }
  }
}
