/**
 * A type's schema with its supertypes' members inlined: what the I3X guide says a server serves ("the
 * server resolves the $ref and inlines the base type's properties"), so a client sees the whole shape of
 * a value without resolving `allOf`. Member `$ref`s (components typed by another type) stay references.
 */
import type { JsonSchema, ObjectType } from './model.js';

export function inlineInheritance(type: ObjectType, typeOf: (elementId: string) => ObjectType | undefined): JsonSchema {
  // The chain from the type up to its root; a loop with a guard, since stored data may be inconsistent.
  const chain: ObjectType[] = [];
  const seen = new Set<string>();
  for (let current: ObjectType | undefined = type; current && !seen.has(current.elementId); ) {
    seen.add(current.elementId);
    chain.push(current);
    current = current.parentTypeId === undefined ? undefined : typeOf(current.parentTypeId);
  }
  let result: JsonSchema = {};
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const ancestor of chain.reverse()) {
    const own = ownPart(ancestor);
    const { properties: ownProperties, required: ownRequired, ...keywords } = own;
    result = { ...result, ...keywords };
    // A subtype that redeclares a member refines it: its declaration wins.
    Object.assign(properties, ownProperties as Record<string, JsonSchema> | undefined);
    for (const name of (ownRequired as string[] | undefined) ?? []) if (!required.includes(name)) required.push(name);
  }
  if (Object.keys(properties).length > 0) result.properties = properties;
  if (required.length > 0) result.required = required;
  delete result.description;
  if (type.description !== undefined) result.description = type.description;
  return result;
}

/** The schema a type adds to its supertype's: the non-`$ref` branch of its `allOf`, or the whole schema. */
function ownPart(type: ObjectType): JsonSchema {
  const { allOf, ...rest } = type.schema;
  if (!Array.isArray(allOf)) return rest;
  const own = (allOf as JsonSchema[]).filter((branch) => !('$ref' in branch));
  return Object.assign({}, rest, ...own);
}
