/**
 * Who may call the I3X API, against a real PostgreSQL: API keys (hashed in the i3x store, scoped, revoked at
 * once in every replica), OIDC bearer tokens checked against an issuer's JWKS (served here by a small HTTP
 * server with keys made by jose: the one thing that cannot run here is a Keycloak), rate limits, and the
 * published OpenAPI document (validated as OpenAPI 3.1) and docs page. Every refusal has the guide's status
 * and envelope, never a 500.
 */

import type { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { type PostgresServer, waitFor } from '@plantmesh/testkit';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, buildServer, OidcVerifier } from '../src/index.js';
import { insertKey } from './keys.js';
import { startModelStore, syncModel } from './model-store.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const standardFile = fileURLToPath(new URL('../../../standards/i3x/i3x-v1-openapi.json', import.meta.url));

/** The plant's identity provider as far as the API sees it: a discovery document and a JWKS. */
class Issuer {
  readonly server: Server;
  keys: JWK[] = [];
  requests = 0;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<Issuer> {
    const issuer = new Issuer(createServer());
    issuer.server.on('request', (request, response) => {
      issuer.requests += 1;
      response.setHeader('content-type', 'application/json');
      if (request.url === '/realms/plant/.well-known/openid-configuration') {
        response.end(JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/protocol/openid-connect/certs` }));
      } else if (request.url === '/realms/plant/protocol/openid-connect/certs') {
        response.end(JSON.stringify({ keys: issuer.keys }));
      } else {
        response.statusCode = 404;
        response.end('{}');
      }
    });
    await new Promise<void>((resolve) => issuer.server.listen(0, '127.0.0.1', resolve));
    return issuer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/realms/plant`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('I3X API security (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let apiKeys: ApiKeyStore;
  let issuer: Issuer;
  let app: FastifyInstance;
  let limited: FastifyInstance;
  const keys: Record<string, string> = {};
  let signing: webcrypto.CryptoKey;
  let foreign: webcrypto.CryptoKey;
  const audience = 'plantmesh-i3x';

  async function token(
    claims: Record<string, unknown>,
    options: { key?: webcrypto.CryptoKey; kid?: string; exp?: string | number } = {},
  ) {
    return new SignJWT({ scope: 'openid i3x:read', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'plant-1' })
      .setIssuer((claims.iss as string | undefined) ?? issuer.url)
      .setAudience((claims.aud as string | undefined) ?? audience)
      .setSubject('operator-7')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.key ?? signing);
  }

  async function get(path: string, headers: Record<string, string> = {}, target = app) {
    const response = await target.inject({
      method: 'GET',
      url: `/v1${path}`,
      headers: { accept: 'application/json', ...headers },
    });
    return response;
  }

  function expectRefusal(response: { statusCode: number; json(): unknown }, status: number, detail?: RegExp) {
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({
      success: false,
      responseDetail: {
        title: expect.any(String),
        status,
        detail: detail ? expect.stringMatching(detail) : expect.any(String),
      },
    });
  }

  beforeAll(async () => {
    ({ server, admin } = await startModelStore(6));
    apiKeys = new ApiKeyStore(admin, { log, cacheMs: 60_000 });
    apiKeys.start();
    keys.reader = await insertKey(admin, 'reader', ['read']);
    keys.subscriber = await insertKey(admin, 'subscriber', ['subscribe']);
    keys.everything = await insertKey(admin, 'everything', ['read', 'write', 'subscribe']);
    keys.revoked = await insertKey(admin, 'to-revoke', ['read']);
    issuer = await Issuer.start();
    const pair = await generateKeyPair('ES256', { extractable: true });
    signing = pair.privateKey;
    issuer.keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'plant-1', alg: 'ES256', use: 'sig' }];
    foreign = (await generateKeyPair('ES256')).privateKey;
    const oidc = new OidcVerifier({ issuer: issuer.url, audience });
    const options = { curated: admin, metrics: admin, log, version: '0.1.0', serverName: 'secure' };
    app = await buildServer({ ...options, auth: { apiKeys, oidc, rateLimits: { max: 0, anonymousMax: 0 } } });
    limited = await buildServer({
      ...options,
      auth: { apiKeys, oidc, rateLimits: { max: 3, anonymousMax: 2, windowMs: 3_600_000 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await limited?.close();
    await apiKeys?.close();
    await issuer?.stop();
    await admin?.end();
    await server?.destroy();
  });

  describe('API keys', () => {
    it('stores only the SHA-256 of a key, with its scopes', async () => {
      const { rows } = await admin.query(
        `select name, key_hash, key_prefix, scopes from i3x.api_keys where name = 'reader'`,
      );
      expect(rows[0].key_hash).toHaveLength(32);
      expect(rows[0].scopes).toEqual(['read']);
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(keys.reader);
      expect(stored).not.toContain((keys.reader as string).slice(8));
    });

    it('GET /info needs no credentials, and answers whatever credentials come with it', async () => {
      expect((await get('/info')).statusCode).toBe(200);
      expect((await get('/info', { authorization: 'Bearer pmk_wrong' })).statusCode).toBe(200);
      expect((await get('/info', { authorization: 'Basic !!!' })).statusCode).toBe(200);
    });

    it('every other route refuses a request without credentials with 401, the envelope and a Bearer challenge', async () => {
      const document = (await get('/openapi.json', { 'x-api-key': keys.reader as string })).json() as {
        paths: Record<string, Record<string, unknown>>;
      };
      const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
      );
      expect(routes.length).toBeGreaterThan(12);
      for (const { method, path } of routes) {
        const response = await app.inject({
          method: method as 'GET',
          url: `/v1${path}`,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          ...(method === 'GET' ? {} : { payload: '{"elementIds": ["x"]}' }),
        });
        if (path === '/info') {
          expect(response.statusCode).toBe(200);
          continue;
        }
        expectRefusal(response, 401, /credentials are required/);
        expect(response.headers['www-authenticate'], `${method} ${path}`).toMatch(/^Bearer realm="plantmesh-i3x"/);
      }
      // Unknown paths too: nothing about the server is told without credentials.
      expectRefusal(await get('/nothing-here'), 401);
      expectRefusal(await get('/nothing-here', { 'x-api-key': keys.reader as string }), 404);
    });

    it('refuses unknown, malformed and doubled keys with 401, before reading the body', async () => {
      const unknown = `pmk_${'A'.repeat(43)}`;
      for (const headers of [
        { authorization: `Bearer ${unknown}` },
        { 'x-api-key': unknown },
        { authorization: 'Bearer pmk_short' },
        { authorization: `Bearer ${keys.reader}x` },
        { authorization: 'Bearer not-a-key-nor-a-token' },
        { authorization: `Basic ${Buffer.from(`me:${unknown}`).toString('base64')}` },
        { authorization: `Digest username="x"` },
        { authorization: `Bearer ${keys.reader}`, 'x-api-key': keys.reader as string },
      ]) {
        expectRefusal(await get('/namespaces', headers as Record<string, string>), 401);
      }
      // A refused request's body is never parsed: invalid JSON still gets the 401, not a 400.
      const response = await app.inject({
        method: 'POST',
        url: '/v1/objects/value',
        headers: { 'content-type': 'application/json', 'x-api-key': unknown },
        payload: '{"elementIds": [',
      });
      expectRefusal(response, 401);
    });

    it('accepts a key as Bearer, as X-API-Key, and as the Basic password', async () => {
      const key = keys.reader as string;
      for (const headers of [
        { authorization: `Bearer ${key}` } as Record<string, string>,
        { 'x-api-key': key },
        { authorization: `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}` },
      ]) {
        const response = await get('/namespaces', headers);
        expect(response.statusCode).toBe(200);
        expect(response.json()).toMatchObject({ success: true });
      }
    });

    it('answers 403 with the envelope to a key without the scope a route needs', async () => {
      const response = await get('/namespaces', { authorization: `Bearer ${keys.subscriber}` });
      expectRefusal(response, 403, /lacks the "read" scope/);
      expect(response.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="read"/);
      const post = await app.inject({
        method: 'POST',
        url: '/v1/objects/value',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.subscriber}` },
        payload: '{"elementIds": ["x"]}',
      });
      expectRefusal(post, 403);
      expect((await get('/namespaces', { authorization: `Bearer ${keys.everything}` })).statusCode).toBe(200);
    });

    it('a revoked key stops at once, in a replica that had it cached too, and notes when keys were used', async () => {
      const headers = { authorization: `Bearer ${keys.revoked}` };
      expect((await get('/namespaces', headers)).statusCode).toBe(200);
      expect((await get('/namespaces', headers, limited)).statusCode).toBe(200);
      const used = await admin.query(`select last_used_at from i3x.api_keys where name = 'to-revoke'`);
      expect(used.rows[0].last_used_at).toBeInstanceOf(Date);
      // The cache holds keys for a minute here: only the store's notification can make the revocation reach it.
      await admin.query(`update i3x.api_keys set revoked_at = now() where name = 'to-revoke'`);
      await waitFor(
        'the revocation reaches the server',
        async () => (await get('/namespaces', headers)).statusCode === 401,
      );
      expectRefusal(await get('/namespaces', headers), 401, /unknown, revoked or malformed/);
    });
  });

  describe('OIDC bearer tokens', () => {
    it('accepts a token of the configured issuer with the scope, found through discovery', async () => {
      const response = await get('/namespaces', { authorization: `Bearer ${await token({})}` });
      expect(response.statusCode).toBe(200);
      // Scopes as an array claim too; a token with write only may not read.
      const writer = await token({ scope: 'openid i3x:write' });
      expectRefusal(
        await get('/namespaces', { authorization: `Bearer ${writer}` }),
        403,
        /operator-7 lacks the "read"/,
      );
    });

    it('a token with the write scope updates values, audited under its subject; one without it is refused', async () => {
      const path = 'plant7/area/line/cell/level';
      await admin.query(`insert into metrics.series (path, unit) values ($1, 'MTR')`, [path]);
      await syncModel(admin);
      const writing = await buildServer({
        curated: admin,
        metrics: admin,
        i3x: admin,
        log,
        version: '0.1.0',
        auth: {
          apiKeys,
          oidc: new OidcVerifier({ issuer: issuer.url, audience }),
          rateLimits: { max: 0, anonymousMax: 0 },
        },
      });
      try {
        const put = async (scope: string) =>
          writing.inject({
            method: 'PUT',
            url: '/v1/objects/value',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({ scope })}` },
            payload: JSON.stringify({ updates: [{ elementId: seriesObjectId(path), value: { value: 2.5 } }] }),
          });
        expectRefusal(await put('openid i3x:read i3x:subscribe'), 403, /operator-7 lacks the "write"/);
        const written = await put('openid i3x:write');
        expect(written.statusCode).toBe(200);
        expect(written.json()).toEqual({
          success: true,
          results: [{ success: true, elementId: seriesObjectId(path), result: null }],
        });
        const { rows } = await admin.query(
          'select principal_kind, principal_id, principal_name, new_value from i3x.update_audit where element_id = $1',
          [seriesObjectId(path)],
        );
        expect(rows).toEqual([
          {
            principal_kind: 'token',
            principal_id: expect.stringContaining('operator-7'),
            principal_name: 'operator-7',
            new_value: { value: 2.5, quality: 'Good', timestamp: expect.any(String) },
          },
        ]);
      } finally {
        await writing.close();
      }
    });

    it('refuses expired, foreign, misdirected, unsigned and tampered tokens with 401 invalid_token', async () => {
      const past = Math.floor(Date.now() / 1000) - 3_600;
      const valid = await token({});
      const [header, payload] = valid.split('.') as [string, string, string];
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
      const tampered = `${header}.${Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'i3x:write' }),
      ).toString('base64url')}.${valid.split('.')[2]}`;
      const hmac = await new SignJWT({ scope: 'i3x:read' })
        .setProtectedHeader({ alg: 'HS256', kid: 'plant-1' })
        .setIssuer(issuer.url)
        .setAudience(audience)
        .setSubject('x')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JSON.stringify(issuer.keys[0])));
      const cases: Array<[string, string, RegExp]> = [
        ['expired', await token({}, { exp: past }), /expired/],
        [
          'another issuer, its own key',
          await token({ iss: 'https://idp.elsewhere.example/realms/x' }, { key: foreign, kid: 'other' }),
          /not signed by a key/,
        ],
        [
          'another issuer, our key',
          await token({ iss: 'https://idp.elsewhere.example/realms/x' }),
          /not issued by the identity provider/,
        ],
        ['our issuer, signed by another key', await token({}, { key: foreign }), /not signed by a key/],
        ['another audience', await token({ aud: 'someone-else' }), /not meant for this API/],
        ['unsigned (alg none)', unsigned, /./],
        ['tampered payload', tampered, /not signed by a key/],
        ['HS256 with the public key as secret', hmac, /algorithm/],
      ];
      for (const [what, jwt, detail] of cases) {
        const response = await get('/namespaces', { authorization: `Bearer ${jwt}` });
        expect(response.statusCode, what).toBe(401);
        expectRefusal(response, 401, detail);
        expect(response.headers['www-authenticate'], what).toMatch(/error="invalid_token"/);
      }
    });

    it('answers 503, not 401 or 500, while the issuer cannot be asked for its keys', async () => {
      const away = new OidcVerifier({ issuer: 'http://127.0.0.1:1/realms/none', audience, timeoutMs: 2_000 });
      const server = await buildServer({
        curated: admin,
        metrics: admin,
        log,
        version: '0.1.0',
        auth: { apiKeys, oidc: away, rateLimits: { max: 0, anonymousMax: 0 } },
      });
      try {
        expectRefusal(await get('/namespaces', { authorization: `Bearer ${await token({})}` }, server), 503);
        // API keys work on regardless.
        expect((await get('/namespaces', { 'x-api-key': keys.reader as string }, server)).statusCode).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('refuses bearer tokens where no issuer is configured', async () => {
      const server = await buildServer({
        curated: admin,
        metrics: admin,
        log,
        version: '0.1.0',
        auth: { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } },
      });
      try {
        expectRefusal(
          await get('/namespaces', { authorization: `Bearer ${await token({})}` }, server),
          401,
          /no identity provider/,
        );
      } finally {
        await server.close();
      }
    });
  });

  describe('rate limits', () => {
    it('holds each key to its budget with 429, the envelope and Retry-After; another key keeps its own', async () => {
      const reader = { 'x-api-key': keys.reader as string };
      for (let i = 0; i < 3; i += 1) expect((await get('/namespaces', reader, limited)).statusCode).toBe(200);
      const refused = await get('/namespaces', reader, limited);
      expectRefusal(refused, 429, /rate limit of 3 requests per 3600 s exceeded for reader/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await get('/namespaces', { 'x-api-key': keys.everything as string }, limited)).statusCode).toBe(200);
    });

    it('holds requests without valid credentials to a smaller budget per address, so guessing keys is slow', async () => {
      const guess = { 'x-api-key': `pmk_${'B'.repeat(43)}` };
      expectRefusal(await get('/namespaces', guess, limited), 401);
      expectRefusal(await get('/namespaces', guess, limited), 401);
      expectRefusal(await get('/namespaces', guess, limited), 429, /without valid credentials/);
      expectRefusal(await get('/info', {}, limited), 429);
    });
  });

  describe('the published OpenAPI document and the docs page', () => {
    it('is valid OpenAPI 3.1 with the I3X operations this server serves, its security and its refusals', async () => {
      const response = await get('/openapi.json', { 'x-api-key': keys.reader as string });
      expect(response.statusCode).toBe(200);
      const document = response.json();
      // OpenAPI's own JSON Schema for 3.1 (with the schema dialect), as @seriousme/openapi-schema-validator applies it.
      const validator = new Validator();
      const result = await validator.validate(structuredClone(document));
      expect(validator.version).toBe('3.1');
      expect(result.valid, JSON.stringify(result.errors)).toBe(true);
      // And it bites: a parameter in a place OpenAPI does not have is refused.
      const broken = structuredClone(document);
      broken.paths['/objecttypes'].get.parameters[0].in = 'body';
      expect((await new Validator().validate(broken)).valid).toBe(false);
      // Every schema of it is a JSON Schema 2020-12 that compiles.
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema({ $id: 'https://plantmesh.dev/i3x.json', components: document.components });
      for (const name of Object.keys(document.components.schemas)) {
        expect(() => ajv.getSchema(`https://plantmesh.dev/i3x.json#/components/schemas/${name}`)).not.toThrow();
      }
      // The standard's operations that are served, as published, plus this server's two paths.
      const standard = JSON.parse(readFileSync(standardFile, 'utf8'));
      const served = Object.entries(document.paths).flatMap(([path, ops]) =>
        Object.keys(ops as object).map((method) => `${method} ${path}`),
      );
      expect(served).toEqual(
        expect.arrayContaining([
          'get /info',
          'get /namespaces',
          'post /objects/value',
          'post /objects/history',
          'get /openapi.json',
          'get /docs',
        ]),
      );
      for (const entry of served.filter((op) => !op.endsWith('/openapi.json') && !op.endsWith('/docs'))) {
        const [method, path] = entry.split(' ') as [string, string];
        const published = document.paths[path][method];
        const original = standard.paths[path][method];
        expect(published.operationId).toBe(original.operationId);
        expect(published.requestBody).toEqual(original.requestBody);
        expect(published.responses['200']).toEqual(original.responses['200']);
        if (path === '/info') {
          expect(published.security).toEqual([]);
        } else {
          expect(published.security).toContainEqual({ apiKey: ['read'] });
          expect(published.security).toContainEqual({ oidc: ['i3x:read'] });
          expect(Object.keys(published.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
        }
      }
      expect(document.components.securitySchemes.oidc.openIdConnectUrl).toBe(
        `${issuer.url}/.well-known/openid-configuration`,
      );
      // What is not served (subscriptions, updates) is not published.
      expect(document.paths['/subscriptions']).toBeUndefined();
      // The package's copy of the standard is the standard (as JSON: the copy is formatted by the linter).
      expect(JSON.parse(readFileSync(new URL('../openapi/i3x-v1-openapi.json', import.meta.url), 'utf8'))).toEqual(
        JSON.parse(readFileSync(standardFile, 'utf8')),
      );
    });

    it('serves the docs page to a browser that gives a key as its Basic password, and asks for one otherwise', async () => {
      const refused = await app.inject({ method: 'GET', url: '/v1/docs', headers: { accept: 'text/html' } });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('Basic realm="plantmesh-i3x"');
      const page = await app.inject({
        method: 'GET',
        url: '/v1/docs',
        headers: { accept: 'text/html', authorization: `Basic ${Buffer.from(`me:${keys.reader}`).toString('base64')}` },
      });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<code>POST /v1/objects/value</code>');
      expect(page.body).toContain('<code>GET /v1/info</code>');
      expect(page.body).not.toMatch(/<script/i);
    });
  });
});
