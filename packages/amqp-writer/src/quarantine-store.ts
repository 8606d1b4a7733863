import type pg from 'pg';

export interface QuarantineEntry {
  stage: string;
  source: string | null;
  topic: string | null;
  reason: string;
  payload: Buffer;
  headers: Record<string, unknown>;
}

/** AMQP header values as JSON: Buffers become text, nested tables stay objects. */
export function headersAsJson(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(headers ?? {}, (_key, value) =>
      value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)
        ? Buffer.from(value.data).toString('utf8')
        : value,
    ),
  );
}

/** Stores refused payloads as they came, with the reason, for inspection and replay. */
export async function writeQuarantine(client: pg.ClientBase, entries: QuarantineEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `insert into raw.quarantine (stage, source, topic, reason, payload, headers)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::jsonb[])`,
    [
      entries.map((e) => e.stage),
      entries.map((e) => e.source),
      entries.map((e) => e.topic),
      entries.map((e) => e.reason),
      entries.map((e) => e.payload),
      entries.map((e) => JSON.stringify(e.headers)),
    ],
  );
}
