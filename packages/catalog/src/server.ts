/**
 * The catalog's REST API (fastify): products, assets, search and lineage for anyone the NetworkPolicy lets
 * in; registration (POST/PUT/DELETE of products) with the registration token. Every error is an RFC 9457
 * problem; a request with unknown fields, a too large body or bad parameters is refused with the reason.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@plantmesh/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import type { Asset, AssetKind, Product, ProductStatus } from './model.js';
import {
  assetListQuery,
  lineageQuery,
  listQuery,
  openApiDocument,
  registrationSchema,
  searchQuerySchema,
} from './openapi.js';
import { type CatalogStore, ProductConflictError, type ProductFilter } from './store.js';
import { webPage } from './web.js';

export interface CatalogServerOptions {
  store: CatalogStore;
  log: Logger;
  version: string;
  /** Bearer token for registration; without it registration is off (403). */
  registrationToken?: string;
  registry?: Registry;
  maxBodyBytes?: number;
  /** Default freshness objective of a registered product that names none. */
  defaultFreshnessSeconds?: number;
  /** Called after a registration changed the catalog (the gauges follow at once). */
  onChange?: () => void;
  /** The API's public URL (for the OpenAPI document's server). */
  publicUrl?: string;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function problem(reply: FastifyReply, status: number, detail: string) {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title: titles[status] ?? 'Error', status, detail });
}

const sha = (value: string) => createHash('sha256').update(value).digest();

interface Registration {
  name?: string;
  title?: string;
  domain: string;
  owner: string;
  description?: string;
  tags?: string[];
  status?: ProductStatus;
  version?: string;
  freshnessObjectiveSeconds?: number;
  ports: Product['ports'];
  assets?: Array<Pick<Asset, 'kind' | 'name' | 'description' | 'tags' | 'properties'> & { columns?: Asset['columns'] }>;
}

export async function buildServer(options: CatalogServerOptions): Promise<FastifyInstance> {
  const { store } = options;
  const app = Fastify({
    loggerInstance: options.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes ?? 1_048_576,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 2_048 },
    // Unknown fields are refused, not silently dropped; numbers in the query string are coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
  });
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.validation) {
      const where = error.validationContext ?? 'request';
      return problem(reply, 400, `${where}${error.message.replace(/^(body|querystring|params)/, '')}`);
    }
    if (status >= 400 && status < 500) {
      const detail =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the request body is larger than the catalog accepts (${app.initialConfig.bodyLimit} bytes)`
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'requests with a body must be Content-Type: application/json'
            : error.message;
      return problem(reply, status, detail);
    }
    request.log.error({ err: error }, 'request failed');
    return problem(reply, 500, 'the catalog could not answer this request; see its log');
  });
  app.setNotFoundHandler((request, reply) =>
    problem(reply, 404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`),
  );
  if (options.registry) {
    const duration = new Histogram({
      name: 'plantmesh_catalog_request_seconds',
      help: 'Catalog API requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [options.registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      duration.observe(
        { route: request.routeOptions.url ?? 'unknown', method: request.method, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }
  // Security headers on every answer: JSON only, nothing to frame or sniff.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    return payload;
  });

  const token = options.registrationToken ? sha(options.registrationToken) : undefined;
  const authorize = async (request: { headers: Record<string, unknown> }, reply: FastifyReply) => {
    if (!token) return problem(reply, 403, 'registration is off: the catalog has no REGISTRATION_TOKEN');
    const header = String(request.headers.authorization ?? '');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !timingSafeEqual(sha(match[1] as string), token)) {
      reply.header('www-authenticate', 'Bearer realm="plantmesh-catalog"');
      return problem(
        reply,
        401,
        match ? 'the registration token is not valid' : 'registration needs Authorization: Bearer <token>',
      );
    }
    return undefined;
  };

  const document = openApiDocument(
    options.version,
    options.publicUrl ? `${options.publicUrl.replace(/\/$/, '')}/v1` : '/v1',
  );

  await app.register(
    async (v1) => {
      v1.get('/openapi.json', async () => document);

      v1.get('/products', { schema: { querystring: listQuery } }, async (request) =>
        store.listProducts(request.query as ProductFilter),
      );

      v1.get('/products/:name', async (request, reply) => {
        const { name } = request.params as { name: string };
        const product = await store.product(name);
        return product ?? problem(reply, 404, `no product ${name}`);
      });

      const register = async (body: Registration, name: string, create: boolean, reply: FastifyReply) => {
        const product: Omit<Product, 'source' | 'createdAt' | 'updatedAt'> = {
          name,
          ...(body.title ? { title: body.title } : {}),
          domain: body.domain,
          owner: body.owner,
          description: body.description ?? '',
          tags: body.tags ?? [],
          status: body.status ?? 'active',
          ...(body.version ? { version: body.version } : {}),
          freshnessObjectiveSeconds: body.freshnessObjectiveSeconds ?? options.defaultFreshnessSeconds ?? 86_400,
          definedBy: 'registration',
          ports: body.ports,
        };
        const assets = (body.assets ?? []).map((asset) => ({
          kind: asset.kind as AssetKind,
          name: asset.name,
          ...(asset.description ? { description: asset.description } : {}),
          tags: asset.tags ?? [],
          columns: (asset.columns ?? []).map((column, index) => ({
            ...column,
            nullable: column.nullable ?? true,
            position: index + 1,
          })),
          properties: asset.properties ?? {},
        }));
        try {
          const outcome = await store.register(product, assets, { create, document: body });
          options.onChange?.();
          reply.status(outcome === 'created' ? 201 : 200);
          return store.product(name);
        } catch (error) {
          if (error instanceof ProductConflictError) return problem(reply, error.status, error.message);
          throw error;
        }
      };

      v1.post(
        '/products',
        {
          schema: { body: { ...registrationSchema, required: ['name', ...registrationSchema.required] } },
          preHandler: authorize,
        },
        async (request, reply) => {
          const body = request.body as Registration;
          return register(body, body.name as string, true, reply);
        },
      );

      v1.put(
        '/products/:name',
        { schema: { body: registrationSchema }, preHandler: authorize },
        async (request, reply) => {
          const { name } = request.params as { name: string };
          const body = request.body as Registration;
          if (!/^[a-z0-9][a-z0-9_.-]{0,127}$/.test(name)) {
            return problem(
              reply,
              400,
              'a product name is 1 to 128 of a-z, 0-9, _ . - (starting with a letter or digit)',
            );
          }
          if (body.name !== undefined && body.name !== name) {
            return problem(reply, 400, `the body names product ${body.name}, the path ${name}`);
          }
          return register(body, name, false, reply);
        },
      );

      v1.delete('/products/:name', { preHandler: authorize }, async (request, reply) => {
        const { name } = request.params as { name: string };
        try {
          if (!(await store.unregister(name))) return problem(reply, 404, `no product ${name}`);
        } catch (error) {
          if (error instanceof ProductConflictError) return problem(reply, error.status, error.message);
          throw error;
        }
        options.onChange?.();
        return reply.status(204).send();
      });

      type LineageOptions = {
        direction: 'upstream' | 'downstream' | 'both';
        depth: number;
        maxNodes: number;
        columns: boolean;
      };
      v1.get('/products/:name/lineage', { schema: { querystring: lineageQuery } }, async (request, reply) => {
        const { name } = request.params as { name: string };
        const graph = await store.lineage({ product: name }, request.query as LineageOptions);
        return graph ?? problem(reply, 404, `no product ${name}`);
      });

      v1.get('/assets', { schema: { querystring: assetListQuery } }, async (request) =>
        store.listAssets(request.query as { kind?: AssetKind; limit: number; offset: number }),
      );

      v1.get('/assets/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const asset = await store.asset(id);
        return asset ?? problem(reply, 404, `no asset ${id}`);
      });

      v1.get('/assets/:id/lineage', { schema: { querystring: lineageQuery } }, async (request, reply) => {
        const { id } = request.params as { id: string };
        const graph = await store.lineage({ asset: id }, request.query as LineageOptions);
        return graph ?? problem(reply, 404, `no asset ${id}`);
      });

      v1.get('/search', { schema: { querystring: searchQuerySchema } }, async (request) => {
        const { q, kind, limit } = request.query as { q: string; kind?: AssetKind | 'product'; limit: number };
        return { query: q, hits: await store.search(q, { limit, ...(kind ? { kind } : {}) }) };
      });
    },
    { prefix: '/v1' },
  );
  await app.register(webPage);
  return app;
}
