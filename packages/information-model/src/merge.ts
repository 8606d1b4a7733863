/**
 * Several imported models -> one address space. An import stores a reference to an object of an earlier
 * model on its own object only (it cannot change the earlier model); the merge adds the reverse edge on
 * the other end and sets isComposition where the new edges give an earlier object components.
 */
import type { InformationModel, ObjectInstance, Relationship, RelationshipType } from './model.js';
import { compareRelationships } from './nodeset/objects.js';
import { REF } from './nodeset/well-known.js';

/** Union by ElementId (a later model's element replaces an earlier one), with every edge on both ends. */
export function mergeModels(models: readonly InformationModel[]): InformationModel {
  const namespaces = new Map(models.flatMap((model) => model.namespaces.map((item) => [item.uri, item] as const)));
  const objectTypes = byId(models.flatMap((model) => model.objectTypes));
  const relationshipTypes = byId(models.flatMap((model) => model.relationshipTypes));
  const dataTypes = byId(models.flatMap((model) => model.dataTypes));
  const objects = new Map<string, ObjectInstance>();
  for (const object of models.flatMap((model) => model.objects)) {
    objects.set(object.elementId, { ...object, relationships: [...object.relationships] });
  }

  const edgeKeys = new Map<string, Set<string>>();
  const keysOf = (object: ObjectInstance) => {
    let keys = edgeKeys.get(object.elementId);
    if (!keys) {
      keys = new Set(object.relationships.map((edge) => `${edge.type}\n${edge.targetId}`));
      edgeKeys.set(object.elementId, keys);
    }
    return keys;
  };
  for (const object of [...objects.values()]) {
    for (const edge of [...object.relationships]) {
      const other = objects.get(edge.targetId);
      const reverse = relationshipTypes.get(edge.type)?.reverseOf;
      if (!other || reverse === undefined) continue;
      const key = `${reverse}\n${object.elementId}`;
      if (keysOf(other).has(key)) continue;
      keysOf(other).add(key);
      other.relationships.push({ type: reverse, targetId: object.elementId });
    }
  }
  const isComponent = componentTypes(relationshipTypes);
  for (const object of objects.values()) {
    object.relationships.sort(compareRelationships);
    // Only ever set: an import knows composition edges that it could not store (unknown relationship type).
    object.isComposition ||= object.relationships.some(
      (edge: Relationship) => isComponent(edge.type) && objects.has(edge.targetId),
    );
  }
  return {
    namespaces: [...namespaces.values()].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)),
    objectTypes: sorted(objectTypes),
    relationshipTypes: sorted(relationshipTypes),
    objects: sorted(objects),
    dataTypes: sorted(dataTypes),
  };
}

/** Is a relationship type HasComponent or one of its subtypes (forward direction)? */
function componentTypes(types: ReadonlyMap<string, RelationshipType>): (typeId: string) => boolean {
  const memo = new Map<string, boolean>();
  return (typeId) => {
    const known = memo.get(typeId);
    if (known !== undefined) return known;
    const seen = new Set<string>();
    let result = false;
    for (let current: string | undefined = typeId; current !== undefined; current = types.get(current)?.parentTypeId) {
      if (current === REF.hasComponent) {
        result = true;
        break;
      }
      if (seen.has(current)) break;
      seen.add(current);
    }
    memo.set(typeId, result);
    return result;
  };
}

function byId<T extends { elementId: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [item.elementId, item]));
}

function sorted<T>(map: Map<string, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, item]) => item);
}
