import { type ConsumeMessage, eventBatchRecords, ingest, type QuarantineEntry, writeQuarantine } from '@plantmesh/core';
import type pg from 'pg';
import { eventQuarantineEntry } from './event-writer.js';
import { headerText, messageQuarantineEntry } from './quarantine-store.js';
import { halves, type StreamWriter, type WriteResult } from './stream-writer.js';

/** One dead letter as quarantine rows: one row, or one per event of a dead-lettered event batch. */
export interface DeadLetter {
  entries: QuarantineEntry[];
  receivedAt: number;
}

/**
 * The dead-letter queue -> raw.quarantine: payloads a reader refused (with its reason) and messages
 * RabbitMQ gave up on (x-death: e.g. past the delivery limit), kept as bytes for inspection and replay.
 * A dead-lettered event batch becomes one row per event, each with its topic, so that each can be
 * replayed. A dead letter delivered twice is stored once (see quarantineKey).
 */
export class DeadLetterWriter implements StreamWriter<DeadLetter> {
  readonly stream = 'dead-letter';
  readonly queue = ingest.queues.deadLetter;
  readonly tables = ['raw.quarantine'];

  decode(message: ConsumeMessage): DeadLetter {
    const headers = message.properties.headers ?? {};
    const deaths = headers['x-death'];
    const death = Array.isArray(deaths) ? (deaths[0] as { queue?: unknown; reason?: unknown }) : undefined;
    const reason =
      headerText(headers[ingest.headers.reason]) ??
      (death
        ? `rabbitmq dead-lettered it from ${headerText(death.queue)}: ${headerText(death.reason)}`
        : 'dead-lettered without a reason');
    const stage = headerText(headers[ingest.headers.stage]) ?? 'rabbitmq';
    const receivedAt = Date.parse(headerText(headers[ingest.headers.receivedAt]) ?? '');
    return {
      entries:
        death && headerText(death.queue) === ingest.queues.events
          ? eventBatchRecords(message.content.toString('utf8')).map((record) =>
              eventQuarantineEntry(record, stage, reason),
            )
          : [messageQuarantineEntry(message, stage, reason)],
      receivedAt: Number.isNaN(receivedAt) ? Date.now() : receivedAt,
    };
  }

  rows(item: DeadLetter): number {
    return item.entries.length;
  }

  receivedAt(item: DeadLetter): number[] {
    return [item.receivedAt];
  }

  async write(client: pg.ClientBase, items: DeadLetter[]): Promise<WriteResult> {
    return {
      rows: await writeQuarantine(
        client,
        items.flatMap((item) => item.entries),
      ),
    };
  }

  split(item: DeadLetter): [DeadLetter, DeadLetter] | undefined {
    if (item.entries.length < 2) return undefined;
    return halves(item.entries).map((entries) => ({ entries, receivedAt: item.receivedAt })) as [
      DeadLetter,
      DeadLetter,
    ];
  }

  refusals(item: DeadLetter, _message: ConsumeMessage, reason: string): QuarantineEntry[] {
    return item.entries.map((entry) => ({ ...entry, reason: `${entry.reason}; ${reason}` }));
  }
}
