import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

export const i3xEnv = {
  ...storeUrlEnv,
  /** Where the I3X API listens: HTTPS with TLS_CERT_FILE and TLS_KEY_FILE, plain HTTP only with ALLOW_PLAIN_HTTP. */
  I3X_HOST: env.string().default('0.0.0.0'),
  I3X_PORT: env.port().default(8080),
  /** The server's certificate (chain) and key, PEM; re-read when they change (cert-manager renews them). */
  TLS_CERT_FILE: env.string().optional(),
  TLS_KEY_FILE: env.string().optional(),
  TLS_RELOAD_MS: env.int(1_000).default(60_000),
  /** Plain HTTP, for one machine (`plantmesh up`) or behind a TLS-terminating proxy that the operator trusts. */
  ALLOW_PLAIN_HTTP: env.bool().default(false),
  /** Client addresses from X-Forwarded-For of these proxies (true, a hop count, or addresses/CIDRs), for rate limits. */
  TRUST_PROXY: env.string().optional(),
  /** Bearer tokens of the plant's identity provider: its issuer (as in `iss`) and this API's audience. */
  OIDC_ISSUER: env.url(['https', 'http']).optional(),
  OIDC_AUDIENCE: env.string().optional(),
  /** The issuer's key set; found through the issuer's discovery document when unset. */
  OIDC_JWKS_URL: env.url(['https', 'http']).optional(),
  /** The claim with the scopes (space-separated or an array; a dotted path such as realm_access.roles). */
  OIDC_SCOPES_CLAIM: env.string().default('scope'),
  /** What the scopes are called at the issuer: <prefix>read, <prefix>write, <prefix>subscribe (`none`: no prefix). */
  OIDC_SCOPE_PREFIX: env.string().default('i3x:'),
  /** How long a found API key is trusted before it is looked up again (revocations reach replicas at once). */
  API_KEY_CACHE_MS: env.int(0).default(10_000),
  /** Requests per RATE_LIMIT_WINDOW_MS per API key or token subject, and per address without valid credentials (0: none). */
  RATE_LIMIT_MAX: env.int(0).default(6_000),
  RATE_LIMIT_ANONYMOUS_MAX: env.int(0).default(120),
  RATE_LIMIT_WINDOW_MS: env.int(1_000).default(60_000),
  /** Name served by GET /info. */
  SERVER_NAME: env.string().default('plantmesh'),
  /** The plant's namespace: its data products' types and relationship types. */
  PLANT_NAMESPACE_URI: env.string().default('https://plantmesh.dev/ns/plant'),
  PLANT_NAMESPACE_NAME: env.string().default('plant'),
  /** Largest request body; a larger one is refused with 413. */
  MAX_BODY_BYTES: env.int(1_024).default(1_048_576),
  /** Most elementIds in one bulk request; more is refused with 400 (the answer must be as long as the request). */
  MAX_BULK_ITEMS: env.int(1).default(1_000),
  /** Deepest composition a value read follows (maxDepth 0 = as deep as this); deeper gives 206. */
  MAX_COMPOSITION_DEPTH: env.int(1).default(16),
  /** Most component values in one value or history answer; more gives 206. */
  MAX_COMPONENTS: env.int(1).default(10_000),
  /** Most objects in one list answer (GET /objects, one element's related objects); more gives 206. */
  MAX_OBJECTS: env.int(1).default(100_000),
  /** Most history values per element; more gives 206 with the earliest ones. */
  MAX_HISTORY_VALUES: env.int(1).default(100_000),
  /** How far ahead of the server's clock a written timestamp may be (PUT /objects/value|history); later: 400. */
  MAX_FUTURE_MS: env.int(0).default(300_000),
  /** RabbitMQ, for the live stream that feeds subscriptions (the live-reader's permissions); unset: no subscriptions. */
  AMQP_URL: env.url(['amqp', 'amqps']).optional(),
  /**
   * Last values answered from memory for this long after they were read, unless the live stream brings a newer
   * one first (ADR 0023); 0: every read goes to metrics.latest. Needs AMQP_URL.
   */
  LAST_VALUES_MAX_AGE_MS: env.int(0).default(1_000),
  /** Most series whose last values are held in memory. */
  LAST_VALUES_CAPACITY: env.int(1).default(100_000),
  /** A subscription without /sync or an open stream for this long is deleted. */
  SUBSCRIPTION_TTL_MS: env.int(1_000).default(600_000),
  /** Updates queued per subscription before the oldest are dropped (the next /sync answers 206). */
  MAX_SUBSCRIPTION_QUEUE: env.int(1).default(10_000),
  /** Batches /sync returned and the client has not acknowledged, per subscription, before the oldest go. */
  MAX_UNACKED_BATCHES: env.int(1).default(1_000),
  /** Elements registered per subscription, and subscriptions per credential. */
  MAX_SUBSCRIPTION_ITEMS: env.int(1).default(10_000),
  MAX_SUBSCRIPTIONS: env.int(1).default(1_000),
  /** Keepalive comments on an open stream (and how it keeps its subscription alive). */
  SSE_KEEPALIVE_MS: env.int(100).default(15_000),
  /** How often the equipment objects (new series) and the curated products are brought into the model. */
  MODEL_SYNC_MS: env.int(100).default(5_000),
};
