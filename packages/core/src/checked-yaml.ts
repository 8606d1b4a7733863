/**
 * YAML files of the platform's declarative formats (curated and business definitions, the asset model) read
 * and checked against their JSON Schemas, every problem named as `file:line:column: message`.
 */
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/** What checkedYaml needs of an ajv error (ajv's ErrorObject; not imported, so core does not depend on ajv). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A compiled JSON Schema validator as ajv makes it (`ValidateFunction<T>`). */
export interface SchemaValidator<T> {
  (value: unknown): value is T;
  errors?: SchemaError[] | null;
}

/** The keys and indexes a JSON Pointer (or an ajv instancePath) names, e.g. /columns/2/type. */
export function pointerPath(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
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
  constructor(
    readonly problems: DefinitionProblem[],
    /** The file may pass unchanged later: it names what is not applied yet (a KPI's curated inputs). */
    readonly mayPassLater = false,
  ) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'DefinitionError';
  }
}

/** An ajv error as one sentence that names what is wrong and what is wanted. */
function describe(error: SchemaError): string {
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

/** A YAML definition file read and checked against its format's JSON Schema, with a locator for more problems. */
export interface CheckedYaml<T> {
  value: T;
  /** A problem at a path of the document: the line and column of its node (or of the nearest parent there is). */
  at(path: Array<string | number>, message: string): DefinitionProblem;
}

/**
 * Parses YAML text and validates it against a definition format's JSON Schema; throws a DefinitionError
 * with every problem as `file:line:column: message` (YAML syntax first, then the schema's errors).
 */
export function checkedYaml<T>(text: string, file: string, validate: SchemaValidator<T>): CheckedYaml<T> {
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
  if (!validate(value)) {
    throw new DefinitionError(
      (validate.errors ?? []).map((error) => at(pointerPath(error.instancePath), describe(error))),
    );
  }
  return { value, at };
}
