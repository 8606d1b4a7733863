import { type ConsumeMessage, ingest } from '@plantmesh/core';
import type pg from 'pg';
import type { StreamWriter, WriteResult } from './stream-writer.js';

/** One AMQP message of the event stream: a JSON array of event records (see eventRecord in core). */
export interface EventBatch {
  /** The array's inside, so that the records of several messages join into one array. */
  records: string;
  count: number;
  /** When the reader received the batch's oldest event, epoch ms. */
  receivedAt: number;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * raw.events: the records of many batch messages joined into one JSON-array parameter and expanded in
 * SQL, without parsing them here; a second copy of an id is ignored. A batch PostgreSQL refuses is
 * retried message by message by the consumer, and a refused message is quarantined whole.
 */
export class EventWriter implements StreamWriter<EventBatch> {
  readonly stream = 'events';
  readonly queue = ingest.queues.events;
  readonly tables = ['raw.events'];

  decode(message: ConsumeMessage): EventBatch {
    const headers = message.properties.headers ?? {};
    const body = message.content.toString('utf8').trim();
    if (!body.startsWith('[') || !body.endsWith(']')) throw new Error('an event batch must be a JSON array');
    const count = Number(headers[ingest.headers.count]);
    if (!Number.isInteger(count) || count < 0) throw new Error(`the batch carries no ${ingest.headers.count} header`);
    const receivedAt = Date.parse(text(headers[ingest.headers.receivedAt]) ?? '');
    return {
      records: body.slice(1, -1).trim(),
      count,
      receivedAt: Number.isNaN(receivedAt) ? Date.now() : receivedAt,
    };
  }

  rows(item: EventBatch): number {
    return item.count;
  }

  receivedAt(item: EventBatch): number[] {
    return new Array<number>(item.count).fill(item.receivedAt);
  }

  async write(client: pg.ClientBase, items: EventBatch[]): Promise<WriteResult> {
    const records = items.map((item) => item.records).filter((records) => records.length > 0);
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
