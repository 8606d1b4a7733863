/**
 * Nodes of the OPC UA base namespace whose meaning the mapping relies on. Their ids are fixed by Part 3/5,
 * so the mapping works even when the base NodeSet itself has not been imported.
 */
import { elementIdOf, UA_NAMESPACE_URI } from './node-id.js';

/** The ElementId of the base-namespace node `i=<id>`. */
export function ua(id: number): string {
  return elementIdOf({ namespaceUri: UA_NAMESPACE_URI, identifier: `i=${id}` });
}

export const REF = {
  references: ua(31),
  nonHierarchical: ua(32),
  hierarchical: ua(33),
  hasChild: ua(34),
  organizes: ua(35),
  hasEventSource: ua(36),
  hasModellingRule: ua(37),
  hasEncoding: ua(38),
  hasDescription: ua(39),
  hasTypeDefinition: ua(40),
  generatesEvent: ua(41),
  aggregates: ua(44),
  hasSubtype: ua(45),
  hasProperty: ua(46),
  hasComponent: ua(47),
  hasNotifier: ua(48),
  hasOrderedComponent: ua(49),
  hasInterface: ua(17603),
  hasAddIn: ua(17604),
} as const;

/** Supertypes of the base ReferenceTypes above, for files imported without the base NodeSet. */
export const BUILTIN_REFERENCE_SUPERTYPES: ReadonlyMap<string, string> = new Map([
  [REF.hierarchical, REF.references],
  [REF.nonHierarchical, REF.references],
  [REF.hasChild, REF.hierarchical],
  [REF.organizes, REF.hierarchical],
  [REF.hasEventSource, REF.hierarchical],
  [REF.hasNotifier, REF.hasEventSource],
  [REF.aggregates, REF.hasChild],
  [REF.hasSubtype, REF.hasChild],
  [REF.hasProperty, REF.aggregates],
  [REF.hasComponent, REF.aggregates],
  [REF.hasOrderedComponent, REF.hasComponent],
  [REF.hasAddIn, REF.hasComponent],
  [REF.hasModellingRule, REF.nonHierarchical],
  [REF.hasEncoding, REF.nonHierarchical],
  [REF.hasDescription, REF.nonHierarchical],
  [REF.hasTypeDefinition, REF.nonHierarchical],
  [REF.generatesEvent, REF.nonHierarchical],
  [REF.hasInterface, REF.nonHierarchical],
]);

export const MODELLING_RULE = {
  mandatory: ua(78),
  optional: ua(80),
  exposesItsArray: ua(83),
  optionalPlaceholder: ua(11508),
  mandatoryPlaceholder: ua(11510),
} as const;

export const TYPE = {
  baseObjectType: ua(58),
  baseVariableType: ua(62),
  baseDataVariableType: ua(63),
  propertyType: ua(68),
  /** Objects of these types describe the type system itself (encodings, modelling rules), not a plant. */
  dataTypeSystemType: ua(75),
  dataTypeEncodingType: ua(76),
  modellingRuleType: ua(77),
} as const;

/** The abstract data types whose subtypes are structures and enumerations. */
export const DATA_TYPE = {
  baseDataType: ua(24),
  structure: ua(22),
  enumeration: ua(29),
} as const;
