export * from './i3x.js';
export * from './inline-inheritance.js';
export * from './json-schema.js';
export { mergeModels } from './merge.js';
export * from './model.js';
export { type ImportWarning, NodeSetError, type NodeSetErrorCode } from './nodeset/errors.js';
export { type ImportOptions, type ImportResult, importNodeSet } from './nodeset/import.js';
export { elementIdOf, inverseElementIdOf, type NodeId, UA_NAMESPACE_URI } from './nodeset/node-id.js';
export * from './platform.js';
