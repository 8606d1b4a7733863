export { type CheckedYaml, checkedYaml, DefinitionError, type DefinitionProblem } from '@plantmesh/core';
export {
  type BatchResult,
  type CuratedStores,
  curateBatch,
  eventsBehind,
  ProductCache,
  type ReadAhead,
} from './batch.js';
export { commitFrontier, tryTransactionLock } from './commit-order.js';
export { etlEnv, shippedDefinitions } from './config.js';
export {
  type ColumnDefinition,
  type CuratedDefinition,
  loadDefinition,
  parseDefinition,
  type RelationshipDefinition,
} from './definition.js';
export { DefinitionsFolder, type LoadDefinition } from './definitions-folder.js';
export { ajv, pointerPath } from './json-schema.js';
export { type LoopsOptions, RegistryLoops } from './loops.js';
export { compileMapping, type Mapped, type MappingError } from './mapping.js';
export { createEtlMetrics, type EtlMetrics } from './metrics.js';
export { CuratedProduct, curatedStage, type RawEvent, type Refined } from './product.js';
export {
  type ApplyOutcome,
  applyDefinition,
  beginApply,
  canonical,
  IncompatibleDefinitionError,
  type RegistryPlace,
  type VersionStep,
} from './registry.js';
export { type ReplayProgress, type ReplayResult, type ReplaySelection, replayCurated } from './replay.js';
export { rowSchema } from './row-schema.js';
export { addColumnDdl, provenanceColumns, relationshipIndexDdl, tableDdl } from './table.js';
export { topicFiltersPattern } from './topic-filter.js';
export { type UnitCode, unitCodes, unitConversion } from './units.js';
export { CuratedWorker, type WorkerOptions } from './worker.js';
