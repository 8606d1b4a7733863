import { readFileSync } from 'node:fs';
import { checkedYaml, DefinitionError, type DefinitionProblem } from '@plantmesh/core';
import { ajv } from './json-schema.js';
import { unitCodes } from './units.js';

/** One column of a curated table and where its value comes from in the payload. */
export interface ColumnDefinition {
  name: string;
  /** A JSON Pointer into the payload. */
  from: string;
  type: 'text' | 'integer' | 'bigint' | 'numeric' | 'double precision' | 'boolean' | 'timestamptz' | 'date' | 'jsonb';
  nullable?: boolean;
  /** UNECE Rec. 20 code of the stored value. */
  unit?: string;
  /** UNECE Rec. 20 code of the payload's value, converted into `unit`. */
  sourceUnit?: string;
  description?: string;
}

export interface RelationshipDefinition {
  type: string;
  reverse?: string;
  /** The product it points to. */
  to: string;
  /** This table's columns -> the other product's key columns. */
  columns: Record<string, string>;
}

/** A curated data product, as its YAML file says (see definition.schema.json). */
export interface CuratedDefinition {
  apiVersion: 'plantmesh.dev/v1';
  kind: 'CuratedDefinition';
  product: { name: string; domain: string; owner: string; description: string; version: string };
  source: { topics: string[]; type?: { field: string; equals: string } };
  payloadSchema: Record<string, unknown>;
  table: string;
  columns: ColumnDefinition[];
  key: string[];
  eventTime: string;
  /** For a row that covers a span of time: the column of its end (eventTime is its start). */
  eventEnd?: string;
  relationships?: RelationshipDefinition[];
}

const schema = JSON.parse(readFileSync(new URL('../definition.schema.json', import.meta.url), 'utf8'));
const validateFormat = ajv.compile<CuratedDefinition>(schema);

/**
 * Reads a curated definition from YAML text and checks it: against the format's JSON Schema, then what
 * a schema cannot say (columns named once, the key and event time among the columns, known units of
 * one quantity, a payload schema that compiles). Throws a DefinitionError naming the file, line and
 * problem of each.
 */
export function parseDefinition(text: string, file: string): CuratedDefinition {
  const { value: definition, at } = checkedYaml(text, file, validateFormat);
  const problems: DefinitionProblem[] = [];
  const names = new Map<string, number>();
  definition.columns.forEach((column, index) => {
    if (names.has(column.name)) problems.push(at(['columns', index, 'name'], `column "${column.name}" is named twice`));
    names.set(column.name, index);
    for (const field of ['unit', 'sourceUnit'] as const) {
      const code = column[field];
      if (code && !unitCodes[code]) {
        problems.push(at(['columns', index, field], `"${code}" is not a UNECE Rec. 20 code the platform knows`));
      }
    }
    const [unit, sourceUnit] = [
      column.unit && unitCodes[column.unit],
      column.sourceUnit && unitCodes[column.sourceUnit],
    ];
    if (unit && sourceUnit && unit.quantity !== sourceUnit.quantity) {
      problems.push(
        at(
          ['columns', index, 'sourceUnit'],
          `${column.sourceUnit} (${sourceUnit.quantity}) cannot be converted to ${column.unit} (${unit.quantity})`,
        ),
      );
    }
    if (
      (column.unit || column.sourceUnit) &&
      !['integer', 'bigint', 'numeric', 'double precision'].includes(column.type)
    ) {
      problems.push(at(['columns', index, 'unit'], `a unit needs a numeric column (this one is ${column.type})`));
    }
  });
  definition.key.forEach((name, index) => {
    if (!names.has(name)) problems.push(at(['key', index], `key column "${name}" is not among the columns`));
    else if (definition.columns[names.get(name) as number]?.nullable === true) {
      problems.push(at(['key', index], `key column "${name}" cannot be nullable`));
    }
  });
  for (const field of ['eventTime', 'eventEnd'] as const) {
    const name = definition[field];
    if (name === undefined) continue;
    const column = definition.columns[names.get(name) ?? -1];
    const what = field === 'eventTime' ? 'event-time' : 'event-end';
    if (!column) problems.push(at([field], `${what} column "${name}" is not among the columns`));
    else if (column.type !== 'timestamptz') {
      problems.push(at([field], `${what} column "${name}" must be timestamptz (it is ${column.type})`));
    } else if (field === 'eventEnd' && column.nullable !== false) {
      problems.push(at([field], `event-end column "${name}" must be nullable: false`));
    }
  }
  (definition.relationships ?? []).forEach((relationship, index) => {
    for (const column of Object.keys(relationship.columns)) {
      if (!names.has(column)) {
        problems.push(at(['relationships', index, 'columns', column], `column "${column}" is not among the columns`));
      }
    }
  });
  try {
    ajv.compile(definition.payloadSchema);
  } catch (error) {
    problems.push(at(['payloadSchema'], `the payload schema is not a valid JSON Schema: ${(error as Error).message}`));
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  return definition;
}

/** Reads and checks a definition file. */
export function loadDefinition(file: string): CuratedDefinition {
  return parseDefinition(readFileSync(file, 'utf8'), file);
}
