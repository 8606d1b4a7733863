export {
  ASSET_TYPES,
  type AssetModelBuild,
  assetObjectId,
  assetTypeId,
  buildAssetModel,
} from './assets/build.js';
export {
  type AssetModelFile,
  assetModelSchemaPath,
  DEFAULT_MAX_ASSET_FILE_BYTES,
  type ParsedAssetModel,
  parseAssetModel,
  readAssetModel,
} from './assets/file.js';
export { AssetRuleMatcher, type AssetRules, applyAssetRules, isTopicFilter, topicMatches } from './assets/rules.js';
export * from './i3x.js';
export * from './inline-inheritance.js';
export * from './json-schema.js';
export { mergeModels } from './merge.js';
export * from './model.js';
export { type ImportWarning, NodeSetError, type NodeSetErrorCode } from './nodeset/errors.js';
export { type ImportOptions, type ImportResult, importNodeSet } from './nodeset/import.js';
export { elementIdOf, inverseElementIdOf, type NodeId, UA_NAMESPACE_URI } from './nodeset/node-id.js';
export * from './platform.js';
