import { hostname } from 'node:os';
import { env } from '@plantmesh/core';

export const readerEnv = {
  /** events: no loss (QoS >= 1, persistent session, ack after RabbitMQ confirm); sensors: volume (batched). */
  READER_PROFILE: env.oneOf(['events', 'sensors']),
  MQTT_URL: env.url(['mqtt', 'mqtts', 'ws', 'wss']),
  MQTT_USERNAME: env.string().optional(),
  MQTT_PASSWORD: env.string().optional(),
  /** Comma-separated topic filters. */
  MQTT_TOPICS: env.string().default('#'),
  /** Replicas in the same group split the stream ($share/<group>/<filter>); empty to subscribe plainly. */
  MQTT_SHARE_GROUP: env.string().optional(),
  /** events: 1 or 2; sensors: 0 or 1. */
  MQTT_QOS: env.oneOf(['0', '1', '2']).optional(),
  /** Stable across restarts, so that the broker keeps the events session (default: profile + host name). */
  MQTT_CLIENT_ID: env.string().optional(),
  MQTT_SESSION_EXPIRY_SECONDS: env.int(0).default(7 * 24 * 3600),
  AMQP_URL: env.url(['amqp', 'amqps']),
  /** Written with each message as its source (default: the profile). */
  SOURCE_NAME: env.string().optional(),
  /** Payload field holding an event's own id; events without it get a content hash. */
  EVENT_ID_FIELD: env.string().default('id'),
  MAX_PAYLOAD_BYTES: env.int(1).default(1024 * 1024),
  /**
   * Events: deepest nesting of arrays and objects taken. PostgreSQL parses JSON recursively, within its
   * max_stack_depth: 512 (+2 for the batch record) fits even its smallest setting, 100kB (701 levels).
   */
  MAX_JSON_DEPTH: env.int(1, 10_000).default(512),
  /** Messages received but not yet confirmed by RabbitMQ; beyond it MQTT reading pauses. */
  MAX_IN_FLIGHT: env.int(1).default(10_000),
  /** Sensors: samples per AMQP message, and how long a batch may wait to fill. */
  BATCH_MAX_SAMPLES: env.int(1).default(5_000),
  BATCH_MAX_MS: env.int(1).default(50),
  /** Events: events per AMQP message, and how long a batch may wait to fill. */
  EVENT_BATCH_MAX: env.int(1).default(200),
  EVENT_BATCH_MAX_MS: env.int(1).default(10),
};

export type ReaderProfile = 'events' | 'sensors';

export function defaultClientId(profile: ReaderProfile): string {
  return `plantmesh-${profile}-reader-${hostname()}`;
}
