import { createHash } from 'node:crypto';
import { type EventIdType, isStorableText, jsonbRefusal, type SampleGroup } from '@plantmesh/core';

/** Why a payload was refused; the label of the dead-letter metric and the start of the reason text. */
export type RefusalKind =
  | 'oversize'
  | 'not_utf8'
  | 'invalid_json'
  | 'unstorable_json'
  | 'invalid_event'
  | 'invalid_event_id'
  | 'invalid_sample';

export type Parsed<T> = { ok: true; value: T } | { ok: false; kind: RefusalKind; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(kind: RefusalKind, reason: string): { ok: false; kind: RefusalKind; reason: string } {
  return { ok: false, kind, reason: `${kind}: ${reason}` };
}

/** Size, UTF-8 and JSON checks that every payload passes first; a UTF-8 byte order mark is dropped. */
function parseJson(payload: Buffer, maxBytes: number): Parsed<{ text: string; value: unknown }> {
  if (payload.length > maxBytes) return refuse('oversize', `${payload.length} bytes, the limit is ${maxBytes}`);
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return refuse('not_utf8', 'the payload is not valid UTF-8');
  }
  try {
    return { ok: true, value: { text, value: JSON.parse(text) } };
  } catch (error) {
    return refuse('invalid_json', (error as Error).message);
  }
}

export interface ParsedEvent {
  id: string;
  idType: EventIdType;
  /** The payload as text, exactly as it came but for a dropped byte order mark. */
  text: string;
}

export interface EventLimits {
  maxBytes: number;
  /** Deepest nesting of arrays and objects taken (PostgreSQL's parser is recursive). */
  maxDepth: number;
}

const maxIdLength = 200;

/**
 * An event is a JSON object that PostgreSQL's jsonb can hold. Its id is its own `idField`: a text of 1
 * to 200 characters or an integer within ±(2^53 - 1), kept with its JSON type so that 7 and "7" are
 * different events. An event without one (absent or null) gets a hash of topic and payload, so that a
 * redelivered copy gets the same id and the store keeps one.
 */
export function parseEvent(topic: string, payload: Buffer, idField: string, limits: EventLimits): Parsed<ParsedEvent> {
  const parsed = parseJson(payload, limits.maxBytes);
  if (!parsed.ok) return parsed;
  const { text, value: document } = parsed.value;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return refuse('invalid_event', 'an event must be a JSON object');
  }
  const unstorable = jsonbRefusal(text, limits.maxDepth);
  if (unstorable) return refuse('unstorable_json', `PostgreSQL's jsonb cannot hold it: ${unstorable}`);
  const own = (document as Record<string, unknown>)[idField];
  if (own === undefined || own === null) {
    const hash = createHash('sha256').update(topic).update('\n').update(text).digest('hex');
    return { ok: true, value: { id: `sha256:${hash}`, idType: 'hash', text } };
  }
  if (typeof own === 'string' && own.length > 0 && own.length <= maxIdLength) {
    return { ok: true, value: { id: own, idType: 'string', text } };
  }
  if (typeof own === 'number' && Number.isSafeInteger(own)) {
    return { ok: true, value: { id: String(own), idType: 'integer', text } };
  }
  const shown = JSON.stringify(own).slice(0, 60);
  return refuse(
    'invalid_event_id',
    `"${idField}" must be a text of 1 to ${maxIdLength} characters or an integer within ±${Number.MAX_SAFE_INTEGER} (got ${shown})`,
  );
}

const qualities: Record<string, number> = { good: 0, uncertain: 1, bad: 2 };

/** The times a sample may have: years 0001 to 9999, which ISO 8601 and PostgreSQL both write plainly. */
const earliest = Date.parse('0001-01-01T00:00:00Z');
const latest = Date.parse('9999-12-31T23:59:59.999Z');

function parseTimestamp(ts: unknown, receivedAt: number): number | undefined {
  if (ts === undefined || ts === null) return receivedAt;
  const time = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  return time >= earliest && time <= latest ? time : undefined;
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
  const { value } = parsed.value;
  const items = Array.isArray(value) ? value : [value];
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
        `sample ${index}: ts must be epoch milliseconds or ISO 8601 within the years 0001 to 9999 (got ${JSON.stringify(ts)})`,
      );
    const q = quality === undefined ? 0 : typeof quality === 'string' ? qualities[quality] : quality;
    if (q !== 0 && q !== 1 && q !== 2)
      return refuse('invalid_sample', `sample ${index}: quality must be good, uncertain or bad`);
    if (itemUnit !== undefined && (typeof itemUnit !== 'string' || !isStorableText(itemUnit)))
      return refuse('invalid_sample', `sample ${index}: unit must be text without \\u0000 or lone surrogates`);
    if (typeof itemUnit === 'string') unit = itemUnit;
    samples.push([time, number, q]);
  }
  return { ok: true, value: { topic, unit, samples, receivedAt } };
}
