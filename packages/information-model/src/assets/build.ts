/**
 * An asset-model file -> the part of the model its loader (`assets`) owns, merged with the hierarchy the
 * sensor topic paths give (store/equipment.ts). Pure: the store passes the stored series and what it knows
 * of the types the file names by ElementId.
 *
 * - Equipment with a `path` takes the ElementId the topic paths give it (`plantmesh:equipment:<path>`): the
 *   file's name, type, description and parent win over the derived ones; equipment without one is
 *   `plantmesh:asset:<id>`. Paths the file does not mention keep their derived objects.
 * - A series the file claims (`series:` of an equipment) becomes a component of that equipment (its value
 *   part of the equipment's), with the file's name if it gives one; a series at one end of a relationship
 *   carries the edge (the store writes the reverse on the other end).
 * - Types are `plantmesh:asset-type:<id>`; the ISA-95 levels the topic paths do not have are
 *   `plantmesh:types:Enterprise` and `plantmesh:types:WorkUnit`. Relationship types keep their names, in the
 *   file's namespace, as the curated products' do.
 */
import { DefinitionError, type DefinitionProblem } from '@plantmesh/core';
import { typeRef } from '../json-schema.js';
import type { JsonSchema, Namespace, ObjectType, RelationshipType } from '../model.js';
import { DEFAULT_PLANT_NAMESPACE, equipmentId, PLATFORM_NAMESPACE, seriesObjectId, TYPES } from '../platform.js';
import { equipmentModel, type SeriesRow } from '../store/equipment.js';
import type { StoredObject, StoreModel } from '../store/write.js';
import { type AssetModelFile, type EquipmentLevel, isElementIdRef, type ParsedAssetModel } from './file.js';
import { AssetRuleMatcher, type AssetRules } from './rules.js';

export const ASSET_TYPES = {
  enterprise: 'plantmesh:types:Enterprise',
  workUnit: 'plantmesh:types:WorkUnit',
} as const;

/** The ElementId of an equipment the file declares without a topic path. */
export function assetObjectId(id: string): string {
  return `plantmesh:asset:${id}`;
}

/** The ElementId of an object type the file declares. */
export function assetTypeId(id: string): string {
  return `plantmesh:asset-type:${id}`;
}

const LEVEL_TYPES: Record<EquipmentLevel, string> = {
  enterprise: ASSET_TYPES.enterprise,
  site: TYPES.site,
  area: TYPES.area,
  line: TYPES.line,
  cell: TYPES.cell,
  unit: ASSET_TYPES.workUnit,
};

const LEVEL_TYPE_BY_NAME: Record<string, string> = {
  Enterprise: ASSET_TYPES.enterprise,
  Site: TYPES.site,
  Area: TYPES.area,
  Line: TYPES.line,
  Cell: TYPES.cell,
  WorkUnit: ASSET_TYPES.workUnit,
};

export interface AssetModelBuild {
  /** What the `assets` loader stores (with replace: what it stored before and is not here goes). */
  model: StoreModel;
  rules: AssetRules;
  /** The objects the topic paths give, by ElementId: what an object the file no longer names goes back to. */
  derived: Map<string, StoredObject>;
}

/** What the store knows of the ElementIds a file names: types and relationship types (with their reverse). */
export interface StoredReferences {
  objectTypes: ReadonlySet<string>;
  relationshipTypes: ReadonlyMap<string, string>;
}

/** Builds the loader's model. Throws a DefinitionError for references the store does not have, or cycles. */
export function buildAssetModel(
  parsed: ParsedAssetModel,
  series: readonly SeriesRow[],
  stored: StoredReferences,
): AssetModelBuild {
  const { model: file, at } = parsed;
  const problems: DefinitionProblem[] = [];
  const namespace: Namespace = file.namespace ?? DEFAULT_PLANT_NAMESPACE;
  const derivedModel = equipmentModel(series);
  const derived = new Map(derivedModel.objects.map((object) => [object.elementId, object]));
  const fileTypes = new Set((file.objectTypes ?? []).map((type) => type.id));

  const resolveType = (ref: string, where: Array<string | number>): string => {
    if (fileTypes.has(ref)) return assetTypeId(ref);
    const level = LEVEL_TYPE_BY_NAME[ref];
    if (level !== undefined) return level;
    if (isElementIdRef(ref) && !stored.objectTypes.has(ref)) {
      problems.push(at(where, `type "${ref}" is not a stored object type (import its NodeSet first?)`));
    }
    return ref;
  };

  const objectTypes: ObjectType[] = [
    levelType(ASSET_TYPES.enterprise, 'Enterprise', 'An ISA-95 enterprise: the sites of one company'),
    levelType(ASSET_TYPES.workUnit, 'WorkUnit', 'An ISA-95 work unit: a machine or unit of a work cell'),
  ];
  (file.objectTypes ?? []).forEach((type, i) => {
    const parentTypeId =
      type.inheritsFrom === undefined ? undefined : resolveType(type.inheritsFrom, ['objectTypes', i, 'inheritsFrom']);
    const own: JsonSchema = { ...type.schema };
    delete own.$schema;
    const schema: JsonSchema =
      parentTypeId === undefined
        ? own
        : {
            ...(typeof own.type === 'string' ? { type: own.type } : {}),
            allOf: [{ $ref: typeRef(parentTypeId) }, own],
          };
    if (type.description !== undefined) schema.description = type.description;
    objectTypes.push({
      elementId: assetTypeId(type.id),
      displayName: type.name ?? type.id,
      namespaceUri: namespace.uri,
      sourceTypeId: type.sourceTypeId ?? type.id,
      ...(type.version === undefined ? {} : { version: type.version }),
      schema,
      ...(parentTypeId === undefined ? {} : { parentTypeId }),
      isAbstract: false,
      ...(type.description === undefined ? {} : { description: type.description }),
      source: { nodeClass: 'ObjectType', browseName: type.id },
    });
  });

  const relationshipTypes: RelationshipType[] = [];
  const reverseOf = new Map<string, string>(stored.relationshipTypes);
  for (const type of file.relationshipTypes ?? []) {
    const reverse = type.symmetric === true ? type.id : (type.reverse as string);
    reverseOf.set(type.id, reverse);
    reverseOf.set(reverse, type.id);
    const entry = (elementId: string, other: string, direction: 'forward' | 'inverse'): RelationshipType => ({
      elementId,
      displayName: elementId,
      namespaceUri: namespace.uri,
      relationshipId: type.id,
      reverseOf: other,
      direction,
      isAbstract: false,
      symmetric: reverse === type.id,
      ...(type.description === undefined
        ? {}
        : { description: direction === 'forward' ? type.description : `Reverse of ${type.id}: ${type.description}` }),
      source: { nodeClass: 'ReferenceType', browseName: elementId },
    });
    relationshipTypes.push(entry(type.id, reverse, 'forward'));
    if (reverse !== type.id) relationshipTypes.push(entry(reverse, type.id, 'inverse'));
  }

  // Equipment.
  const byId = new Map(file.equipment.map((item) => [item.id, item]));
  const idOf = (id: string): string => {
    const path = byId.get(id)?.path;
    return path === undefined ? assetObjectId(id) : equipmentId(path);
  };
  const filePaths = new Set(
    file.equipment.flatMap((item) => (item.path === undefined ? [] : [equipmentId(item.path)])),
  );
  const objects = new Map<string, StoredObject>();
  const lineOf = new Map<string, Array<string | number>>();
  file.equipment.forEach((item, i) => {
    const elementId = idOf(item.id);
    const base = derived.get(elementId);
    const declared = item.partOf ?? item.parent;
    let parentId = declared === undefined ? base?.parentId : idOf(declared);
    if (parentId === undefined && declared === undefined && item.path?.includes('/')) {
      const above = equipmentId(item.path.slice(0, item.path.lastIndexOf('/')));
      if (derived.has(above) || filePaths.has(above)) parentId = above;
    }
    const typeElementId =
      item.type !== undefined
        ? resolveType(item.type, ['equipment', i, 'type'])
        : item.level !== undefined
          ? LEVEL_TYPES[item.level]
          : (base?.typeElementId ?? 'UnknownType');
    const description = item.description ?? base?.description;
    objects.set(elementId, {
      elementId,
      displayName: item.name ?? base?.displayName ?? item.id,
      namespaceUri: namespace.uri,
      typeElementId,
      ...(parentId === undefined ? {} : { parentId }),
      ...(item.partOf === undefined ? {} : { componentOfParent: true }),
      isComposition: false,
      relationships: [],
      ...(description === undefined ? {} : { description }),
      source: { nodeClass: 'Object', browseName: item.id },
      system: {
        ...base?.system,
        assetId: item.id,
        ...(item.level === undefined ? {} : { level: item.level }),
        ...(item.path === undefined ? {} : { path: item.path }),
      },
    });
    lineOf.set(elementId, ['equipment', i, item.partOf === undefined ? 'parent' : 'partOf']);
  });

  // Relationships between equipment; those with a series end become rules.
  const rules: AssetRules = { claims: [], edges: [] };
  (file.relationships ?? []).forEach((edge, i) => {
    const reverse = reverseOf.get(edge.type);
    if (reverse === undefined) {
      problems.push(at(['relationships', i, 'type'], `"${edge.type}" is not a stored relationship type`));
      return;
    }
    if (typeof edge.from === 'string' && typeof edge.to === 'string') {
      objects.get(idOf(edge.from))?.relationships.push({ type: edge.type, targetId: idOf(edge.to) });
    } else if (typeof edge.to === 'string' && typeof edge.from !== 'string') {
      rules.edges.push({ filter: edge.from.series, type: edge.type, targetId: idOf(edge.to) });
    } else if (typeof edge.from === 'string' && typeof edge.to !== 'string') {
      rules.edges.push({ filter: edge.to.series, type: reverse, targetId: idOf(edge.from) });
    }
  });
  const claims = file.equipment.flatMap((item) =>
    (item.series ?? []).map((ref) => {
      const topic = typeof ref === 'string' ? ref : ref.topic;
      const extra: { name?: string; description?: string } = typeof ref === 'string' ? {} : ref;
      return {
        filter: topic,
        parentId: idOf(item.id),
        ...(extra.name === undefined ? {} : { name: extra.name }),
        ...(extra.description === undefined ? {} : { description: extra.description }),
      };
    }),
  );
  rules.claims = [...claims.filter((c) => !/[+#]/.test(c.filter)), ...claims.filter((c) => /[+#]/.test(c.filter))];

  const matcher = new AssetRuleMatcher(rules);
  for (const row of series) {
    const object = derived.get(seriesObjectId(row.path));
    if (!object) continue;
    const ruled = matcher.apply(object, row.path);
    if (ruled) objects.set(ruled.elementId, ruled);
  }

  // No cycle once merged with the derived hierarchy (a file parent may be a derived child's child).
  const parentOf = (id: string) => (objects.get(id) ?? derived.get(id))?.parentId;
  for (const [elementId, object] of objects) {
    if (object.parentId === undefined || !lineOf.has(elementId)) continue;
    const seen = new Set([elementId]);
    for (let current = parentOf(elementId); current !== undefined; current = parentOf(current)) {
      if (seen.has(current)) {
        problems.push(
          at(
            lineOf.get(elementId) as Array<string | number>,
            `the hierarchy goes round in a circle through ${current}`,
          ),
        );
        break;
      }
      seen.add(current);
    }
  }
  if (problems.length > 0) throw new DefinitionError(problems);

  return {
    model: {
      namespaces: namespace.uri === PLATFORM_NAMESPACE.uri ? [] : [withoutVersion(namespace)],
      objectTypes,
      relationshipTypes,
      objects: [...objects.values()],
      dataTypes: [],
    },
    rules,
    derived,
  };
}

function withoutVersion(namespace: Namespace & { version?: string }): Namespace {
  return {
    uri: namespace.uri,
    displayName: namespace.displayName,
    ...(namespace.version ? { version: namespace.version } : {}),
  };
}

function levelType(elementId: string, name: string, description: string): ObjectType {
  return {
    elementId,
    displayName: name,
    namespaceUri: PLATFORM_NAMESPACE.uri,
    sourceTypeId: name,
    version: '1.0.0',
    schema: { type: 'object' },
    isAbstract: false,
    description,
    source: { nodeClass: 'ObjectType', browseName: name },
  };
}

export type { AssetModelFile };
