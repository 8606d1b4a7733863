/**
 * Authentication, scopes and rate limits, for every route but `GET /info` (the guide's one public endpoint).
 *
 * Credentials: `Authorization: Bearer <API key or JWT>`, `X-API-Key: <API key>`, or HTTP Basic with the API
 * key as the password (what a browser sends for the docs page). Three steps, in this order:
 * 1. onRequest (every route): who is calling — the principal, or why not; nothing is refused yet.
 * 2. onRequest (route level, @fastify/rate-limit): a budget per principal, and a smaller one per client
 *    address for requests without valid credentials (so guessing keys is slow too); 429 beyond.
 * 3. preParsing: 401 without valid credentials, 403 without the route's scope — before a body is read.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, type Registry } from 'prom-client';
import { I3xError } from '../envelope.js';
import type { ApiKeyStore } from './api-keys.js';
import { type OidcVerifier, unauthorized } from './oidc.js';
import type { Principal, Scope } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    authFailure?: I3xError;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; `public` for none (GET /info). Routes without one need `read`. */
    scope?: Scope | 'public';
    /** Answer 401 with a Basic challenge too, so that a browser asks for the key (the docs page). */
    browser?: boolean;
  }
}

export interface RateLimits {
  /** Requests per window for one principal (an API key, a token's subject); 0: no limit. */
  max: number;
  /** Requests per window from one client address without valid credentials; 0: no limit. */
  anonymousMax: number;
  windowMs: number;
}

export interface AuthOptions {
  apiKeys: ApiKeyStore;
  oidc?: OidcVerifier;
  rateLimits: RateLimits;
  registry?: Registry;
}

const looksLikeJwt = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

async function identify(request: FastifyRequest, options: AuthOptions): Promise<Principal> {
  const header = request.headers.authorization;
  const apiKeyHeader = request.headers['x-api-key'];
  if (Array.isArray(apiKeyHeader)) throw unauthorized('X-API-Key is given more than once');
  if (header !== undefined && apiKeyHeader !== undefined) {
    throw unauthorized('send one credential: Authorization or X-API-Key, not both');
  }
  const apiKey = async (key: string) => {
    const principal = await options.apiKeys.lookup(key.trim());
    if (!principal) throw unauthorized('the API key is not valid (unknown, revoked or malformed)', 'invalid_token');
    return principal;
  };
  if (apiKeyHeader !== undefined) return apiKey(apiKeyHeader);
  if (header === undefined || header.trim() === '') {
    throw unauthorized('credentials are required: Authorization: Bearer <API key or token>, or X-API-Key: <API key>');
  }
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const credential = rest.join(' ');
  if (/^bearer$/i.test(scheme) && credential) {
    if (credential.startsWith('pmk_')) return apiKey(credential);
    if (looksLikeJwt.test(credential)) {
      if (!options.oidc) {
        throw unauthorized('bearer tokens are not accepted here (no identity provider is configured); use an API key');
      }
      return options.oidc.verify(credential);
    }
    throw unauthorized('the bearer credential is neither an API key nor a JWT', 'invalid_token');
  }
  if (/^basic$/i.test(scheme) && credential) {
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return apiKey(colon === -1 ? decoded : decoded.slice(colon + 1));
  }
  throw unauthorized(`the ${scheme} authorization scheme is not accepted: use Bearer, or Basic with an API key`);
}

export const authPlugin = fp(async (app: FastifyInstance, options: AuthOptions) => {
  const failures = options.registry
    ? new Counter({
        name: 'plantmesh_i3x_auth_refusals_total',
        help: 'I3X API requests refused for their credentials (401), scope (403) or rate (429)',
        labelNames: ['status'],
        registers: [options.registry],
      })
    : undefined;

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.scope === 'public' && request.headers.authorization === undefined) return;
    try {
      request.principal = await identify(request, options);
    } catch (error) {
      if (!(error instanceof I3xError)) throw error;
      // A public route answers whatever the credentials; a 503 (issuer away) is the server's, not the client's.
      if (error.status === 503 && request.routeOptions.config?.scope !== 'public') throw error;
      request.authFailure = error;
    }
  });

  const { max, anonymousMax, windowMs } = options.rateLimits;
  if (max > 0 || anonymousMax > 0) {
    await app.register(rateLimit, {
      global: true,
      timeWindow: windowMs,
      keyGenerator: (request) => (request.principal ? request.principal.id : `address:${request.ip}`),
      max: (_request, key) => (key.startsWith('address:') ? anonymousMax : max),
      allowList: (_request, key) => (key.startsWith('address:') ? anonymousMax === 0 : max === 0),
      errorResponseBuilder: (request, context) => {
        failures?.inc({ status: '429' });
        const who = request.principal ? `for ${request.principal.name}` : 'for requests without valid credentials';
        return new I3xError(
          429,
          `rate limit of ${context.max} requests per ${windowMs / 1000} s exceeded ${who}; retry in ${context.after}`,
        );
      },
    });
  }

  // A callback hook, not an async one: a promise less on every request's path.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const refusal = refusalOf(request, failures);
    if (refusal) done(refusal);
    else done(null, payload);
  });
});

/** Why a request may not go on: no valid credentials (401), or not the route's scope (403). */
function refusalOf(request: FastifyRequest, failures: Counter | undefined): I3xError | undefined {
  const config = request.routeOptions.config ?? {};
  if (config.scope === 'public') return undefined;
  const browser: Record<string, string> = config.browser
    ? { 'www-authenticate': 'Bearer realm="plantmesh-i3x", Basic realm="plantmesh-i3x"' }
    : {};
  if (!request.principal) {
    failures?.inc({ status: '401' });
    const refusal = request.authFailure ?? unauthorized('credentials are required');
    return new I3xError(refusal.status, refusal.message, refusal.title, { ...refusal.headers, ...browser });
  }
  // A route that exists needs its scope (read by default); an unknown one any valid credential.
  const scope = config.scope ?? (request.routeOptions.url === undefined ? undefined : 'read');
  if (scope && !request.principal.scopes.has(scope)) {
    failures?.inc({ status: '403' });
    return new I3xError(
      403,
      `${request.principal.kind === 'api-key' ? 'the API key' : 'the token'} ${request.principal.name} lacks the "${scope}" scope this request needs (it has: ${[...request.principal.scopes].join(', ') || 'none'})`,
      undefined,
      { 'www-authenticate': `Bearer realm="plantmesh-i3x", error="insufficient_scope", scope="${scope}"` },
    );
  }
  return undefined;
}
