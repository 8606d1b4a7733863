import type { ColumnDefinition, CuratedDefinition } from './definition.js';

/** A column's SQL type as JSON Schema, as its value reads in JSON (numeric as a number, times as text). */
const jsonTypes: Record<ColumnDefinition['type'], Record<string, unknown>> = {
  text: { type: 'string' },
  integer: { type: 'integer' },
  bigint: { type: 'integer' },
  numeric: { type: 'number' },
  'double precision': { type: 'number' },
  boolean: { type: 'boolean' },
  timestamptz: { type: 'string', format: 'date-time' },
  date: { type: 'string', format: 'date' },
  jsonb: {},
};

/**
 * The JSON Schema (2020-12) of a row of a definition's table: what the catalog shows as the product's
 * schema and the I3X API serves as its object type. Units travel as `x-unit` (UNECE Rec. 20 codes).
 */
export function rowSchema(definition: CuratedDefinition): Record<string, unknown> {
  const required = definition.columns
    .filter((column) => definition.key.includes(column.name) || column.nullable === false)
    .map((column) => column.name);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: definition.product.name,
    description: definition.product.description,
    type: 'object',
    required,
    properties: Object.fromEntries(
      definition.columns.map((column) => {
        const type = jsonTypes[column.type];
        const nullable = !required.includes(column.name) && 'type' in type;
        return [
          column.name,
          {
            ...type,
            ...(nullable ? { type: [type.type, 'null'] } : {}),
            ...(column.description ? { description: column.description } : {}),
            ...(column.unit ? { 'x-unit': column.unit } : {}),
          },
        ];
      }),
    ),
  };
}
