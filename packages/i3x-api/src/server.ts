/**
 * The I3X 1.0 server: fastify with a plugin per concern (errors, gzip, metrics, authentication and rate limits;
 * subscriptions and updates as their own route plugins), routes under /v1. Every answer comes from the
 * stores, so replicas behind a Service agree; only last values may be answered from memory (ADR 0023), and
 * only while the live stream tells this replica of every newer one.
 */

import type { Logger } from '@plantmesh/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { ApiKeyStore } from './auth/api-keys.js';
import type { OidcVerifier } from './auth/oidc.js';
import { authPlugin, type RateLimits } from './auth/plugin.js';
import type { LastValues } from './last-values.js';
import { ModelReader } from './model.js';
import { errorsPlugin, gzipPlugin, metricsPlugin } from './plugins.js';
import { docsRoutes } from './routes/docs.js';
import { exploreRoutes } from './routes/explore.js';
import { objectRoutes } from './routes/objects.js';
import { queryRoutes } from './routes/query.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { updateRoutes } from './routes/updates.js';
import type { SubscriptionStore } from './subscriptions/store.js';
import type { StreamHub } from './subscriptions/streams.js';
import { UpdateWriter } from './updates.js';
import { ValueReader } from './values.js';

export interface I3xLimits {
  maxBodyBytes: number;
  maxBulkItems: number;
  maxCompositionDepth: number;
  maxComponents: number;
  maxObjects: number;
  maxHistoryValues: number;
  /** How far ahead of the server's clock a written timestamp may be. */
  maxFutureMs: number;
}

export const defaultLimits: I3xLimits = {
  maxBodyBytes: 1_048_576,
  maxBulkItems: 1_000,
  maxCompositionDepth: 16,
  maxComponents: 10_000,
  maxObjects: 100_000,
  maxHistoryValues: 100_000,
  maxFutureMs: 300_000,
};

export interface I3xServerOptions {
  /** The curated store (the model and the curated rows) and the metrics store (values, history). */
  curated: pg.Pool;
  metrics: pg.Pool;
  log: Logger;
  version: string;
  serverName?: string;
  limits?: Partial<I3xLimits>;
  /** Where request metrics go (the service's registry). */
  registry?: Registry;
  /** Who may call: API keys of the i3x store, and bearer tokens when an identity provider is configured. */
  auth: { apiKeys: ApiKeyStore; oidc?: OidcVerifier; rateLimits?: Partial<RateLimits> };
  /** HTTPS (PEM); plain HTTP without it. */
  https?: { key: Buffer | string; cert: Buffer | string };
  /** Subscriptions (the store and this replica's streams); without them the subscribe methods are not served. */
  subscriptions?: { store: SubscriptionStore; hub: StreamHub };
  /**
   * The i3x store (the audit trail of updates): with it the server takes updates (PUT /objects/value and
   * /objects/history), written to the metrics store; without it they are not served.
   */
  i3x?: pg.Pool;
  /** Last values held in memory, kept true by the live stream (ADR 0023); without it each read goes to the store. */
  lastValues?: LastValues;
  /** Trust X-Forwarded-For from these proxies (fastify's trustProxy), for the client address behind an Ingress. */
  trustProxy?: boolean | string | number;
}

export const defaultRateLimits: RateLimits = { max: 6_000, anonymousMax: 120, windowMs: 60_000 };

export interface RouteContext {
  model: ModelReader;
  values: ValueReader;
  limits: I3xLimits;
  version: string;
  serverName: string;
  /** Whether subscriptions (and their streams) are served. */
  streaming: boolean;
  /** Whether updates are served. */
  updating: boolean;
}

export async function buildServer(options: I3xServerOptions): Promise<FastifyInstance> {
  const limits = { ...defaultLimits, ...options.limits };
  const rateLimits = { ...defaultRateLimits, ...options.auth.rateLimits };
  // One factory for HTTP and HTTPS: fastify's overloads type them apart, the instance is the same.
  const create = Fastify as unknown as (settings: Record<string, unknown>) => FastifyInstance;
  const app = create({
    ...(options.https ? { https: { ...options.https, minVersion: 'TLSv1.2' as const } } : {}),
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    loggerInstance: options.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    return503OnClosing: true,
    // Ids and URIs go into the path and query; keep long ones readable but bounded.
    routerOptions: { maxParamLength: 2_048 },
  });
  const model = new ModelReader(options.curated, { maxObjects: limits.maxObjects });
  const context: RouteContext = {
    model,
    values: new ValueReader(model, options.curated, options.metrics, limits, options.lastValues),
    limits,
    version: options.version,
    serverName: options.serverName ?? 'plantmesh',
    streaming: Boolean(options.subscriptions),
    updating: Boolean(options.i3x),
  };
  // I3X requests are JSON: any other content type is refused (415), not read as text.
  app.removeContentTypeParser('text/plain');
  await app.register(errorsPlugin);
  await app.register(gzipPlugin);
  await app.register(metricsPlugin, options.registry ? { registry: options.registry } : {});
  await app.register(authPlugin, {
    apiKeys: options.auth.apiKeys,
    ...(options.auth.oidc ? { oidc: options.auth.oidc } : {}),
    rateLimits,
    ...(options.registry ? { registry: options.registry } : {}),
  });
  // What the server serves, for the published OpenAPI document.
  const served = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    for (const method of [route.method].flat()) served.add(`${method} ${route.url.slice('/v1'.length)}`);
  });
  await app.register(
    async (v1) => {
      await v1.register(exploreRoutes, context as never);
      await v1.register(objectRoutes, context as never);
      await v1.register(queryRoutes, context as never);
      if (options.i3x) {
        const updates = new UpdateWriter({
          model,
          metrics: options.metrics,
          i3x: options.i3x,
          log: options.log,
          limits,
          ...(options.subscriptions ? { subscriptions: options.subscriptions.hub } : {}),
          ...(options.lastValues ? { lastValues: options.lastValues } : {}),
        });
        await v1.register(updateRoutes, { ...context, updates } as never);
      }
      if (options.subscriptions) {
        await v1.register(subscriptionRoutes, { ...context, subscriptions: options.subscriptions } as never);
      }
      await v1.register(docsRoutes, {
        version: options.version,
        serverName: context.serverName,
        served,
        ...(options.auth.oidc
          ? { oidc: { discoveryUrl: options.auth.oidc.discoveryUrl, scopePrefix: options.auth.oidc.scopePrefix } }
          : {}),
        rateLimit: { max: rateLimits.max, windowMs: rateLimits.windowMs },
      } as never);
    },
    { prefix: '/v1' },
  );
  // Open streams would hold the server open: they end (normally, as the guide says) before it closes.
  const hub = options.subscriptions?.hub;
  if (hub) app.addHook('preClose', async () => hub.closeAll());
  return app;
}
