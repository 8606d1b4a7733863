import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

export const catalogEnv = {
  ...storeUrlEnv,
  /** Where the catalog's REST API listens (plain HTTP inside the cluster; an Ingress terminates TLS). */
  CATALOG_HOST: env.string().default('0.0.0.0'),
  CATALOG_PORT: env.port().default(8080),
  /** The API's URL as clients reach it, for its OpenAPI document and its own entry in the catalog. */
  CATALOG_PUBLIC_URL: env.url(['http', 'https']).optional(),
  /** Bearer token that registration (POST/PUT/DELETE /v1/products) needs; unset: registration is off. */
  REGISTRATION_TOKEN: env.string().optional(),
  /** How often discovery looks at the stores, the registries and the topics again. */
  DISCOVERY_INTERVAL_MS: env.int(1_000).default(60_000),
  /** Tables with at most this many rows (PostgreSQL's estimate) are counted exactly. */
  EXACT_COUNT_LIMIT: env.int(0).default(200_000),
  /** How long one count or newest-timestamp query may take before the estimate is kept. */
  DISCOVERY_QUERY_TIMEOUT_MS: env.int(100).default(5_000),
  /** The readers' MQTT subscriptions (their MQTT_TOPICS), comma-separated. */
  EVENTS_READER_TOPICS: env.string().default('#'),
  SENSORS_READER_TOPICS: env.string().default('#'),
  /** Freshness objectives where a definition says none: curated products, and the raw and metrics stores. */
  CURATED_FRESHNESS_SECONDS: env.int(1).default(3_600),
  STORE_FRESHNESS_SECONDS: env.int(1).default(900),
  /** The objective of a registered product that names none. */
  REGISTERED_FRESHNESS_SECONDS: env.int(1).default(86_400),
  /** The I3X API's URL, for access snippets and its entry as an HTTP API. */
  I3X_URL: env.url(['http', 'https']).optional(),
  /** An I3X API key with the read scope, to fetch the I3X API's OpenAPI document (unset: listed without it). */
  I3X_API_KEY: env.string().optional(),
  /** The environment variable users hold their database URL in, for psql snippets. */
  ACCESS_DATABASE_URL_VARIABLE: env.string().default('PLANTMESH_URL'),
  MAX_BODY_BYTES: env.int(1_024).default(1_048_576),
  /**
   * RabbitMQ, as the catalog's own user (plantmesh-catalog), for its registration events on the exchange
   * plantmesh.catalog (ADR 0021); unset: no events.
   */
  AMQP_URL: env.url(['amqp', 'amqps']).optional(),
  /** How often the event outbox is looked at without being woken (changes by other replicas, retries). */
  CATALOG_EVENTS_POLL_MS: env.int(50).default(1_000),
  /** How often a catalog.state event carries the last sequence number (0: never). */
  CATALOG_EVENTS_STATE_INTERVAL_MS: env.int(0).default(300_000),
  /** Most events kept unpublished while RabbitMQ is away; the oldest beyond are dropped (a sequence gap). */
  CATALOG_EVENTS_MAX_PENDING: env.int(100).default(100_000),
};
