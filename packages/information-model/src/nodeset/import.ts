/**
 * importNodeSet: NodeSet2 XML text -> the information model it defines. Pure: no I/O, the same text (and
 * the same known models) always gives the same model, every list sorted by ElementId.
 */
import { type InformationModel, PLANTMESH_NAMESPACE, UNKNOWN_TYPE } from '../model.js';
import { AddressSpace, KnownModels } from './address-space.js';
import { DataTypeSchemas } from './data-types.js';
import type { ImportWarning } from './errors.js';
import { checkRequiredModels, namespaces } from './namespaces.js';
import { ObjectTypeMapper } from './object-types.js';
import { mapObjects } from './objects.js';
import { relationshipTypes } from './relationship-types.js';
import { DEFAULT_XML_LIMITS, readNodeSetXml, type XmlLimits } from './xml.js';

export interface ImportOptions {
  /**
   * Models imported before, that this NodeSet may build on (its RequiredModels: the OPC UA base, DI, ...).
   * References into them resolve; their elements are not repeated in the result.
   */
  known?: readonly InformationModel[];
  /** Longest text accepted, in characters (default 64 Mi). */
  maxCharacters?: number;
  /** Deepest element nesting accepted (default 64). */
  maxDepth?: number;
}

export interface ImportResult {
  model: InformationModel;
  /** What was skipped or could not be resolved; the model holds everything else. */
  warnings: ImportWarning[];
}

/** Imports one NodeSet2 document. Throws NodeSetError if the text is not one; anything less is a warning. */
export function importNodeSet(xml: string | Uint8Array, options: ImportOptions = {}): ImportResult {
  const limits: XmlLimits = {
    maxCharacters: options.maxCharacters ?? DEFAULT_XML_LIMITS.maxCharacters,
    maxDepth: options.maxDepth ?? DEFAULT_XML_LIMITS.maxDepth,
  };
  const raw = readNodeSetXml(xml, limits);
  const space = new AddressSpace(raw, new KnownModels(options.known ?? []));
  checkRequiredModels(space);

  const modelNamespaces = namespaces(space);
  const versions = new Map(modelNamespaces.map((namespace) => [namespace.uri, namespace.version]));
  const dataTypes = new DataTypeSchemas(space);
  const types = new ObjectTypeMapper(space, dataTypes, (uri) => versions.get(uri));
  const objectTypes = types.objectTypes();
  const { objects, usesUnknownType } = mapObjects(space, (id) => types.isType(id));
  if (usesUnknownType) {
    objectTypes.push(UNKNOWN_TYPE);
    modelNamespaces.push(PLANTMESH_NAMESPACE);
  }
  const model: InformationModel = {
    namespaces: modelNamespaces.sort((a, b) => compare(a.uri, b.uri)),
    objectTypes: byElementId(objectTypes),
    relationshipTypes: byElementId(relationshipTypes(space)),
    objects: byElementId(objects),
    dataTypes: byElementId(dataTypes.dataTypes()),
  };
  return { model, warnings: space.warnings };
}

function byElementId<T extends { elementId: string }>(items: T[]): T[] {
  return items.sort((a, b) => compare(a.elementId, b.elementId));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
