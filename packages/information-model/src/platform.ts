/**
 * The platform's own part of the address space: the I3X relationship types every server has (HasParent /
 * HasChildren, HasComponent / ComponentOf, InheritsFrom), the ISA-95 equipment types of the sensor topic
 * paths, the leaf types of sensor series, and the types that hold the curated data products. Every
 * ElementId the platform makes starts with `plantmesh:` (NodeSet ElementIds start with `nsu=`), and is made
 * by the functions below only, so that it is the same in every process, restart and re-import.
 */
import {
  type InformationModel,
  type Namespace,
  type ObjectType,
  PLANTMESH_NAMESPACE,
  type RelationshipType,
  UNKNOWN_TYPE,
} from './model.js';

export { PLANTMESH_NAMESPACE as PLATFORM_NAMESPACE };

/** The plant's own namespace (its data products' types and relationships), unless a plant names its own. */
export const DEFAULT_PLANT_NAMESPACE: Namespace = { uri: 'https://plantmesh.dev/ns/plant', displayName: 'plant' };

/** The I3X relationship types (ElementIds as the I3X guide writes them). */
export const REL = {
  hasParent: 'HasParent',
  hasChildren: 'HasChildren',
  hasComponent: 'HasComponent',
  componentOf: 'ComponentOf',
  inheritsFrom: 'InheritsFrom',
  inheritedBy: 'InheritedBy',
} as const;

export const TYPES = {
  site: 'plantmesh:types:Site',
  area: 'plantmesh:types:Area',
  line: 'plantmesh:types:Line',
  cell: 'plantmesh:types:Cell',
  measurement: 'plantmesh:types:Measurement',
  dataProducts: 'plantmesh:types:DataProducts',
  dataProduct: 'plantmesh:types:DataProduct',
} as const;

/** The equipment types by depth in a topic path: site/area/line/cell. */
export const EQUIPMENT_LEVELS = [
  { type: TYPES.site, name: 'Site', description: 'An ISA-95 site: the first level of a sensor topic path' },
  { type: TYPES.area, name: 'Area', description: 'An ISA-95 area: the second level of a sensor topic path' },
  { type: TYPES.line, name: 'Line', description: 'An ISA-95 production line: the third level of a sensor topic path' },
  { type: TYPES.cell, name: 'Cell', description: 'An ISA-95 work cell: the fourth level of a sensor topic path' },
] as const;

/** The root object under which each curated data product is listed. */
export const DATA_PRODUCTS_OBJECT = 'plantmesh:curated';

/** The ElementId of a unit's measurement type (a number in that UNECE unit), or the plain one. */
export function measurementTypeId(unit: string | null | undefined): string {
  return unit ? `${TYPES.measurement}:${escapeElementIdPart(unit)}` : TYPES.measurement;
}

/** The ElementId of an equipment object (its topic path prefix) or of a sensor series (its whole path). */
export function equipmentId(path: string): string {
  return `plantmesh:equipment:${escapeElementIdPart(path)}`;
}

export function seriesObjectId(path: string): string {
  return `plantmesh:series:${escapeElementIdPart(path)}`;
}

/** A data product's object type, the object listing its rows, and one row by its key. */
export function productTypeId(product: string): string {
  return `plantmesh:product:${product}`;
}

export function productObjectId(product: string): string {
  return `${DATA_PRODUCTS_OBJECT}:${product}`;
}

/**
 * A curated row's ElementId: `plantmesh:curated:<product>:<key>`, the key's values as text joined by
 * `/` (`%`, `/`, white space and control characters percent-encoded), e.g.
 * `plantmesh:curated:heats:H42-000001`, `plantmesh:curated:machine_states:caster-1/2026-11-29T20:00:00Z`.
 */
export function curatedRowId(product: string, key: readonly string[]): string {
  return `${productObjectId(product)}:${key.map((part) => escapeElementIdPart(part, true)).join('/')}`;
}

/** The product and key texts of a curated row's ElementId, or undefined if it is not one. */
export function parseCuratedRowId(elementId: string): { product: string; key: string[] } | undefined {
  const match = /^plantmesh:curated:([a-z][a-z0-9_]{0,62}):(.+)$/s.exec(elementId);
  if (!match) return undefined;
  const [, product = '', rest = ''] = match;
  try {
    return { product, key: rest.split('/').map((part) => decodeURIComponent(part)) };
  } catch {
    return undefined;
  }
}

/** Percent-encodes what an ElementId may not hold (white space, control characters) and `%` itself. */
function escapeElementIdPart(text: string, slash = false): string {
  const pattern = slash ? /[%/\s\p{Cc}]/gu : /[%\s\p{Cc}]/gu;
  return text.replace(pattern, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Is this text an ElementId as the I3X guide allows: no leading or trailing white space, no control character. */
export function isValidElementId(elementId: string): boolean {
  return elementId.length > 0 && elementId.length <= 1024 && !/^\s|\s$/u.test(elementId) && !/\p{Cc}/u.test(elementId);
}

const source = (browseName: string, nodeClass: 'ObjectType' | 'ReferenceType' = 'ObjectType') => ({
  nodeClass,
  browseName,
});

function relationshipPair(
  forward: string,
  reverse: string,
  description: [string, string],
  namespaceUri = PLANTMESH_NAMESPACE.uri,
): RelationshipType[] {
  return [
    {
      elementId: forward,
      displayName: forward,
      namespaceUri,
      relationshipId: forward,
      reverseOf: reverse,
      direction: 'forward',
      isAbstract: false,
      symmetric: false,
      description: description[0],
      source: source(forward, 'ReferenceType'),
    },
    {
      elementId: reverse,
      displayName: reverse,
      namespaceUri,
      relationshipId: reverse,
      reverseOf: forward,
      direction: 'inverse',
      isAbstract: false,
      symmetric: false,
      description: description[1],
      source: source(reverse, 'ReferenceType'),
    },
  ];
}

/** A relationship type pair of a plant's data products (e.g. CutFrom / CutInto), in the plant's namespace. */
export function productRelationshipTypes(
  forward: string,
  reverse: string,
  namespaceUri: string,
  description: string,
): RelationshipType[] {
  return relationshipPair(forward, reverse, [description, `Reverse of ${forward}: ${description}`], namespaceUri);
}

/** The relationship types whose targets' values make up their subject's value (value reads recurse along them). */
export const COMPOSING_RELATIONSHIPS: readonly string[] = [REL.hasComponent];

function objectType(
  elementId: string,
  displayName: string,
  schema: Record<string, unknown>,
  description: string,
  parentTypeId?: string,
): ObjectType {
  return {
    elementId,
    displayName,
    namespaceUri: PLANTMESH_NAMESPACE.uri,
    sourceTypeId: displayName,
    version: '1.0.0',
    schema,
    ...(parentTypeId === undefined ? {} : { parentTypeId }),
    isAbstract: false,
    description,
    source: source(displayName),
  };
}

/** A sensor series' leaf type in a unit: a number, with the unit as `x-unit` (UNECE Rec. 20 code). */
export function measurementType(unit: string | null): ObjectType {
  if (!unit) return objectType(TYPES.measurement, 'Measurement', { type: 'number' }, 'A sensor series: a number');
  return {
    ...objectType(
      measurementTypeId(unit),
      `Measurement (${unit})`,
      { type: 'number', 'x-unit': unit },
      `A sensor series in UNECE unit ${unit}`,
      TYPES.measurement,
    ),
    sourceTypeId: `Measurement:${unit}`,
  };
}

/** The platform's namespace, its relationship types and the types of the equipment and products. */
export function platformModel(): InformationModel {
  const structure = { type: 'object' };
  return {
    namespaces: [PLANTMESH_NAMESPACE],
    objectTypes: [
      UNKNOWN_TYPE,
      ...EQUIPMENT_LEVELS.map((level) => objectType(level.type, level.name, structure, level.description)),
      measurementType(null),
      objectType(TYPES.dataProducts, 'DataProducts', structure, 'The curated data products of the platform'),
      objectType(TYPES.dataProduct, 'DataProduct', structure, 'A curated data product: its rows are its children'),
    ].sort((a, b) => compare(a.elementId, b.elementId)),
    relationshipTypes: [
      ...relationshipPair(REL.hasParent, REL.hasChildren, [
        'The object is organized under its parent (parentId)',
        'The object organizes its children, independent objects',
      ]),
      ...relationshipPair(REL.hasComponent, REL.componentOf, [
        "The object's value is composed of its components' values",
        "The object's value is part of its parent's",
      ]),
      ...relationshipPair(REL.inheritsFrom, REL.inheritedBy, [
        'The type is a subtype of another',
        'The type is the supertype of another',
      ]),
    ].sort((a, b) => compare(a.elementId, b.elementId)),
    objects: [
      {
        elementId: DATA_PRODUCTS_OBJECT,
        displayName: 'Data products',
        namespaceUri: PLANTMESH_NAMESPACE.uri,
        typeElementId: TYPES.dataProducts,
        isComposition: false,
        relationships: [],
        description: 'The curated data products: one object per product, its rows below it',
        source: { nodeClass: 'Object', browseName: 'DataProducts' },
      },
    ],
    dataTypes: [],
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
