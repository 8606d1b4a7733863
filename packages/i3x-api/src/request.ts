/** Reading a request's body and query as the guide defines them; anything else is a 400 saying what. */
import { badRequest } from './envelope.js';

export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** `elementIds`: a non-empty array of strings, at most `limit` of them. */
export function elementIdsOf(body: Record<string, unknown>, limit: number, field = 'elementIds'): string[] {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`${field} is required (an array of elementIds)`);
  if (!Array.isArray(value)) throw badRequest(`${field} must be an array of strings`);
  if (value.length > limit) {
    throw badRequest(`${field} has ${value.length} items; at most ${limit} are served in one request (MAX_BULK_ITEMS)`);
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw badRequest(`${field}[${i}] must be a string`);
  });
  return value as string[];
}

/** `maxDepth`: 0 (as deep as the server goes), 1 (default: no recursion) or N. */
export function maxDepthOf(body: Record<string, unknown>): number {
  const value = body.maxDepth;
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest('maxDepth must be an integer of 0 or more (0 = all levels, 1 = no recursion)');
  }
  return value;
}

export function booleanOf(value: unknown, field: string, fallback = false): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`${field} must be true or false`);
}

export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  return value;
}

/** A query string parameter given once, as text. */
export function queryParam(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(value)) throw badRequest(`${name} is given more than once`);
  return value === undefined ? undefined : String(value);
}
