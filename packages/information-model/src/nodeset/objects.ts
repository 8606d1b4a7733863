/**
 * Object nodes -> I3X objects. Only instances count: an Object below a type (an instance declaration,
 * with or without a ModellingRule, placeholders included) describes the type's shape and is already in
 * its schema; objects that describe the type system itself (encodings, modelling rules) and those marked
 * DesignToolOnly (not exposed by a server) are left out.
 *
 * - type: the HasTypeDefinition target, or the UnknownType placeholder;
 * - parent: the object that has it as a component (HasComponent and subtypes), else the one that
 *   organizes it (Organizes and subtypes); the ParentNodeId hint breaks a tie, then the smallest ElementId;
 * - isComposition: it has at least one object as a HasComponent child;
 * - relationships: every reference between two objects, stored on both ends (the far end with the
 *   reverse relationship type), as I3X requires.
 */
import { type ObjectInstance, type Relationship, UNKNOWN_TYPE } from '../model.js';
import type { AddressSpace, UaNode } from './address-space.js';
import { reverseOf } from './relationship-types.js';
import { REF, TYPE } from './well-known.js';

const TYPE_CLASSES = new Set(['ObjectType', 'VariableType', 'DataType', 'ReferenceType']);
const META_TYPES = [TYPE.dataTypeEncodingType, TYPE.modellingRuleType, TYPE.dataTypeSystemType];

export interface MappedObjects {
  objects: ObjectInstance[];
  /** True if some object's type could not be resolved and uses UNKNOWN_TYPE. */
  usesUnknownType: boolean;
}

export function mapObjects(space: AddressSpace, isType: (elementId: string) => boolean): MappedObjects {
  const declarations = instanceDeclarations(space);
  const instances = new Map<string, UaNode>();
  for (const node of space.nodes.values()) {
    if (node.nodeClass !== 'Object' || node.designToolOnly || declarations.has(node.elementId)) continue;
    const typeDefinition = space.typeDefinitionOf(node.elementId);
    if (typeDefinition !== undefined && META_TYPES.some((meta) => space.isSubtypeOf(typeDefinition, meta))) continue;
    instances.set(node.elementId, node);
  }
  const isObject = (id: string) => instances.has(id) || space.known.objects.has(id);
  const edges = relationshipsBetween(space, instances, isObject);
  let usesUnknownType = false;
  const objects: ObjectInstance[] = [];
  for (const node of instances.values()) {
    const typeDefinition = space.typeDefinitionOf(node.elementId);
    let typeElementId = typeDefinition;
    if (typeDefinition === undefined || !isType(typeDefinition)) {
      space.warn(
        'unresolved-type-definition',
        `object ${node.browseName} has ${typeDefinition === undefined ? 'no type definition' : `an unknown type definition ${typeDefinition}`}; typed UnknownType`,
        node.elementId,
      );
      typeElementId = UNKNOWN_TYPE.elementId;
      usesUnknownType = true;
    }
    const parentId = parentOf(space, node, isObject);
    objects.push({
      elementId: node.elementId,
      displayName: node.displayName,
      namespaceUri: node.nodeId.namespaceUri,
      typeElementId: typeElementId ?? UNKNOWN_TYPE.elementId,
      ...(parentId === undefined ? {} : { parentId }),
      isComposition: space.outgoing(node.elementId, REF.hasComponent).some((edge) => isObject(edge.target)),
      relationships: edges.get(node.elementId) ?? [],
      ...(node.description === undefined ? {} : { description: node.description }),
      source: { nodeClass: 'Object', browseName: node.browseName },
    });
  }
  return { objects, usesUnknownType };
}

/**
 * Nodes that are part of a type's definition: everything reachable from a type node along Aggregates
 * references or ParentNodeId, and anything with a ModellingRule. A breadth-first walk, not recursion:
 * hierarchies in a hostile file can be arbitrarily deep.
 */
function instanceDeclarations(space: AddressSpace): Set<string> {
  const childrenByParentHint = new Map<string, string[]>();
  for (const node of space.nodes.values()) {
    if (node.parentNodeId === undefined) continue;
    const list = childrenByParentHint.get(node.parentNodeId);
    if (list) list.push(node.elementId);
    else childrenByParentHint.set(node.parentNodeId, [node.elementId]);
  }
  const declarations = new Set<string>();
  const queue: string[] = [];
  const enqueueChildrenOf = (id: string) => {
    for (const edge of space.outgoing(id, REF.aggregates)) queue.push(edge.target);
    for (const child of childrenByParentHint.get(id) ?? []) queue.push(child);
  };
  for (const node of space.nodes.values()) {
    if (TYPE_CLASSES.has(node.nodeClass)) enqueueChildrenOf(node.elementId);
    else if (space.modellingRuleOf(node.elementId) !== undefined) queue.push(node.elementId);
    else if (space.incoming(node.elementId, REF.aggregates).some((edge) => space.known.objectTypes.has(edge.source))) {
      queue.push(node.elementId); // a member added to a type of another model
    }
  }
  for (let index = 0; index < queue.length; index++) {
    const id = queue[index]!;
    const node = space.nodes.get(id);
    if (!node || declarations.has(id) || TYPE_CLASSES.has(node.nodeClass)) continue;
    declarations.add(id);
    enqueueChildrenOf(id);
  }
  return declarations;
}

function parentOf(space: AddressSpace, node: UaNode, isObject: (id: string) => boolean): string | undefined {
  for (const kind of [REF.hasComponent, REF.organizes]) {
    const candidates = space
      .incoming(node.elementId, kind)
      .map((edge) => edge.source)
      .filter(isObject);
    if (candidates.length === 0) continue;
    if (node.parentNodeId !== undefined && candidates.includes(node.parentNodeId)) return node.parentNodeId;
    return candidates.sort()[0];
  }
  return undefined;
}

/** Each object's edges to other objects, both directions, sorted by type then target. */
function relationshipsBetween(
  space: AddressSpace,
  instances: ReadonlyMap<string, UaNode>,
  isObject: (id: string) => boolean,
): Map<string, Relationship[]> {
  const result = new Map<string, Map<string, Relationship>>();
  const add = (owner: string, type: string, targetId: string) => {
    if (!instances.has(owner)) return; // the other end belongs to a known model: see mergeModels
    let edges = result.get(owner);
    if (!edges) {
      edges = new Map();
      result.set(owner, edges);
    }
    edges.set(`${type}\n${targetId}`, { type, targetId });
  };
  const unresolvedTypes = new Set<string>();
  for (const id of instances.keys()) {
    for (const edge of [...space.outgoing(id), ...space.incoming(id)]) {
      if (!isObject(edge.source) || !isObject(edge.target)) continue;
      const reverse = reverseOf(space, edge.type);
      if (reverse === undefined) {
        if (!unresolvedTypes.has(edge.type)) {
          unresolvedTypes.add(edge.type);
          space.warn(
            'unresolved-reference-type',
            `references of type ${edge.type} between objects are left out: the type is not known`,
            edge.type,
          );
        }
        continue;
      }
      add(edge.source, edge.type, edge.target);
      add(edge.target, reverse, edge.source);
    }
  }
  const sorted = new Map<string, Relationship[]>();
  for (const [owner, edges] of result) {
    sorted.set(owner, [...edges.values()].sort(compareRelationships));
  }
  return sorted;
}

export function compareRelationships(a: Relationship, b: Relationship): number {
  return a.type < b.type ? -1 : a.type > b.type ? 1 : a.targetId < b.targetId ? -1 : a.targetId > b.targetId ? 1 : 0;
}
