/**
 * NodeSet2 XML text -> the file's content as plain records (NodeIds still as written). Only this module
 * knows the XML layout (UANodeSet.xsd); the mapping modules see typed records.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { type ImportWarning, NodeSetError } from './errors.js';

export type NodeClass =
  | 'Object'
  | 'ObjectType'
  | 'Variable'
  | 'VariableType'
  | 'Method'
  | 'ReferenceType'
  | 'DataType'
  | 'View';

export interface RawReference {
  /** Alias or NodeId of the ReferenceType. */
  referenceType: string;
  isForward: boolean;
  target: string;
}

export interface RawField {
  name: string;
  dataType?: string;
  valueRank: number;
  value?: number;
  isOptional: boolean;
  description?: string;
}

export interface RawNode {
  nodeClass: NodeClass;
  nodeId: string;
  browseName: string;
  displayName?: string;
  description?: string;
  parentNodeId?: string;
  isAbstract: boolean;
  symmetric: boolean;
  /** Exists for modelling tools only; a server does not expose it. */
  designToolOnly: boolean;
  inverseName?: string;
  dataType?: string;
  valueRank: number;
  references: RawReference[];
  definition?: { fields: RawField[]; isUnion: boolean; isOptionSet: boolean };
}

export interface RawModel {
  uri: string;
  version?: string;
  modelVersion?: string;
  publicationDate?: string;
  requiredModels: Array<{ uri: string; version?: string; modelVersion?: string; publicationDate?: string }>;
}

export interface RawNodeSet {
  namespaceUris: string[];
  models: RawModel[];
  aliases: Map<string, string>;
  nodes: RawNode[];
  warnings: ImportWarning[];
}

export interface XmlLimits {
  /** Longest text accepted, in characters. */
  maxCharacters: number;
  /** Deepest element nesting accepted (NodeSet2 files need about 10 outside of values). */
  maxDepth: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxCharacters: 64 * 1024 * 1024, maxDepth: 64 };

const NODE_ELEMENTS: Record<string, NodeClass> = {
  UAObject: 'Object',
  UAObjectType: 'ObjectType',
  UAVariable: 'Variable',
  UAVariableType: 'VariableType',
  UAMethod: 'Method',
  UAReferenceType: 'ReferenceType',
  UADataType: 'DataType',
  UAView: 'View',
};

const REPEATED = new Set([
  ...Object.keys(NODE_ELEMENTS),
  'Uri',
  'Model',
  'RequiredModel',
  'Alias',
  'Reference',
  'DisplayName',
  'Description',
  'InverseName',
  'Field',
]);

/** An element as the parser gives it: attributes under `@name`, text under `#text`, children by tag. */
type Element = { [key: string]: unknown };

function parser(limits: XmlLimits): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    alwaysCreateTextNode: true,
    isArray: (name) => REPEATED.has(name),
    // Values and vendor extensions are not mapped: left unparsed, they cost nothing and cannot nest deeply.
    stopNodes: ['*.Value', '*.Extensions'],
    maxNestedTags: limits.maxDepth,
    ignoreDeclaration: true,
    ignorePiTags: true,
    htmlEntities: false,
  });
}

/** Parses NodeSet2 text; throws NodeSetError when the text is not a NodeSet2 document it can read. */
export function readNodeSetXml(input: string | Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): RawNodeSet {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  if (typeof text !== 'string') throw new NodeSetError('not-xml', 'NodeSet2 input must be a string or bytes');
  if (text.length > limits.maxCharacters) {
    throw new NodeSetError(
      'too-large',
      `NodeSet2 text is ${text.length} characters, more than the limit of ${limits.maxCharacters}`,
    );
  }
  const xml = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rootStart = xml.search(/<[A-Za-z_]/);
  // NodeSet2 files have no DOCTYPE; refusing one refuses entity-expansion tricks with it.
  if (/<!DOCTYPE/i.test(rootStart < 0 ? xml : xml.slice(0, rootStart))) {
    throw new NodeSetError('doctype', 'NodeSet2 text has a DOCTYPE declaration, which NodeSet2 files never have');
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const where =
      valid.err.col === undefined ? `line ${valid.err.line}` : `line ${valid.err.line}, column ${valid.err.col}`;
    throw new NodeSetError('not-xml', `not well-formed XML at ${where}: ${valid.err.msg}`);
  }
  let document: Element;
  try {
    document = parser(limits).parse(xml) as Element;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/nested tags/i.test(message)) {
      throw new NodeSetError('too-deep', `NodeSet2 elements nest deeper than the limit of ${limits.maxDepth}`);
    }
    throw new NodeSetError('not-xml', `XML could not be parsed: ${message}`);
  }
  const rootName = Object.keys(document).find((key) => !key.startsWith('@') && key !== '#text');
  if (rootName !== 'UANodeSet') {
    throw new NodeSetError(
      'not-nodeset',
      `not a NodeSet2 document: the root element is <${rootName ?? 'none'}>, expected <UANodeSet>`,
    );
  }
  return readRoot(asElement(document.UANodeSet));
}

function readRoot(root: Element): RawNodeSet {
  const warnings: ImportWarning[] = [];
  const namespaceUris = children(asElement(root.NamespaceUris), 'Uri').map(textOf);
  const models = children(asElement(root.Models), 'Model').map(readModel);
  const aliases = new Map<string, string>();
  for (const alias of children(asElement(root.Aliases), 'Alias')) {
    const name = attr(alias, 'Alias');
    if (name) aliases.set(name, textOf(alias));
  }
  const nodes: RawNode[] = [];
  for (const [tag, nodeClass] of Object.entries(NODE_ELEMENTS)) {
    for (const element of children(root, tag)) {
      const node = readNode(element, nodeClass);
      if (typeof node === 'string') warnings.push({ code: 'bad-node', message: `<${tag}> skipped: ${node}` });
      else nodes.push(node);
    }
  }
  return { namespaceUris, models, aliases, nodes, warnings };
}

function readModel(model: Element): RawModel {
  return {
    uri: attr(model, 'ModelUri') ?? '',
    version: attr(model, 'Version'),
    modelVersion: attr(model, 'ModelVersion'),
    publicationDate: attr(model, 'PublicationDate'),
    requiredModels: children(model, 'RequiredModel').map((required) => ({
      uri: attr(required, 'ModelUri') ?? '',
      version: attr(required, 'Version'),
      modelVersion: attr(required, 'ModelVersion'),
      publicationDate: attr(required, 'PublicationDate'),
    })),
  };
}

function readNode(element: Element, nodeClass: NodeClass): RawNode | string {
  const nodeId = attr(element, 'NodeId');
  if (!nodeId) return 'no NodeId attribute';
  const browseName = attr(element, 'BrowseName');
  if (browseName === undefined) return `${nodeId} has no BrowseName attribute`;
  const references: RawReference[] = [];
  for (const reference of children(asElement(element.References), 'Reference')) {
    const referenceType = attr(reference, 'ReferenceType');
    const target = textOf(reference);
    if (!referenceType || !target) continue;
    references.push({ referenceType, target, isForward: attr(reference, 'IsForward') !== 'false' });
  }
  return {
    nodeClass,
    nodeId,
    browseName,
    displayName: localized(children(element, 'DisplayName')),
    description: localized(children(element, 'Description')),
    parentNodeId: attr(element, 'ParentNodeId'),
    isAbstract: attr(element, 'IsAbstract') === 'true',
    symmetric: attr(element, 'Symmetric') === 'true',
    designToolOnly: attr(element, 'DesignToolOnly') === 'true',
    inverseName: localized(children(element, 'InverseName')),
    dataType: attr(element, 'DataType'),
    valueRank: integerAttr(element, 'ValueRank') ?? -1,
    references,
    definition: element.Definition === undefined ? undefined : readDefinition(asElement(element.Definition)),
  };
}

function readDefinition(definition: Element): RawNode['definition'] {
  return {
    isUnion: attr(definition, 'IsUnion') === 'true',
    isOptionSet: attr(definition, 'IsOptionSet') === 'true',
    fields: children(definition, 'Field').map((field) => ({
      name: attr(field, 'Name') ?? '',
      dataType: attr(field, 'DataType'),
      valueRank: integerAttr(field, 'ValueRank') ?? -1,
      value: integerAttr(field, 'Value'),
      isOptional: attr(field, 'IsOptional') === 'true',
      description: localized(children(field, 'Description')),
    })),
  };
}

/** The English (or locale-less, or else first) text of a LocalizedText list. */
function localized(elements: Element[]): string | undefined {
  const preferred =
    elements.find((element) => !attr(element, 'Locale')) ??
    elements.find((element) => attr(element, 'Locale')?.toLowerCase().startsWith('en')) ??
    elements[0];
  if (preferred === undefined) return undefined;
  const text = textOf(preferred);
  return text === '' ? undefined : text;
}

function asElement(value: unknown): Element {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Element) : {};
}

function children(parent: Element, tag: string): Element[] {
  const value = parent[tag];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(asElement);
}

function attr(element: Element, name: string): string | undefined {
  const value = element[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

function integerAttr(element: Element, name: string): number | undefined {
  const value = attr(element, name);
  if (value === undefined || !/^-?\d{1,10}$/.test(value.trim())) return undefined;
  return Number(value);
}

function textOf(element: Element): string {
  const value = element['#text'];
  return typeof value === 'string' ? value.trim() : '';
}
