export {
  type ColumnDefinition,
  type CuratedDefinition,
  DefinitionError,
  type DefinitionProblem,
  loadDefinition,
  parseDefinition,
  type RelationshipDefinition,
} from './definition.js';
export { provenanceColumns, tableDdl } from './table.js';
export { type UnitCode, unitCodes, unitConversion } from './units.js';
