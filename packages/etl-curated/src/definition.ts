import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ajv, pointerPath } from './json-schema.js';
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
  relationships?: RelationshipDefinition[];
}

/** One problem of a definition file, where it is. */
export interface DefinitionProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** A definition file that cannot be used: every problem, each as `file:line:column: message`. */
export class DefinitionError extends Error {
  constructor(readonly problems: DefinitionProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'DefinitionError';
  }
}

const schema = JSON.parse(readFileSync(new URL('../definition.schema.json', import.meta.url), 'utf8'));
const validateFormat = ajv.compile<CuratedDefinition>(schema);

/** An ajv error as one sentence that names what is wrong and what is wanted. */
function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  switch (error.keyword) {
    case 'required':
      return `${where}: "${(error.params as { missingProperty: string }).missingProperty}" is required`;
    case 'additionalProperties':
      return `${where}: "${(error.params as { additionalProperty: string }).additionalProperty}" is not a known field`;
    case 'enum':
      return `${where}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${where}: must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    default:
      return `${where}: ${error.message}`;
  }
}

/**
 * Reads a curated definition from YAML text and checks it: against the format's JSON Schema, then what
 * a schema cannot say (columns named once, the key and event time among the columns, known units of
 * one quantity, a payload schema that compiles). Throws a DefinitionError naming the file, line and
 * problem of each.
 */
export function parseDefinition(text: string, file: string): CuratedDefinition {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (path: Array<string | number>, message: string): DefinitionProblem => {
    // The deepest node the path reaches: a missing field is reported where its parent is.
    let node: unknown = document.contents;
    for (const key of path) {
      const next = isMap(node) || isSeq(node) ? (node.get(key, true) as unknown) : undefined;
      if (next === undefined) break;
      node = next;
    }
    const offset = (node as Node | null)?.range?.[0] ?? 0;
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col, message };
  };
  if (document.errors.length > 0) {
    throw new DefinitionError(
      document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return { file, line, column: col, message: `YAML: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  const value = document.toJS() as unknown;
  if (!validateFormat(value)) {
    throw new DefinitionError(
      (validateFormat.errors ?? []).map((error) => at(pointerPath(error.instancePath), describe(error))),
    );
  }
  const definition = value;
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
  const eventTime = definition.columns[names.get(definition.eventTime) ?? -1];
  if (!eventTime)
    problems.push(at(['eventTime'], `event-time column "${definition.eventTime}" is not among the columns`));
  else if (eventTime.type !== 'timestamptz') {
    problems.push(
      at(['eventTime'], `event-time column "${definition.eventTime}" must be timestamptz (it is ${eventTime.type})`),
    );
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
