/** Reading a request's body and query as the guide defines them; anything else is a 400 saying what. */
import { badRequest } from './envelope.js';
import { type Aggregate, type AggregateFunction, aggregateFunctions } from './values.js';

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

// ISO 8601 durations of weeks, days, hours, minutes and seconds (months and years have no fixed length).
const DURATION = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * `aggregate` of POST /objects/history (this server's addition): `{interval, functions}`, the interval an ISO
 * 8601 duration (`PT1M`, `PT15S`, `P1D`) of at least a millisecond, the functions some of avg, min, max, first,
 * last, count (all when left out). Absent: no aggregation.
 */
export function aggregateOf(body: Record<string, unknown>): Aggregate | undefined {
  const value = body.aggregate;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(
      'aggregate must be an object {interval, functions}, e.g. {"interval": "PT1M", "functions": ["avg"]}',
    );
  }
  const { interval, functions } = value as Record<string, unknown>;
  const match = typeof interval === 'string' ? DURATION.exec(interval) : null;
  if (!match) {
    throw badRequest(
      `aggregate.interval must be an ISO 8601 duration of weeks, days, hours, minutes or seconds such as PT1M (got ${JSON.stringify(interval ?? null).slice(0, 60)})`,
    );
  }
  const [, weeks, days, hours, minutes, seconds] = match;
  const total =
    Number(weeks ?? 0) * 604_800 +
    Number(days ?? 0) * 86_400 +
    Number(hours ?? 0) * 3_600 +
    Number(minutes ?? 0) * 60 +
    Number(seconds ?? 0);
  if (!(total >= 0.001) || !Number.isFinite(total) || total > 3_153_600_000) {
    throw badRequest(`aggregate.interval must be between a millisecond and a hundred years (got ${interval})`);
  }
  let names: AggregateFunction[] = [...aggregateFunctions];
  if (functions !== undefined && functions !== null) {
    if (!Array.isArray(functions) || functions.length === 0) {
      throw badRequest(`aggregate.functions must be a non-empty array of ${aggregateFunctions.join(', ')}`);
    }
    functions.forEach((name, i) => {
      if (!(aggregateFunctions as readonly unknown[]).includes(name)) {
        throw badRequest(
          `aggregate.functions[${i}] must be one of ${aggregateFunctions.join(', ')} (got ${JSON.stringify(name).slice(0, 40)})`,
        );
      }
    });
    names = [...new Set(functions as AggregateFunction[])];
  }
  return { seconds: total, functions: names };
}
