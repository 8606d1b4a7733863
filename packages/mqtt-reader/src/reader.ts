import { setMaxListeners } from 'node:events';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  type AmqpClient,
  type AmqpPublishOptions,
  backoffDelay,
  encodeEventBatch,
  encodeSampleBatch,
  eventRecord,
  extractTraceContext,
  ingest,
  injectTraceContext,
  type Logger,
  type SampleGroup,
  sleep,
} from '@plantmesh/core';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { Batcher } from './batcher.js';
import type { ReaderProfile } from './config.js';
import { DeferredPubacks } from './deferred-pubacks.js';
import type { ReaderMetrics } from './metrics.js';
import { type Parsed, parseEvent, parseSamples } from './parse.js';

export interface ReaderOptions {
  profile: ReaderProfile;
  source: string;
  eventIdField: string;
  maxPayloadBytes: number;
  maxJsonDepth: number;
  maxInFlight: number;
  batchMaxSamples: number;
  batchMaxMs: number;
  eventBatchMax: number;
  eventBatchMaxMs: number;
}

const tracer = trace.getTracer('plantmesh-mqtt-reader');

/** An event on its way: its record for the batch, and when it arrived (for the lag header). */
interface EventItem {
  record: string;
  receivedAt: number;
}

/**
 * Moves MQTT messages into RabbitMQ. Each message is acknowledged to the broker only after RabbitMQ
 * has confirmed it (or its batch), so a crash at any point leaves it with the broker, which delivers
 * it again. Payloads that cannot be used go, with the reason, to the dead-letter exchange. Past
 * `maxInFlight` unconfirmed messages, MQTT reading pauses (back-pressure) instead of buffering.
 */
export class Reader {
  private readonly pubacks: DeferredPubacks;
  private readonly events: Batcher<EventItem>;
  private readonly samples: Batcher<SampleGroup>;
  private inFlight = 0;
  private stopping = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly client: MqttClient,
    private readonly amqp: AmqpClient,
    private readonly options: ReaderOptions,
    private readonly log: Logger,
    private readonly metrics: ReaderMetrics,
  ) {
    // Each message in flight may wait on the abort signal (for a channel, or a retry's backoff) and
    // removes its listener when done: the bound is the in-flight limit, not Node's default of 10.
    setMaxListeners(options.maxInFlight + 1, this.abort.signal);
    this.pubacks = new DeferredPubacks(client);
    this.events = new Batcher<EventItem>(options.eventBatchMax, options.eventBatchMaxMs, (items, count) =>
      this.publish(ingest.exchange, ingest.routingKeys.events, encodeEventBatch(items.map((item) => item.record)), {
        contentType: 'application/json',
        headers: {
          [ingest.headers.source]: options.source,
          [ingest.headers.count]: count,
          // The oldest event's receipt: the writer's lag metric errs on the long side.
          [ingest.headers.receivedAt]: new Date(items[0]?.receivedAt ?? Date.now()).toISOString(),
        },
      }),
    );
    this.samples = new Batcher<SampleGroup>(options.batchMaxSamples, options.batchMaxMs, async (groups, samples) => {
      await this.publish(ingest.exchange, ingest.routingKeys.samples, encodeSampleBatch(groups), {
        contentType: 'application/json',
        headers: { [ingest.headers.source]: options.source, [ingest.headers.count]: samples },
      });
      this.metrics.batch(samples);
      this.metrics.samplesForwarded(samples);
    });
    client.handleMessage = (packet, callback) => {
      void this.handle(packet as IPublishPacket, callback);
    };
  }

  private async handle(packet: IPublishPacket, callback: (error?: Error) => void): Promise<void> {
    // Once stopping, a message is left unacknowledged (its PUBACK withheld, so that mqtt.js can go on
    // and close cleanly): the broker keeps it for the next reader.
    if (this.stopping) {
      if (packet.qos > 0 && packet.messageId !== undefined) this.pubacks.hold(packet.messageId);
      callback();
      return;
    }
    const receivedAt = Date.now();
    this.metrics.received();
    const settle = packet.qos > 0 && packet.messageId !== undefined ? this.pubacks.hold(packet.messageId) : undefined;
    this.track(1);
    const work =
      this.options.profile === 'events'
        ? this.forwardEvent(packet, receivedAt)
        : this.forwardSamples(packet, receivedAt);
    work.then(
      () => {
        settle?.();
        this.metrics.forwarded();
      },
      (error: unknown) => {
        if (!this.stopping) this.log.error({ err: error, topic: packet.topic }, 'message not forwarded');
      },
    );
    work.catch(() => {}).finally(() => this.track(-1));
    if (this.inFlight >= this.options.maxInFlight) {
      // Full: send the open batch now rather than at its timer, then wait for confirms to make room.
      this.flushBatches();
      while (this.inFlight >= this.options.maxInFlight && !this.stopping) await sleep(1);
    }
    if (!this.stopping) callback();
  }

  private track(delta: number): void {
    this.inFlight += delta;
    this.metrics.inFlight(this.inFlight);
  }

  private headers(packet: IPublishPacket, receivedAt: number): Record<string, unknown> {
    const userProperties = packet.properties?.userProperties;
    return {
      [ingest.headers.topic]: packet.topic,
      [ingest.headers.source]: this.options.source,
      [ingest.headers.receivedAt]: new Date(receivedAt).toISOString(),
      ...(userProperties ? { [ingest.headers.mqttUserProperties]: userProperties } : {}),
    };
  }

  private async forwardEvent(packet: IPublishPacket, receivedAt: number): Promise<void> {
    const payload = packet.payload as Buffer;
    const parsed = parseEvent(packet.topic, payload, this.options.eventIdField, {
      maxBytes: this.options.maxPayloadBytes,
      maxDepth: this.options.maxJsonDepth,
    });
    if (!parsed.ok) return this.deadLetter(packet, receivedAt, parsed);
    const userProperties = packet.properties?.userProperties;
    const parent = extractTraceContext(userProperties);
    const span = tracer.startSpan(
      'forward event',
      { kind: SpanKind.PRODUCER, attributes: { topic: packet.topic } },
      parent,
    );
    try {
      // The trace context travels inside the event's record: a batch message has one set of headers.
      const carrier = injectTraceContext<Record<string, unknown>>({}, trace.setSpan(parent, span));
      const envelope = {
        id: parsed.value.id,
        idType: parsed.value.idType,
        topic: packet.topic,
        source: this.options.source,
        receivedAt,
        headers: userProperties ? { mqtt_user_properties: userProperties } : {},
        traceparent: typeof carrier.traceparent === 'string' ? carrier.traceparent : null,
      };
      await this.events.add({ record: eventRecord(envelope, parsed.value.text), receivedAt });
    } finally {
      span.end();
    }
  }

  private async forwardSamples(packet: IPublishPacket, receivedAt: number): Promise<void> {
    const parsed = parseSamples(packet.topic, packet.payload as Buffer, this.options.maxPayloadBytes, receivedAt);
    if (!parsed.ok) return this.deadLetter(packet, receivedAt, parsed);
    await this.samples.add(parsed.value, parsed.value.samples.length);
  }

  private async deadLetter(packet: IPublishPacket, receivedAt: number, refusal: Parsed<never> & { ok: false }) {
    this.metrics.deadLettered(refusal.kind);
    this.log.warn({ topic: packet.topic, reason: refusal.reason }, 'payload refused, sent to the dead-letter queue');
    await this.publish(ingest.deadLetterExchange, '', packet.payload as Buffer, {
      headers: {
        ...this.headers(packet, receivedAt),
        [ingest.headers.reason]: refusal.reason,
        [ingest.headers.stage]: 'mqtt-reader',
      },
    });
  }

  /** Publishes until RabbitMQ confirms, backing off while it refuses or is away; gives up only when stopping. */
  private async publish(exchange: string, routingKey: string, body: Buffer, options: AmqpPublishOptions.Publish) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.amqp.publish(exchange, routingKey, body, options, this.abort.signal);
        return;
      } catch (error) {
        if (this.abort.signal.aborted) throw error;
        this.metrics.publishRetried();
        if (attempt === 1) this.log.warn({ err: error }, 'publish to RabbitMQ not confirmed, retrying');
        await sleep(backoffDelay(attempt, { maxMs: 5_000 }), this.abort.signal);
      }
    }
  }

  private flushBatches(): void {
    this.events.flush();
    this.samples.flush();
  }

  /** Subscribes to the topic filters (re-sent by mqtt.js after a reconnect without a session). */
  async subscribe(filters: string[], qos: 0 | 1 | 2, shareGroup: string | undefined): Promise<void> {
    const topics = filters.map((filter) => (shareGroup ? `$share/${shareGroup}/${filter}` : filter));
    await this.client.subscribeAsync(topics, { qos });
    this.log.info({ topics, qos }, 'subscribed');
  }

  /** Stops taking messages; what arrives from now on stays with the broker. */
  stopIntake(): void {
    this.stopping = true;
  }

  /** Sends the open batch and waits until every message taken is confirmed and acknowledged. */
  async drain(timeoutMs: number): Promise<void> {
    this.flushBatches();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(5);
    if (this.inFlight > 0) {
      this.log.warn({ inFlight: this.inFlight }, 'drain timed out; the broker will deliver these again');
      this.abort.abort(new Error('drain timed out'));
    }
  }
}
