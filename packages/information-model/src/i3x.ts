/**
 * The model's elements in the shapes of the I3X 1.0 OpenAPI responses (Namespace, ObjectTypeResponse,
 * RelationshipType, ObjectInstanceResponse), so a server serves exactly what the import produced.
 */
import type { Namespace, ObjectInstance, ObjectType, RelationshipType } from './model.js';

export interface I3xNamespace {
  uri: string;
  displayName: string;
}

export interface I3xObjectType {
  elementId: string;
  displayName: string;
  namespaceUri: string;
  sourceTypeId: string;
  version: string | null;
  schema: Record<string, unknown>;
  related: { relationshipType: 'InheritsFrom'; types: string[] } | null;
}

export interface I3xRelationshipType {
  elementId: string;
  displayName: string;
  namespaceUri: string;
  relationshipId: string;
  reverseOf: string;
}

export interface I3xObject {
  elementId: string;
  displayName: string;
  typeElementId: string;
  parentId: string | null;
  isComposition: boolean;
  isExtended: boolean;
  metadata?: {
    typeNamespaceUri: string | null;
    sourceTypeId: string | null;
    description: string | null;
    /** Outgoing edges by relationship type elementId, always a list of target elementIds. */
    relationships: Record<string, string[]>;
    system: Record<string, unknown>;
  };
}

export function toI3xNamespace(namespace: Namespace): I3xNamespace {
  return { uri: namespace.uri, displayName: namespace.displayName };
}

export function toI3xObjectType(type: ObjectType): I3xObjectType {
  return {
    elementId: type.elementId,
    displayName: type.displayName,
    namespaceUri: type.namespaceUri,
    sourceTypeId: type.sourceTypeId,
    version: type.version ?? null,
    schema: type.schema,
    related: type.parentTypeId === undefined ? null : { relationshipType: 'InheritsFrom', types: [type.parentTypeId] },
  };
}

export function toI3xRelationshipType(type: RelationshipType): I3xRelationshipType {
  return {
    elementId: type.elementId,
    displayName: type.displayName,
    namespaceUri: type.namespaceUri,
    relationshipId: type.relationshipId,
    reverseOf: type.reverseOf,
  };
}

/** An object as `/objects` returns it; `typeOf` finds its type for the metadata (any model's). */
export function toI3xObject(
  object: ObjectInstance,
  options: { includeMetadata?: boolean; typeOf?: (elementId: string) => ObjectType | undefined } = {},
): I3xObject {
  const result: I3xObject = {
    elementId: object.elementId,
    displayName: object.displayName,
    typeElementId: object.typeElementId,
    parentId: object.parentId ?? null,
    isComposition: object.isComposition,
    // An imported object's value is exactly its type's schema.
    isExtended: false,
  };
  if (!options.includeMetadata) return result;
  const type = options.typeOf?.(object.typeElementId);
  const relationships: Record<string, string[]> = {};
  for (const edge of object.relationships) {
    const targets = relationships[edge.type] ?? [];
    targets.push(edge.targetId);
    relationships[edge.type] = targets;
  }
  result.metadata = {
    typeNamespaceUri: type?.namespaceUri ?? null,
    sourceTypeId: type?.sourceTypeId ?? null,
    description: object.description ?? null,
    relationships,
    system: { nodeClass: object.source.nodeClass, browseName: object.source.browseName },
  };
  return result;
}
