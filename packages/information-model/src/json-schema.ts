/**
 * How type schemas point at each other. Following the I3X guide, a schema names another type with
 * `{"$ref": "#/types/<elementId>"}`: a reference into one document that holds every type under `types`,
 * which is what typeSchemaBundle builds, so any JSON Schema 2020-12 validator can resolve them.
 */
import { JSON_SCHEMA_DIALECT, type JsonSchema, type ObjectType } from './model.js';

const TYPES_POINTER = '#/types/';

/** The `$ref` value that names a type: a JSON Pointer (RFC 6901) in a URI fragment. */
export function typeRef(elementId: string): string {
  const token = elementId.replaceAll('~', '~0').replaceAll('/', '~1');
  // Percent-encode what a URI fragment may not hold, but keep ElementIds readable (':', ';', '=', '@').
  const fragment = encodeURIComponent(token).replace(/%(3A|3B|3D|40|2C|24|26|2B)/g, (escaped) =>
    decodeURIComponent(escaped),
  );
  return `${TYPES_POINTER}${fragment}`;
}

/** The ElementId a `$ref` made by typeRef names, or undefined for any other reference. */
export function typeRefTarget(ref: string): string | undefined {
  if (!ref.startsWith(TYPES_POINTER)) return undefined;
  try {
    return decodeURIComponent(ref.slice(TYPES_POINTER.length)).replaceAll('~1', '/').replaceAll('~0', '~');
  } catch {
    return undefined;
  }
}

/** One schema document holding every type's schema under `types`, so that the `$ref`s between them resolve. */
export function typeSchemaBundle(types: Iterable<ObjectType>, id?: string): JsonSchema {
  const byId: Record<string, JsonSchema> = {};
  for (const type of types) byId[type.elementId] = type.schema;
  return { $schema: JSON_SCHEMA_DIALECT, ...(id === undefined ? {} : { $id: id }), types: byId };
}
