/** Why a text could not be imported at all (a warning is for a file that imports with gaps). */
export type NodeSetErrorCode = 'not-xml' | 'not-nodeset' | 'too-large' | 'too-deep' | 'doctype';

/** The one error an import throws: the input is not a NodeSet2 document it can read. */
export class NodeSetError extends Error {
  override readonly name = 'NodeSetError';

  constructor(
    readonly code: NodeSetErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Something the import skipped or could not resolve; the rest of the file is imported. */
export interface ImportWarning {
  code:
    | 'bad-node'
    | 'duplicate-node'
    | 'missing-required-model'
    | 'old-required-model'
    | 'unresolved-namespace'
    | 'unresolved-node'
    | 'unresolved-reference-type'
    | 'unresolved-type-definition'
    | 'unresolved-supertype'
    | 'unresolved-data-type'
    | 'duplicate-member'
    | 'schema-too-deep';
  message: string;
  /** The ElementId (or raw NodeId text) of the node the warning is about. */
  nodeId?: string;
}
