import { liveExchange } from '@plantmesh/live-stream';
import type { ConfirmChannel } from 'amqplib';
import { jsonArrayElements, jsonObjectMembers } from './json-text.js';

/**
 * The RabbitMQ side of ingestion, shared by the MQTT readers (publishers) and the writers (consumers).
 * See docs/adr/0005-ingest-topology.md for the limits and what happens at them.
 */
export const ingest = {
  exchange: 'plantmesh.ingest',
  deadLetterExchange: 'plantmesh.dead-letter',
  queues: {
    events: 'plantmesh.events',
    samples: 'plantmesh.samples',
    deadLetter: 'plantmesh.dead-letter',
  },
  routingKeys: { events: 'events', samples: 'samples' },
  /** Headers of an ingest message. */
  headers: {
    eventId: 'x-event-id',
    eventIdType: 'x-event-id-type',
    topic: 'x-topic',
    /** The MQTT 5 user properties of the message, on a dead letter. */
    mqttUserProperties: 'x-mqtt-user-properties',
    source: 'x-source',
    receivedAt: 'x-received-at',
    /** Items in a batch message (events or samples). */
    count: 'x-count',
    /** On a dead letter: why it was refused, and by which stage. */
    reason: 'x-reason',
    stage: 'x-stage',
  },
} as const;

export interface IngestLimits {
  /** Events waiting in RabbitMQ before publishers are refused (back-pressure reaches MQTT). */
  maxQueuedEvents: number;
  /** Sample batches waiting in RabbitMQ before the oldest are dropped (freshest data wins). */
  maxQueuedSampleBatches: number;
  /** Deliveries of one message before RabbitMQ dead-letters it as poison. */
  deliveryLimit: number;
}

export const defaultIngestLimits: IngestLimits = {
  maxQueuedEvents: 5_000_000,
  maxQueuedSampleBatches: 200_000,
  deliveryLimit: 20,
};

/**
 * Declares the exchanges, quorum queues and bindings of ingestion, as the administrator (setupBroker,
 * run by `plantmesh migrate`); the services only check that it exists. Idempotent, so it runs with every
 * migration; the arguments must never change for an existing queue, since RabbitMQ refuses a
 * re-declaration with other arguments.
 */
export async function declareIngestTopology(channel: ConfirmChannel, limits: IngestLimits = defaultIngestLimits) {
  await channel.assertExchange(ingest.exchange, 'direct', { durable: true });
  await channel.assertExchange(ingest.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(ingest.queues.deadLetter, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(ingest.queues.deadLetter, ingest.deadLetterExchange, '');
  await channel.assertQueue(ingest.queues.events, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-max-length': limits.maxQueuedEvents,
      'x-overflow': 'reject-publish',
      'x-delivery-limit': limits.deliveryLimit,
      'x-dead-letter-exchange': ingest.deadLetterExchange,
      'x-dead-letter-strategy': 'at-least-once',
    },
  });
  await channel.bindQueue(ingest.queues.events, ingest.exchange, ingest.routingKeys.events);
  await channel.assertQueue(ingest.queues.samples, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-max-length': limits.maxQueuedSampleBatches,
      'x-overflow': 'drop-head',
      'x-delivery-limit': limits.deliveryLimit,
    },
  });
  await channel.bindQueue(ingest.queues.samples, ingest.exchange, ingest.routingKeys.samples);
  // What the writer has committed, for live consumers; each binds a queue of its own (@plantmesh/live-stream).
  await channel.assertExchange(liveExchange, 'topic', { durable: true });
  // The catalog's registration events (docs/adr/0021-catalog-registration-events.md); consumers bind their own.
  await channel.assertExchange(catalogExchange, 'topic', { durable: true });
}

/** The topic exchange on which the catalog publishes product registration events (ADR 0021). */
export const catalogExchange = 'plantmesh.catalog';

/** One MQTT message's samples: all share its topic (the series path) and unit. */
export interface SampleGroup {
  topic: string;
  unit: string | null;
  /** [epoch milliseconds, value, quality (0 good, 1 uncertain, 2 bad)] */
  samples: Array<[number, number, number]>;
  /** When the reader received the MQTT message, epoch milliseconds (for end-to-end lag). */
  receivedAt: number;
}

/** The body of a sample batch message: compact JSON, one entry per MQTT message. */
export function encodeSampleBatch(groups: SampleGroup[]): Buffer {
  return Buffer.from(JSON.stringify(groups.map((g) => [g.topic, g.unit, g.receivedAt, g.samples])));
}

export function decodeSampleBatch(body: Buffer): SampleGroup[] {
  const entries = JSON.parse(body.toString('utf8')) as Array<[string, string | null, number, SampleGroup['samples']]>;
  return entries.map(([topic, unit, receivedAt, samples]) => ({ topic, unit, receivedAt, samples }));
}

/**
 * How an event's id was given: its own id as a JSON string or integer, or a content hash when it has
 * none. Part of the key of raw.events, so that the number 7 and the text "7" are different events.
 */
export type EventIdType = 'string' | 'integer' | 'hash';

/** One event inside an event batch: the columns of raw.events, the payload spliced in as it came. */
export interface EventEnvelope {
  id: string;
  idType: EventIdType;
  topic: string;
  source: string;
  receivedAt: number;
  headers: Record<string, unknown>;
  traceparent: string | null;
}

/**
 * An event as a JSON record of an event batch, named as raw.events' columns so that the writer can hand
 * a whole batch to PostgreSQL without parsing it. `payload` must be one JSON value (the reader checked).
 * The payload comes last: decodeEventRecord finds it there.
 */
export function eventRecord(envelope: EventEnvelope, payload: string): string {
  return (
    `{"id":${JSON.stringify(envelope.id)},"id_type":"${envelope.idType}","topic":${JSON.stringify(envelope.topic)},` +
    `"source":${JSON.stringify(envelope.source)},"received_at":"${new Date(envelope.receivedAt).toISOString()}",` +
    `"headers":${JSON.stringify(envelope.headers)},"traceparent":${JSON.stringify(envelope.traceparent)},"payload":${payload}}`
  );
}

/** An event record read back: its envelope, and its payload as the exact text it came as. */
export function decodeEventRecord(record: string): { envelope: EventEnvelope; payload: string } {
  const members = jsonObjectMembers(record);
  const field = (name: string) => JSON.parse(members.get(name) ?? 'null');
  return {
    envelope: {
      id: field('id'),
      idType: field('id_type') ?? 'string',
      topic: field('topic'),
      source: field('source'),
      receivedAt: Date.parse(field('received_at')),
      headers: field('headers') ?? {},
      traceparent: field('traceparent'),
    },
    payload: members.get('payload') ?? 'null',
  };
}

/** The body of an event batch message: a JSON array of event records. */
export function encodeEventBatch(records: string[]): Buffer {
  return Buffer.from(`[${records.join(',')}]`);
}

/** The event records of a batch message's body (or of its inside, without the brackets). */
export function eventBatchRecords(body: string): string[] {
  return jsonArrayElements(body.trimStart().startsWith('[') ? body : `[${body}]`);
}
