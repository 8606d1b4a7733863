/**
 * The information model: what the I3X API serves as its address space. Field names follow the I3X 1.0
 * OpenAPI schemas (Namespace, ObjectTypeResponse, RelationshipType, ObjectInstanceResponse) where they
 * exist; the extra fields are what a store needs to keep a re-import consistent (source ids, supertype
 * chains, data types for later imports that build on this one).
 */

/** A JSON Schema (2020-12) document or subschema. Kept open: schemas are data, not code. */
export type JsonSchema = { [keyword: string]: unknown };

/** The JSON Schema dialect every `schema` in the model is written in. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** I3X `Namespace`: groups the types. One per NodeSet model (its ModelUri). */
export interface Namespace {
  uri: string;
  displayName: string;
  /** The model's version, semver where the source gives one (NodeSet ModelVersion). */
  version?: string;
  /** When the source published this version (NodeSet PublicationDate), ISO 8601. */
  publicationDate?: string;
  /** The namespaces this one builds on (NodeSet RequiredModel), with the version it was written against. */
  requiredModels?: Array<{ uri: string; version?: string }>;
}

/** Where a type, relationship type or object came from in OPC UA terms (I3X `metadata.system`-like). */
export interface OpcUaSource {
  /** The NodeClass of the source node. */
  nodeClass: 'Object' | 'ObjectType' | 'VariableType' | 'ReferenceType' | 'DataType';
  /** The BrowseName without its namespace index, e.g. `DeviceType`. */
  browseName: string;
}

/** I3X `ObjectTypeResponse`, plus the supertype and abstractness a store keeps. */
export interface ObjectType {
  elementId: string;
  displayName: string;
  namespaceUri: string;
  /** The type's id inside its namespace: the NodeId without namespace, e.g. `i=1002`. */
  sourceTypeId: string;
  version?: string;
  /** JSON Schema 2020-12 of an instance's value. A subtype is `allOf` [ref to supertype, own members]. */
  schema: JsonSchema;
  /** ElementId of the supertype (I3X `InheritsFrom`), absent for a root type. */
  parentTypeId?: string;
  isAbstract: boolean;
  description?: string;
  source: OpcUaSource;
}

/** I3X `RelationshipType`. Every forward type has a reverse one registered too (or is its own reverse). */
export interface RelationshipType {
  elementId: string;
  displayName: string;
  namespaceUri: string;
  /** The ReferenceType's id inside its namespace, e.g. `i=47`, for both directions. */
  relationshipId: string;
  /** ElementId of the reverse relationship type (itself for a symmetric one). */
  reverseOf: string;
  /** `forward` is the ReferenceType as declared, `inverse` the one named by its InverseName. */
  direction: 'forward' | 'inverse';
  /** ElementId of the forward supertype (forward entries only). */
  parentTypeId?: string;
  isAbstract: boolean;
  symmetric: boolean;
  description?: string;
  source: OpcUaSource;
}

/** One outgoing edge of an object: the relationship type's elementId and the other object's elementId. */
export interface Relationship {
  type: string;
  targetId: string;
}

/** I3X `ObjectInstanceResponse` (with `metadata.relationships` kept as a list of edges). */
export interface ObjectInstance {
  elementId: string;
  displayName: string;
  /** The namespace of the node that defined the object (instances have no namespace in I3X; a store does). */
  namespaceUri: string;
  /** ElementId of its ObjectType (`UnknownType` where the type definition could not be resolved). */
  typeElementId: string;
  /** ElementId of the parent object in the hierarchy; absent for a root object. */
  parentId?: string;
  /** True if the object has HasComponent children that are objects (its value is composed of theirs). */
  isComposition: boolean;
  /** Outgoing edges in both directions of every reference between two objects (inverse ones use the reverse type). */
  relationships: Relationship[];
  description?: string;
  source: OpcUaSource;
}

/**
 * An OPC UA DataType with the JSON Schema of its values. Not an I3X element: kept so that variables of a
 * later import whose DataType lives in this model get the right schema.
 */
export interface DataType {
  elementId: string;
  displayName: string;
  namespaceUri: string;
  sourceTypeId: string;
  parentTypeId?: string;
  isAbstract: boolean;
  schema: JsonSchema;
  source: OpcUaSource;
}

/** Everything one import (or a merge of imports) adds to the address space, each list sorted by elementId. */
export interface InformationModel {
  namespaces: Namespace[];
  objectTypes: ObjectType[];
  relationshipTypes: RelationshipType[];
  objects: ObjectInstance[];
  dataTypes: DataType[];
}

/** The namespace of the placeholder type below. */
export const PLANTMESH_NAMESPACE: Namespace = { uri: 'https://plantmesh.dev/ns/i3x', displayName: 'plantmesh' };

/** The I3X `UnknownType` placeholder: the type of objects whose type definition could not be resolved. */
export const UNKNOWN_TYPE: ObjectType = {
  elementId: 'UnknownType',
  displayName: 'UnknownType',
  namespaceUri: PLANTMESH_NAMESPACE.uri,
  sourceTypeId: 'UnknownType',
  schema: { type: 'object' },
  isAbstract: false,
  description: 'Placeholder for objects whose type could not be determined at import',
  source: { nodeClass: 'ObjectType', browseName: 'UnknownType' },
};

export function emptyModel(): InformationModel {
  return { namespaces: [], objectTypes: [], relationshipTypes: [], objects: [], dataTypes: [] };
}
