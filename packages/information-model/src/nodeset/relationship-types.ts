/**
 * ReferenceTypes -> I3X RelationshipTypes. I3X wants every relationship type's reverse registered too:
 * a symmetric ReferenceType (ConnectsTo) is its own reverse; any other gets a second, inverse entry named
 * by its InverseName (ComponentOf for HasComponent), and the two name each other in `reverseOf`.
 */
import type { RelationshipType } from '../model.js';
import type { AddressSpace, UaNode } from './address-space.js';
import { inverseElementIdOf } from './node-id.js';

export function relationshipTypes(space: AddressSpace): RelationshipType[] {
  const result: RelationshipType[] = [];
  for (const node of space.nodes.values()) {
    if (node.nodeClass === 'ReferenceType') result.push(...pair(node, space));
  }
  return result;
}

/** The reverse of a ReferenceType of this file or of a known model; undefined if the type is unknown. */
export function reverseOf(space: AddressSpace, typeId: string): string | undefined {
  const node = space.nodes.get(typeId);
  if (node?.nodeClass === 'ReferenceType') return node.symmetric ? typeId : inverseElementIdOf(typeId);
  return space.known.relationshipTypes.get(typeId)?.reverseOf;
}

function pair(node: UaNode, space: AddressSpace): RelationshipType[] {
  let supertype = space.supertypeOf(node.elementId);
  if (supertype !== undefined && !space.exists(supertype)) {
    space.warn('unresolved-supertype', `supertype ${supertype} of ${node.browseName} is not known`, node.elementId);
    supertype = undefined;
  }
  const common = {
    namespaceUri: node.nodeId.namespaceUri,
    relationshipId: node.nodeId.identifier,
    isAbstract: node.isAbstract,
    symmetric: node.symmetric,
    ...(node.description === undefined ? {} : { description: node.description }),
    source: { nodeClass: 'ReferenceType' as const, browseName: node.browseName },
  };
  const inverseId = inverseElementIdOf(node.elementId);
  const forward: RelationshipType = {
    elementId: node.elementId,
    displayName: node.displayName,
    ...common,
    reverseOf: node.symmetric ? node.elementId : inverseId,
    direction: 'forward',
    ...(supertype === undefined ? {} : { parentTypeId: supertype }),
  };
  if (node.symmetric) return [forward];
  return [
    forward,
    {
      elementId: inverseId,
      // Part 3 lets an abstract non-symmetric type leave out its InverseName.
      displayName: node.inverseName ?? `${node.displayName} (inverse)`,
      ...common,
      reverseOf: node.elementId,
      direction: 'inverse',
    },
  ];
}
