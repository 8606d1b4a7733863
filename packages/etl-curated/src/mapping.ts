import type { ErrorObject } from 'ajv/dist/2020.js';
import type { ColumnDefinition, CuratedDefinition } from './definition.js';
import { ajv, pointerPath } from './json-schema.js';
import { unitConversion } from './units.js';

/** One reason a payload cannot become a row: where in the payload (a JSON Pointer) and what is wrong. */
export interface MappingError {
  path: string;
  message: string;
}

export type Mapped = { ok: true; row: Record<string, unknown> } | { ok: false; errors: MappingError[] };

/** The value at a JSON Pointer's path in a document, or undefined. */
function resolve(document: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = document;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** The validator's own error as a path into the payload and a sentence. */
function fromValidator(error: ErrorObject): MappingError {
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: `${error.instancePath}/${missing}`, message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: `${error.instancePath}/${extra}`, message: 'is not allowed' };
  }
  return { path: error.instancePath || '/', message: error.message ?? error.keyword };
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const earliest = Date.parse('0001-01-01T00:00:00Z');
const latest = Date.parse('9999-12-31T23:59:59.999Z');

/** Float noise of a unit conversion (162.4 t -> 162400.00000000003 kg) is not a measurement: 15 digits. */
const significant = (value: number) => Number(value.toPrecision(15));

/** A payload value as a column's SQL type wants it, or why it cannot be. */
function typed(column: ColumnDefinition, value: unknown): { value: unknown } | { error: string } {
  switch (column.type) {
    case 'text':
      return typeof value === 'string' ? { value } : { error: `must be text for column ${column.name}` };
    case 'integer':
    case 'bigint':
      return Number.isSafeInteger(value) ? { value } : { error: `must be a whole number for column ${column.name}` };
    case 'numeric':
    case 'double precision':
      return typeof value === 'number' && Number.isFinite(value)
        ? { value }
        : { error: `must be a number for column ${column.name}` };
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { error: `must be true or false for column ${column.name}` };
    case 'timestamptz': {
      const time = typeof value === 'string' && isoDateTime.test(value) ? Date.parse(value) : Number.NaN;
      return time >= earliest && time <= latest
        ? { value: new Date(time).toISOString() }
        : { error: `must be an ISO 8601 date-time with a time zone, years 0001-9999, for column ${column.name}` };
    }
    case 'date':
      return typeof value === 'string' && isoDate.test(value) && !Number.isNaN(Date.parse(value))
        ? { value }
        : { error: `must be a date (YYYY-MM-DD) for column ${column.name}` };
    case 'jsonb':
      return { value };
  }
}

/**
 * The mapping of a definition, compiled once: a payload becomes a row of its table (values typed,
 * units converted), or every reason it cannot, each with its JSON path — first the payload schema's
 * errors as the validator reports them, then the columns'.
 */
export function compileMapping(definition: CuratedDefinition): (payload: unknown) => Mapped {
  const validate = ajv.compile(definition.payloadSchema);
  const keys = new Set(definition.key);
  const columns = definition.columns.map((column) => ({
    column,
    path: pointerPath(column.from),
    required: keys.has(column.name) || column.nullable === false,
    convert: column.sourceUnit && column.unit ? unitConversion(column.sourceUnit, column.unit) : undefined,
  }));
  return (payload) => {
    if (!validate(payload)) return { ok: false, errors: (validate.errors ?? []).map(fromValidator) };
    const row: Record<string, unknown> = {};
    const errors: MappingError[] = [];
    for (const { column, path, required, convert } of columns) {
      const value = resolve(payload, path);
      if (value === undefined || value === null) {
        if (required) errors.push({ path: column.from, message: `is required by column ${column.name}` });
        row[column.name] = null;
        continue;
      }
      const result = typed(column, value);
      if ('error' in result) {
        errors.push({ path: column.from, message: result.error });
        continue;
      }
      row[column.name] = convert ? significant(convert(result.value as number)) : result.value;
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, row };
  };
}
