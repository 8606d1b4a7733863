import {
  type ConsumeMessage,
  decodeEventRecord,
  eventBatchRecords,
  ingest,
  type QuarantineEntry,
} from '@plantmesh/core';
import type pg from 'pg';
import { headerText } from './quarantine-store.js';
import { halves, type StreamWriter, type WriteResult } from './stream-writer.js';

/** One AMQP message of the event stream, or a part of one: event records (see eventRecord in core). */
export interface EventBatch {
  /** The records as the inside of a JSON array, so that the records of several messages join into one. */
  records: string;
  count: number;
  /** When the reader received the batch's oldest event, epoch ms. */
  receivedAt: number;
}

/**
 * raw.events: the records of many batch messages joined into one JSON-array parameter and expanded in
 * SQL, without parsing them here; a second copy of an (id, id type) is ignored. Only when PostgreSQL
 * refuses a batch are records read, to halve it down to the refused event, which is quarantined with
 * its own topic and headers.
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
    const receivedAt = Date.parse(headerText(headers[ingest.headers.receivedAt]) ?? '');
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
      `insert into raw.events (id, id_type, topic, source, received_at, payload, headers, traceparent)
       select id, coalesce(id_type, 'string'), topic, source, received_at, payload, headers, traceparent
       from json_to_recordset($1::json) as e(id text, id_type text, topic text, source text,
                                             received_at timestamptz, payload jsonb, headers jsonb, traceparent text)
       on conflict (id, id_type) do nothing`,
      [`[${records.join(',')}]`],
    );
    return { rows: result.rowCount ?? 0 };
  }

  split(item: EventBatch): [EventBatch, EventBatch] | undefined {
    if (item.count < 2) return undefined;
    const records = eventBatchRecords(item.records);
    return halves(records).map((part) => ({
      records: part.join(','),
      count: part.length,
      receivedAt: item.receivedAt,
    })) as [EventBatch, EventBatch];
  }

  /** The refused event alone, with its topic, id and MQTT user properties, ready for replay. */
  refusals(item: EventBatch, _message: ConsumeMessage, reason: string): QuarantineEntry[] {
    return eventBatchRecords(item.records).map((record) => eventQuarantineEntry(record, 'amqp-writer', reason));
  }
}

/** An event record as a quarantine row: its payload as it came, to its topic, with its headers. */
export function eventQuarantineEntry(record: string, stage: string, reason: string): QuarantineEntry {
  const { envelope, payload } = decodeEventRecord(record);
  const userProperties = envelope.headers.mqtt_user_properties;
  return {
    stage,
    source: envelope.source,
    topic: envelope.topic,
    reason,
    payload: Buffer.from(payload),
    headers: {
      [ingest.headers.topic]: envelope.topic,
      [ingest.headers.source]: envelope.source,
      [ingest.headers.receivedAt]: new Date(envelope.receivedAt).toISOString(),
      [ingest.headers.eventId]: envelope.id,
      [ingest.headers.eventIdType]: envelope.idType,
      ...(userProperties ? { [ingest.headers.mqttUserProperties]: userProperties } : {}),
      ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
    },
  };
}
