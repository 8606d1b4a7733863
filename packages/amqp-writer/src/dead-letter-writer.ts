import { type ConsumeMessage, ingest } from '@plantmesh/core';
import type pg from 'pg';
import { headersAsJson, type QuarantineEntry, writeQuarantine } from './quarantine-store.js';
import type { StreamWriter, WriteResult } from './stream-writer.js';

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

/**
 * The dead-letter queue -> raw.quarantine: payloads a reader refused (with its reason) and messages
 * RabbitMQ gave up on (x-death: e.g. past the delivery limit), kept as bytes for inspection and replay.
 */
export class DeadLetterWriter implements StreamWriter<QuarantineEntry & { receivedAt: number }> {
  readonly stream = 'dead-letter';
  readonly queue = ingest.queues.deadLetter;
  readonly tables = ['raw.quarantine'];

  decode(message: ConsumeMessage): QuarantineEntry & { receivedAt: number } {
    const headers = message.properties.headers ?? {};
    const deaths = headers['x-death'];
    const death = Array.isArray(deaths) ? (deaths[0] as { queue?: unknown; reason?: unknown }) : undefined;
    const reason =
      text(headers[ingest.headers.reason]) ??
      (death
        ? `rabbitmq dead-lettered it from ${text(death.queue)}: ${text(death.reason)}`
        : 'dead-lettered without a reason');
    const receivedAt = Date.parse(text(headers[ingest.headers.receivedAt]) ?? '');
    return {
      stage: text(headers[ingest.headers.stage]) ?? 'rabbitmq',
      source: text(headers[ingest.headers.source]),
      topic: text(headers[ingest.headers.topic]),
      reason,
      payload: message.content,
      headers: headersAsJson(headers),
      receivedAt: Number.isNaN(receivedAt) ? Date.now() : receivedAt,
    };
  }

  rows(): number {
    return 1;
  }

  receivedAt(item: { receivedAt: number }): number[] {
    return [item.receivedAt];
  }

  async write(client: pg.ClientBase, items: QuarantineEntry[]): Promise<WriteResult> {
    await writeQuarantine(client, items);
    return { rows: items.length };
  }
}
