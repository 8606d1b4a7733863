import { createHash } from 'node:crypto';
import type { SampleGroup } from '@plantmesh/core';

/** Why a payload was refused; the label of the dead-letter metric and the start of the reason text. */
export type RefusalKind = 'oversize' | 'not_utf8' | 'invalid_json' | 'invalid_event' | 'invalid_sample';

export type Parsed<T> = { ok: true; value: T } | { ok: false; kind: RefusalKind; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(kind: RefusalKind, reason: string): { ok: false; kind: RefusalKind; reason: string } {
  return { ok: false, kind, reason: `${kind}: ${reason}` };
}

/** Size, UTF-8 and JSON checks that every payload passes first. */
function parseJson(payload: Buffer, maxBytes: number): Parsed<unknown> {
  if (payload.length > maxBytes) return refuse('oversize', `${payload.length} bytes, the limit is ${maxBytes}`);
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return refuse('not_utf8', 'the payload is not valid UTF-8');
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return refuse('invalid_json', (error as Error).message);
  }
}

export interface ParsedEvent {
  id: string;
}

/**
 * An event is a JSON object. Its id is its own `idField` when present, else a hash of topic and
 * payload, so that a redelivered copy gets the same id and the store keeps one.
 */
export function parseEvent(topic: string, payload: Buffer, idField: string, maxBytes: number): Parsed<ParsedEvent> {
  const parsed = parseJson(payload, maxBytes);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return refuse('invalid_event', 'an event must be a JSON object');
  }
  if (payload.includes('\\u0000')) {
    return refuse('invalid_event', 'the payload contains \\u0000, which PostgreSQL cannot store in jsonb');
  }
  const own = (document as Record<string, unknown>)[idField];
  if (typeof own === 'string' && own.length > 0 && own.length <= 200) return { ok: true, value: { id: own } };
  if (typeof own === 'number' && Number.isFinite(own)) return { ok: true, value: { id: String(own) } };
  const hash = createHash('sha256').update(topic).update('\n').update(payload).digest('hex');
  return { ok: true, value: { id: `sha256:${hash}` } };
}

const qualities: Record<string, number> = { good: 0, uncertain: 1, bad: 2 };

function parseTimestamp(ts: unknown, receivedAt: number): number | undefined {
  if (ts === undefined || ts === null) return receivedAt;
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts;
  if (typeof ts === 'string') {
    const parsed = Date.parse(ts);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/**
 * A sensor payload is `{ts, value, quality?, unit?}` or an array of them, all of the topic's series.
 * `ts` is epoch milliseconds or an ISO 8601 text (the receive time when absent); `value` a number or a
 * boolean (1/0); `quality` good | uncertain | bad or 0 | 1 | 2. One bad sample refuses the message, so
 * that a message is either stored whole or quarantined whole.
 */
export function parseSamples(
  topic: string,
  payload: Buffer,
  maxBytes: number,
  receivedAt: number,
): Parsed<SampleGroup> {
  const parsed = parseJson(payload, maxBytes);
  if (!parsed.ok) return parsed;
  const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
  if (items.length === 0) return refuse('invalid_sample', 'no samples in the message');
  const samples: SampleGroup['samples'] = [];
  let unit: string | null = null;
  for (const [index, item] of items.entries()) {
    if (typeof item !== 'object' || item === null) return refuse('invalid_sample', `sample ${index} is not an object`);
    const { ts, value, quality, unit: itemUnit } = item as Record<string, unknown>;
    const number = typeof value === 'boolean' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      return refuse(
        'invalid_sample',
        `sample ${index}: value must be a finite number or a boolean (got ${JSON.stringify(value)})`,
      );
    }
    const time = parseTimestamp(ts, receivedAt);
    if (time === undefined)
      return refuse(
        'invalid_sample',
        `sample ${index}: ts must be epoch milliseconds or ISO 8601 (got ${JSON.stringify(ts)})`,
      );
    const q = quality === undefined ? 0 : typeof quality === 'string' ? qualities[quality] : quality;
    if (q !== 0 && q !== 1 && q !== 2)
      return refuse('invalid_sample', `sample ${index}: quality must be good, uncertain or bad`);
    if (itemUnit !== undefined && typeof itemUnit !== 'string')
      return refuse('invalid_sample', `sample ${index}: unit must be text`);
    if (typeof itemUnit === 'string') unit = itemUnit;
    samples.push([time, number, q]);
  }
  return { ok: true, value: { topic, unit, samples, receivedAt } };
}
