/**
 * NodeIds as a NodeSet2 file writes them (`i=58`, `ns=1;i=1002`, `ns=2;s=Pump`, an alias such as
 * `HasComponent`) and as the information model names them: OPC UA's ExpandedNodeId string with the
 * namespace URI (`nsu=http://opcfoundation.org/UA/DI/;i=1002`). Namespace indexes are local to one file;
 * URIs are not, so an ElementId built from the URI is the same in every file and every re-import.
 */

export const UA_NAMESPACE_URI = 'http://opcfoundation.org/UA/';

/** A NodeId with its namespace resolved to a URI. `identifier` is `i=…`, `s=…`, `g=…` or `b=…`. */
export interface NodeId {
  namespaceUri: string;
  identifier: string;
}

/** The ElementId of a node: the ExpandedNodeId string with the namespace URI (Part 6, 5.3.1.11). */
export function elementIdOf(nodeId: NodeId): string {
  // Part 6 escapes ';' and '%' in the URI so that the identifier part stays unambiguous.
  const uri = nodeId.namespaceUri.replaceAll('%', '%25').replaceAll(';', '%3B');
  return `nsu=${uri};${nodeId.identifier}`;
}

/** The ElementId of the reverse direction of a (non-symmetric) ReferenceType. Cannot collide with a NodeId. */
export function inverseElementIdOf(forwardElementId: string): string {
  return `inverse:${forwardElementId}`;
}

/** A NodeId string split into its namespace part (index or URI) and normalized identifier. */
interface SplitNodeId {
  namespaceIndex?: number;
  namespaceUri?: string;
  identifier: string;
}

const IDENTIFIER = /^(i|s|g|b)=([\s\S]*)$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Splits `ns=N;i=…` / `nsu=URI;s=…` / `i=…`; undefined if the text is not a NodeId. */
export function splitNodeId(text: string): SplitNodeId | undefined {
  let rest = text.trim();
  let namespaceIndex: number | undefined;
  let namespaceUri: string | undefined;
  const ns = /^ns=(\d{1,5});/.exec(rest);
  if (ns) {
    namespaceIndex = Number(ns[1]);
    rest = rest.slice(ns[0].length);
  } else if (rest.startsWith('nsu=')) {
    const end = rest.indexOf(';');
    if (end < 0) return undefined;
    namespaceUri = decodeURIComponentSafe(rest.slice(4, end));
    rest = rest.slice(end + 1);
  }
  const match = IDENTIFIER.exec(rest);
  if (!match) return undefined;
  const [, kind, value = ''] = match;
  const identifier = normalizeIdentifier(kind as 'i' | 's' | 'g' | 'b', value);
  if (identifier === undefined) return undefined;
  return { namespaceIndex, namespaceUri, identifier };
}

function normalizeIdentifier(kind: 'i' | 's' | 'g' | 'b', value: string): string | undefined {
  switch (kind) {
    case 'i': {
      if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffff_ffff) return undefined;
      return `i=${Number(value)}`;
    }
    case 'g':
      // Guids compare case-insensitively; one spelling keeps the ElementId stable.
      return GUID.test(value) ? `g=${value.toLowerCase()}` : undefined;
    default:
      return value.length > 0 ? `${kind}=${value}` : undefined;
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Resolves the NodeIds of one file: aliases first, then the namespace index against the file's
 * NamespaceUris table (index 0 is always the OPC UA base namespace).
 */
export class NodeIdResolver {
  constructor(
    private readonly namespaceUris: readonly string[],
    private readonly aliases: ReadonlyMap<string, string>,
  ) {}

  /** The NodeId, or an explanation of why the text is not one. */
  resolve(text: string): NodeId | { error: string } {
    const aliased = this.aliases.get(text.trim()) ?? text;
    const split = splitNodeId(aliased);
    if (!split) return { error: `'${text}' is neither a NodeId nor a declared alias` };
    if (split.namespaceUri !== undefined) return { namespaceUri: split.namespaceUri, identifier: split.identifier };
    const uri = this.namespaceUri(split.namespaceIndex ?? 0);
    if (uri === undefined)
      return { error: `'${text}' uses namespace index ${split.namespaceIndex}, not in NamespaceUris` };
    return { namespaceUri: uri, identifier: split.identifier };
  }

  /** The URI of a namespace index of this file. */
  namespaceUri(index: number): string | undefined {
    return index === 0 ? UA_NAMESPACE_URI : this.namespaceUris[index - 1];
  }

  /** A BrowseName (`1:DeviceType`) split into namespace URI and name. */
  qualifiedName(text: string): { namespaceUri: string | undefined; name: string } {
    const match = /^(\d{1,5}):([\s\S]*)$/.exec(text);
    if (!match) return { namespaceUri: UA_NAMESPACE_URI, name: text };
    return { namespaceUri: this.namespaceUri(Number(match[1])), name: match[2] ?? '' };
  }
}
