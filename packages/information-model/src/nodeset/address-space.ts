/**
 * One NodeSet's nodes with every NodeId resolved to an ElementId, its references as one deduplicated
 * graph (a reference may be written on either end, or both), and the models already imported, so the
 * mapping modules can ask "what is this node" without caring which file defined it.
 */
import type { DataType, InformationModel, Namespace, ObjectInstance, ObjectType, RelationshipType } from '../model.js';
import type { ImportWarning } from './errors.js';
import { elementIdOf, type NodeId, NodeIdResolver } from './node-id.js';
import { BUILTIN_REFERENCE_SUPERTYPES, REF } from './well-known.js';
import type { NodeClass, RawNode, RawNodeSet } from './xml.js';

export interface UaField {
  name: string;
  dataType?: string;
  valueRank: number;
  value?: number;
  isOptional: boolean;
  description?: string;
}

/** A node of the file, its ids resolved. */
export interface UaNode {
  elementId: string;
  nodeId: NodeId;
  nodeClass: NodeClass;
  /** BrowseName without namespace index. */
  browseName: string;
  displayName: string;
  description?: string;
  /** ElementId of the ParentNodeId attribute (a hint: references are authoritative). */
  parentNodeId?: string;
  isAbstract: boolean;
  symmetric: boolean;
  designToolOnly: boolean;
  inverseName?: string;
  /** ElementId of the DataType attribute. */
  dataType?: string;
  valueRank: number;
  definition?: { isUnion: boolean; isOptionSet: boolean; fields: UaField[] };
}

/** A reference in its forward direction: `source` --`type`--> `target`, all ElementIds. */
export interface Edge {
  source: string;
  type: string;
  target: string;
}

/** The elements of the models imported before this one, by ElementId. */
export class KnownModels {
  readonly namespaces = new Map<string, Namespace>();
  readonly objectTypes = new Map<string, ObjectType>();
  readonly relationshipTypes = new Map<string, RelationshipType>();
  readonly objects = new Map<string, ObjectInstance>();
  readonly dataTypes = new Map<string, DataType>();

  constructor(models: readonly InformationModel[]) {
    for (const model of models) {
      for (const namespace of model.namespaces) this.namespaces.set(namespace.uri, namespace);
      for (const type of model.objectTypes) this.objectTypes.set(type.elementId, type);
      for (const type of model.relationshipTypes) this.relationshipTypes.set(type.elementId, type);
      for (const object of model.objects) this.objects.set(object.elementId, object);
      for (const type of model.dataTypes) this.dataTypes.set(type.elementId, type);
    }
  }

  has(elementId: string): boolean {
    return (
      this.objectTypes.has(elementId) ||
      this.relationshipTypes.has(elementId) ||
      this.objects.has(elementId) ||
      this.dataTypes.has(elementId)
    );
  }
}

export class AddressSpace {
  readonly nodes = new Map<string, UaNode>();
  readonly warnings: ImportWarning[];
  /** Namespaces that this file defines nodes in. */
  readonly ownNamespaces = new Set<string>();
  private readonly outgoingEdges = new Map<string, Edge[]>();
  private readonly incomingEdges = new Map<string, Edge[]>();
  private readonly subtypeMemo = new Map<string, boolean>();

  constructor(
    readonly raw: RawNodeSet,
    readonly known: KnownModels,
  ) {
    this.warnings = [...raw.warnings];
    const resolver = new NodeIdResolver(raw.namespaceUris, raw.aliases);
    const references: Array<{ node: UaNode; rawNode: RawNode }> = [];
    for (const rawNode of raw.nodes) {
      const node = this.resolveNode(rawNode, resolver);
      if (!node) continue;
      if (this.nodes.has(node.elementId)) {
        this.warn('duplicate-node', `${rawNode.nodeId} is defined twice; the first definition is kept`, node.elementId);
        continue;
      }
      this.nodes.set(node.elementId, node);
      this.ownNamespaces.add(node.nodeId.namespaceUri);
      references.push({ node, rawNode });
    }
    const seen = new Set<string>();
    for (const { node, rawNode } of references) {
      for (const reference of rawNode.references) {
        const type = this.resolveId(resolver, reference.referenceType, node.elementId, 'reference type');
        const other = this.resolveId(resolver, reference.target, node.elementId, 'reference target');
        if (type === undefined || other === undefined) continue;
        const edge = reference.isForward
          ? { source: node.elementId, type, target: other }
          : { source: other, type, target: node.elementId };
        const key = `${edge.source}\n${edge.type}\n${edge.target}`;
        if (seen.has(key)) continue;
        seen.add(key);
        push(this.outgoingEdges, edge.source, edge);
        push(this.incomingEdges, edge.target, edge);
      }
    }
    this.reportUnresolved(seen.size);
  }

  /** Is the ElementId a node of this file or an element of a known model? */
  exists(elementId: string): boolean {
    return this.nodes.has(elementId) || this.known.has(elementId);
  }

  /** Forward references from a node, optionally only those whose type is (a subtype of) `typeAncestor`. */
  outgoing(elementId: string, typeAncestor?: string): Edge[] {
    const edges = this.outgoingEdges.get(elementId) ?? [];
    return typeAncestor === undefined ? edges : edges.filter((edge) => this.isSubtypeOf(edge.type, typeAncestor));
  }

  /** References that point at a node, optionally only those whose type is (a subtype of) `typeAncestor`. */
  incoming(elementId: string, typeAncestor?: string): Edge[] {
    const edges = this.incomingEdges.get(elementId) ?? [];
    return typeAncestor === undefined ? edges : edges.filter((edge) => this.isSubtypeOf(edge.type, typeAncestor));
  }

  /** The supertype of a type node of this file or of a known model. */
  supertypeOf(typeId: string): string | undefined {
    // Exactly HasSubtype: asking for its subtypes here would recurse through isSubtypeOf.
    if (this.nodes.has(typeId)) return this.incoming(typeId).find((edge) => edge.type === REF.hasSubtype)?.source;
    return (
      this.known.objectTypes.get(typeId)?.parentTypeId ??
      this.known.dataTypes.get(typeId)?.parentTypeId ??
      this.known.relationshipTypes.get(typeId)?.parentTypeId ??
      BUILTIN_REFERENCE_SUPERTYPES.get(typeId)
    );
  }

  /** Is `typeId` the type `ancestorId` or one of its subtypes (walking files, known models and built-ins)? */
  isSubtypeOf(typeId: string, ancestorId: string): boolean {
    const memo = this.subtypeMemo.get(`${typeId}\n${ancestorId}`);
    if (memo !== undefined) return memo;
    // Every type on the walk gets the same answer: remembering them all keeps long chains linear.
    const walked: string[] = [];
    const visited = new Set<string>();
    let result = false;
    for (let current: string | undefined = typeId; current !== undefined; current = this.supertypeOf(current)) {
      if (current === ancestorId) {
        result = true;
        break;
      }
      const known = this.subtypeMemo.get(`${current}\n${ancestorId}`);
      if (known !== undefined) {
        result = known;
        break;
      }
      if (visited.has(current)) break; // a cycle in a hostile file
      visited.add(current);
      walked.push(current);
    }
    for (const id of walked) this.subtypeMemo.set(`${id}\n${ancestorId}`, result);
    return result;
  }

  /** The target of a node's HasTypeDefinition reference. */
  typeDefinitionOf(elementId: string): string | undefined {
    return this.outgoing(elementId, REF.hasTypeDefinition)[0]?.target;
  }

  /** The target of a node's HasModellingRule reference. */
  modellingRuleOf(elementId: string): string | undefined {
    return this.outgoing(elementId, REF.hasModellingRule)[0]?.target;
  }

  warn(code: ImportWarning['code'], message: string, nodeId?: string): void {
    this.warnings.push(nodeId === undefined ? { code, message } : { code, message, nodeId });
  }

  private resolveNode(raw: RawNode, resolver: NodeIdResolver): UaNode | undefined {
    const nodeId = resolver.resolve(raw.nodeId);
    if ('error' in nodeId) {
      this.warn('bad-node', `${raw.nodeClass} skipped: ${nodeId.error}`, raw.nodeId);
      return undefined;
    }
    const elementId = elementIdOf(nodeId);
    const browseName = resolver.qualifiedName(raw.browseName).name;
    const optionalId = (text: string | undefined, what: string) =>
      text === undefined ? undefined : this.resolveId(resolver, text, elementId, what);
    return {
      elementId,
      nodeId,
      nodeClass: raw.nodeClass,
      browseName,
      displayName: raw.displayName ?? browseName,
      description: raw.description,
      parentNodeId: optionalId(raw.parentNodeId, 'ParentNodeId'),
      isAbstract: raw.isAbstract,
      symmetric: raw.symmetric,
      designToolOnly: raw.designToolOnly,
      inverseName: raw.inverseName,
      dataType: optionalId(raw.dataType, 'DataType'),
      valueRank: raw.valueRank,
      definition: raw.definition && {
        isUnion: raw.definition.isUnion,
        isOptionSet: raw.definition.isOptionSet,
        fields: raw.definition.fields.map((field) => ({
          ...field,
          dataType: optionalId(field.dataType, 'field DataType'),
        })),
      },
    };
  }

  private resolveId(resolver: NodeIdResolver, text: string, about: string, what: string): string | undefined {
    const resolved = resolver.resolve(text);
    if ('error' in resolved) {
      this.warn('bad-node', `${what} ignored: ${resolved.error}`, about);
      return undefined;
    }
    return elementIdOf(resolved);
  }

  /**
   * One warning per missing node of a namespace that should have it, and one per namespace that no known
   * model provides (listing every reference into the base namespace would bury the useful warnings).
   */
  private reportUnresolved(edgeCount: number): void {
    if (edgeCount === 0) return;
    const missingNamespaces = new Map<string, number>();
    const reported = new Set<string>();
    for (const edges of this.outgoingEdges.values()) {
      for (const edge of edges) {
        for (const id of [edge.source, edge.target, edge.type]) {
          if (this.exists(id) || reported.has(id)) continue;
          if (edge.type === id && BUILTIN_REFERENCE_SUPERTYPES.has(id)) continue;
          reported.add(id);
          const uri = namespaceOfElementId(id);
          if (this.ownNamespaces.has(uri)) {
            this.warn('unresolved-node', `${id} is referenced but not defined in this NodeSet`, id);
          } else if (!this.known.namespaces.has(uri)) {
            missingNamespaces.set(uri, (missingNamespaces.get(uri) ?? 0) + 1);
          } else if (edge.type === id) {
            this.warn('unresolved-reference-type', `reference type ${id} is not in the known models`, id);
          }
        }
      }
    }
    for (const [uri, count] of missingNamespaces) {
      this.warn(
        'unresolved-namespace',
        `${count} node(s) of namespace ${uri} are referenced, but no known model provides that namespace`,
      );
    }
  }
}

/** The namespace URI inside an ElementId built by elementIdOf. */
export function namespaceOfElementId(elementId: string): string {
  if (!elementId.startsWith('nsu=')) return '';
  const end = elementId.indexOf(';');
  return elementId
    .slice(4, end < 0 ? undefined : end)
    .replaceAll('%3B', ';')
    .replaceAll('%25', '%');
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
