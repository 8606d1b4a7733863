/**
 * The concerns every route shares, a fastify plugin each: the I3X failure envelope for every error (never
 * fastify's own shape, never a 500 for bad input), request metrics per route and gzip. Authentication and
 * rate limits are the auth plugin's (auth/plugin.ts).
 */
import { gzip } from 'node:zlib';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, type Registry } from 'prom-client';
import { failure, I3xError, titles } from './envelope.js';

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError | I3xError, request, reply) => {
    if (error instanceof I3xError) {
      reply.headers(error.headers);
      return reply.status(error.status).send(failure(error.status, error.message, error.title));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // fastify's own refusals: invalid JSON, an empty body, too large, an unsupported content type.
      const detail =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the request body is larger than the server accepts (${app.initialConfig.bodyLimit} bytes, MAX_BODY_BYTES)`
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'requests must be Content-Type: application/json'
            : error.message;
      return reply.status(status).send(failure(status, detail));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send(failure(500, 'the server could not answer this request; see its log'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(failure(404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`, titles[404]));
  });
});

export const metricsPlugin = fp(async (app: FastifyInstance, options: { registry?: Registry }) => {
  if (!options.registry) return;
  const duration = new Histogram({
    name: 'plantmesh_i3x_request_seconds',
    help: 'I3X API requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [options.registry],
  });
  // Callback hooks, not async ones: a promise less on every request's path.
  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      { route: request.routeOptions.url ?? 'unknown', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
});

/**
 * gzip, as the guide requires of a server: a request with `Accept-Encoding: gzip` gets a gzip body with
 * `Content-Encoding: gzip`. Small answers too (the guide says MUST, not SHOULD); node's zlib, no dependency.
 */
export const gzipPlugin = fp(async (app: FastifyInstance) => {
  app.addHook('onSend', (request, reply, payload, done) => {
    const accepted = request.headers['accept-encoding'];
    if (
      accepted === undefined ||
      !/(^|,)\s*(gzip|\*)\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(accepted) ||
      reply.getHeader('content-encoding') ||
      (typeof payload !== 'string' && !Buffer.isBuffer(payload))
    ) {
      done(null, payload);
      return;
    }
    reply.header('content-encoding', 'gzip');
    reply.header('vary', 'accept-encoding');
    reply.removeHeader('content-length');
    gzip(payload, done);
  });
});
