import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ingest } from './ingest.js';
import { storableText } from './json-text.js';

export interface QuarantineEntry {
  stage: string;
  source: string | null;
  topic: string | null;
  reason: string;
  /** The payload as it came, so that a replay publishes exactly it again. */
  payload: Buffer;
  /** AMQP headers or plain JSON; stored as JSON that jsonb takes (see headersAsJson). */
  headers: Record<string, unknown>;
  /** What identifies this refusal, when its stage knows better than quarantineKey (the ETL: definition, version, event). */
  key?: Buffer;
}

/** JSON whose keys and strings PostgreSQL's jsonb can store (a header may quote anything). */
function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)]));
  }
  return value;
}

/** AMQP header values as JSON that jsonb takes: Buffers become text, nested tables stay objects. */
function headersAsJson(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  return storableJson(
    JSON.parse(
      JSON.stringify(headers ?? {}, (_key, value) =>
        value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)
          ? Buffer.from(value.data).toString('utf8')
          : value,
      ),
    ),
  ) as Record<string, unknown>;
}

/**
 * The quarantine key: what identifies a refused message wherever it is refused again — its stage, its
 * topic, its MQTT user properties (a replay adds one, so that a replay's refusal is a row of its own)
 * and its bytes. A redelivered dead letter or a re-sent MQTT message has the same key.
 */
export function quarantineKey(entry: QuarantineEntry): Buffer {
  const userProperties = entry.headers[ingest.headers.mqttUserProperties] ?? null;
  return createHash('sha256')
    .update(`${entry.stage}\n${entry.topic ?? ''}\n${JSON.stringify(userProperties)}\n`)
    .update(entry.payload)
    .digest();
}

/** Stores refused payloads as they came, with the reason, once per key; returns the rows added. */
export async function writeQuarantine(client: pg.ClientBase | pg.Pool, refused: QuarantineEntry[]): Promise<number> {
  if (refused.length === 0) return 0;
  const entries = refused.map((entry) => ({ ...entry, headers: headersAsJson(entry.headers) }));
  const text = (value: string | null) => (value === null ? null : storableText(value));
  const result = await client.query(
    `insert into raw.quarantine (key, stage, source, topic, reason, payload, headers)
     select * from unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::jsonb[])
     on conflict (key) do nothing`,
    [
      entries.map((entry) => entry.key ?? quarantineKey(entry)),
      entries.map((e) => text(e.stage)),
      entries.map((e) => text(e.source)),
      entries.map((e) => text(e.topic)),
      entries.map((e) => text(e.reason)),
      entries.map((e) => e.payload),
      entries.map((e) => JSON.stringify(e.headers)),
    ],
  );
  return result.rowCount ?? 0;
}
