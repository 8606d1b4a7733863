export {
  type ColumnDefinition,
  type CuratedDefinition,
  DefinitionError,
  type DefinitionProblem,
  loadDefinition,
  parseDefinition,
  type RelationshipDefinition,
} from './definition.js';
export { compileMapping, type Mapped, type MappingError } from './mapping.js';
export { type ApplyOutcome, applyDefinition, IncompatibleDefinitionError } from './registry.js';
export { rowSchema } from './row-schema.js';
export { addColumnDdl, provenanceColumns, tableDdl } from './table.js';
export { type UnitCode, unitCodes, unitConversion } from './units.js';
