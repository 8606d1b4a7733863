/**
 * The I3X 1.0 server (read endpoints): fastify with a plugin per concern (errors, gzip, metrics; authentication,
 * subscriptions and updates come as their own plugins), routes under /v1. Stateless: every answer comes
 * from the stores, so replicas behind a Service agree.
 */

import type { Logger } from '@plantmesh/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { ModelReader } from './model.js';
import { errorsPlugin, gzipPlugin, metricsPlugin } from './plugins.js';
import { exploreRoutes } from './routes/explore.js';
import { objectRoutes } from './routes/objects.js';
import { queryRoutes } from './routes/query.js';
import { ValueReader } from './values.js';

export interface I3xLimits {
  maxBodyBytes: number;
  maxBulkItems: number;
  maxCompositionDepth: number;
  maxComponents: number;
  maxObjects: number;
  maxHistoryValues: number;
}

export const defaultLimits: I3xLimits = {
  maxBodyBytes: 1_048_576,
  maxBulkItems: 1_000,
  maxCompositionDepth: 16,
  maxComponents: 10_000,
  maxObjects: 100_000,
  maxHistoryValues: 100_000,
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
}

export interface RouteContext {
  model: ModelReader;
  values: ValueReader;
  limits: I3xLimits;
  version: string;
  serverName: string;
}

export async function buildServer(options: I3xServerOptions): Promise<FastifyInstance> {
  const limits = { ...defaultLimits, ...options.limits };
  const app = Fastify({
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
    values: new ValueReader(model, options.curated, options.metrics, limits),
    limits,
    version: options.version,
    serverName: options.serverName ?? 'plantmesh',
  };
  // I3X requests are JSON: any other content type is refused (415), not read as text.
  app.removeContentTypeParser('text/plain');
  await app.register(errorsPlugin);
  await app.register(gzipPlugin);
  await app.register(metricsPlugin, options.registry ? { registry: options.registry } : {});
  await app.register(
    async (v1) => {
      await v1.register(exploreRoutes, context as never);
      await v1.register(objectRoutes, context as never);
      await v1.register(queryRoutes, context as never);
    },
    { prefix: '/v1' },
  );
  return app;
}
