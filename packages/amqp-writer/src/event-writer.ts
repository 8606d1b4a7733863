import { type ConsumeMessage, ingest } from '@plantmesh/core';
import type pg from 'pg';
import { headersAsJson } from './quarantine-store.js';
import type { StreamWriter, WriteResult } from './stream-writer.js';

export interface EventRow {
  id: string;
  topic: string;
  source: string;
  receivedAt: number;
  /** The payload's JSON text, checked to be one JSON value. */
  payload: string;
  headers: Record<string, unknown>;
  traceparent: string | null;
}

const columns = new Set<string>([
  ingest.headers.eventId,
  ingest.headers.topic,
  ingest.headers.source,
  ingest.headers.receivedAt,
  'traceparent',
]);

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * raw.events: one JSON-array parameter expanded in SQL (the fastest path short of COPY, which cannot
 * skip duplicates); a second copy of an id is ignored.
 */
export class EventWriter implements StreamWriter<EventRow> {
  readonly stream = 'events';
  readonly queue = ingest.queues.events;

  decode(message: ConsumeMessage): EventRow {
    const headers = message.properties.headers ?? {};
    const id = text(headers[ingest.headers.eventId]) ?? text(message.properties.messageId);
    if (!id) throw new Error('the message carries no event id');
    const payload = message.content.toString('utf8');
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new Error(`the payload is not JSON: ${(error as Error).message}`);
    }
    const receivedAt = Date.parse(text(headers[ingest.headers.receivedAt]) ?? '');
    const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => !columns.has(name)));
    return {
      id,
      topic: text(headers[ingest.headers.topic]) ?? '',
      source: text(headers[ingest.headers.source]) ?? 'unknown',
      receivedAt: Number.isNaN(receivedAt) ? Date.now() : receivedAt,
      payload,
      headers: headersAsJson(rest),
      traceparent: text(headers.traceparent) ?? null,
    };
  }

  rows(): number {
    return 1;
  }

  receivedAt(item: EventRow): number[] {
    return [item.receivedAt];
  }

  async write(client: pg.ClientBase, items: EventRow[]): Promise<WriteResult> {
    // Each payload was parsed once in decode, so splicing its text in keeps the array well-formed.
    const records = items.map(
      (e) =>
        `{"id":${JSON.stringify(e.id)},"topic":${JSON.stringify(e.topic)},"source":${JSON.stringify(e.source)},` +
        `"received_at":${JSON.stringify(new Date(e.receivedAt).toISOString())},"payload":${e.payload},` +
        `"headers":${JSON.stringify(e.headers)},"traceparent":${JSON.stringify(e.traceparent)}}`,
    );
    const result = await client.query(
      `insert into raw.events (id, topic, source, received_at, payload, headers, traceparent)
       select id, topic, source, received_at, payload, headers, traceparent
       from json_to_recordset($1::json) as e(id text, topic text, source text, received_at timestamptz,
                                             payload jsonb, headers jsonb, traceparent text)
       on conflict (id) do nothing`,
      [`[${records.join(',')}]`],
    );
    return { rows: result.rowCount ?? 0 };
  }
}
