/**
 * The subscribe methods over a real PostgreSQL, samples stored in metrics.samples and handed to the streams and
 * the staging as the feed hands them (the feed itself, restarts and replicas are in
 * subscriptions-live.test.ts): ownership by clientId
 * and credential, sync's sequence numbers, acknowledgement, -1, overflow's 206 and recovery, the SSE stream
 * (queued updates first, one stream per subscription, keepalives, 409 for /sync meanwhile), TTL expiry.
 * Every JSON answer is checked against the I3X OpenAPI schemas.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { type PostgresServer, waitFor } from '@plantmesh/testkit';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiKeyStore,
  buildServer,
  defaultLimits,
  ModelReader,
  StreamHub,
  SubscriptionStore,
  ValueReader,
} from '../src/index.js';
import { insertKey } from './keys.js';
import { startModelStore, syncModel } from './model-store.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const openApi = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../standards/i3x/i3x-v1-openapi.json', import.meta.url)), 'utf8'),
);
const UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const paths = ['plant7/area/line/cell/temperature', 'plant7/area/line/cell/pressure'];
const [temperature, pressure] = paths.map(seriesObjectId) as [string, string];

/** An SSE response read as it arrives: its events' data and its comments. */
class EventStream {
  text = '';
  done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly response: Response) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    this.reader = reader;
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) break;
        this.text += decoder.decode(value);
      }
      this.done = true;
    })();
  }

  /** The client goes away. */
  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  get events(): Array<Array<{ elementId: string; value: unknown; quality: string; timestamp: string }>> {
    return [...this.text.matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1] as string));
  }

  get updates() {
    return this.events.flat();
  }
}

describe('I3X subscriptions (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let apiKeys: ApiKeyStore;
  let store: SubscriptionStore;
  let hub: StreamHub;
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let otherKey: string;
  let readOnly: string;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://plantmesh.dev/test/i3x.json', components: openApi.components });
  const schema = (name: string) => ajv.getSchema(`https://plantmesh.dev/test/i3x.json#/components/schemas/${name}`);

  async function call(
    path: string,
    body: unknown,
    as = key,
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked against the OpenAPI, then read freely
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`${base}/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify(body),
    });
    const parsed = await response.json();
    if (response.status >= 400) {
      expect(parsed).toEqual({
        success: false,
        responseDetail: { title: expect.any(String), status: response.status, detail: expect.any(String) },
      });
    }
    return { status: response.status, body: parsed };
  }

  const valid = (name: string, body: unknown) => {
    const validate = schema(name);
    expect(validate?.(body), JSON.stringify(validate?.errors)).toBe(true);
  };

  let clock = Date.parse('2026-12-01T08:00:00Z');
  /** Samples committed by the writer (stored, then on the live stream), as the feed hands them on. */
  async function committed(to: StreamHub, path: string, samples: Array<[number, number, number]>) {
    await admin.query(
      `insert into metrics.samples (series_id, ts, value, quality)
       select (select id from metrics.series where path = $1), to_timestamp(x.ms / 1000.0), x.value, x.quality
         from unnest($2::float8[], $3::float8[], $4::int[]) as x(ms, value, quality)`,
      [path, samples.map((s) => s[0]), samples.map((s) => s[1]), samples.map((s) => s[2])],
    );
    await to.deliver([{ path, unit: 'CEL', samples }]);
  }

  async function commit(path: string, ...values: number[]) {
    const samples = values.map((value): [number, number, number] => {
      clock += 1_000;
      return [clock, value, 0];
    });
    await committed(hub, path, samples);
  }

  async function subscription(clientId = 'client-a', as = key): Promise<string> {
    const created = await call('/subscriptions', { clientId, displayName: 'test' }, as);
    expect(created.status).toBe(200);
    valid('SuccessResponse_CreateSubscriptionResponse_', created.body);
    return created.body.result.subscriptionId;
  }

  beforeAll(async () => {
    ({ server, admin } = await startModelStore(8));
    for (const path of paths) await admin.query(`insert into metrics.series (path, unit) values ($1, 'CEL')`, [path]);
    await syncModel(admin);
    apiKeys = new ApiKeyStore(admin, { log });
    apiKeys.start();
    key = await insertKey(admin, 'subscriber', ['read', 'subscribe']);
    otherKey = await insertKey(admin, 'another', ['subscribe']);
    readOnly = await insertKey(admin, 'reader', ['read']);
    const model = new ModelReader(admin, { maxObjects: 1_000 });
    store = new SubscriptionStore(admin, admin, model, new ValueReader(model, admin, admin, defaultLimits), {
      maxQueued: 4,
      keepaliveMs: 300,
      ttlMs: 1_500,
    });
    hub = new StreamHub({ store, pool: admin, log });
    hub.start();
    app = await buildServer({
      curated: admin,
      metrics: admin,
      log,
      version: '0.1.0',
      auth: { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } },
      subscriptions: { store, hub },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await hub?.stop();
    await apiKeys?.close();
    await admin?.end();
    await server?.destroy();
  });

  it('creates subscriptions owned by a clientId and a credential: to anyone else they do not exist', async () => {
    const id = await subscription();
    expect(id.length).toBeGreaterThanOrEqual(40);
    expect((await call('/subscriptions', { displayName: 'x' })).status).toBe(400);
    expect((await call('/subscriptions', { clientId: 'client-a' }, readOnly)).status).toBe(403);
    const register = (clientId: string, as = key) =>
      call('/subscriptions/register', { clientId, subscriptionId: id, elementIds: [temperature] }, as);
    expect((await register('client-b')).status).toBe(404);
    expect((await register('client-a', otherKey)).status).toBe(404);
    expect((await call('/subscriptions/sync', { clientId: 'client-b', subscriptionId: id })).status).toBe(404);
    expect((await call('/subscriptions/register', { subscriptionId: id, elementIds: [temperature] })).status).toBe(400);
    const listed = await call('/subscriptions/list', { clientId: 'client-b', subscriptionIds: [id] });
    expect(listed.body.results[0]).toMatchObject({
      success: false,
      subscriptionId: id,
      responseDetail: { status: 404 },
    });
    const deleted = await call('/subscriptions/delete', { clientId: 'client-a', subscriptionIds: [id] }, otherKey);
    expect(deleted.body.results[0].success).toBe(false);
  });

  it('registers elements (unknown ones per item, twice as once), lists them, and syncs with sequence numbers and acknowledgement', async () => {
    const id = await subscription();
    const registered = await call('/subscriptions/register', {
      clientId: 'client-a',
      subscriptionId: id,
      elementIds: [temperature, 'no-such-element', temperature],
    });
    valid('BulkResponse_NoneType_', registered.body);
    expect(registered.body.results.map((item: { success: boolean }) => item.success)).toEqual([true, false, true]);
    expect(registered.body.results[1].responseDetail.status).toBe(404);
    const listed = await call('/subscriptions/list', { clientId: 'client-a', subscriptionIds: [id, 'nope'] });
    valid('BulkResponse_SubscriptionDetail_', listed.body);
    expect(listed.body.results[0].result).toEqual({
      subscriptionId: id,
      displayName: 'test',
      monitoredObjects: [{ elementId: temperature, maxDepth: 1 }],
    });
    expect(listed.body.results[1].success).toBe(false);

    const sync = async (body: Record<string, unknown> = {}) => {
      const answer = await call('/subscriptions/sync', { clientId: 'client-a', subscriptionId: id, ...body });
      if (answer.status === 200) valid('SuccessResponse_List_SyncBatch__', answer.body);
      return answer;
    };
    // Nothing yet: an empty array, no sequence number.
    expect((await sync()).body).toEqual({ success: true, result: [] });
    await commit(paths[0] as string, 20.5, 21);
    await commit(paths[1] as string, 99); // not registered
    const first = await sync();
    expect(first.body.result).toEqual([
      {
        sequenceNumber: 1,
        updates: [
          { elementId: temperature, value: 20.5, quality: 'Good', timestamp: expect.stringMatching(UTC) },
          { elementId: temperature, value: 21, quality: 'Good', timestamp: expect.stringMatching(UTC) },
        ],
      },
    ]);
    // Not acknowledged: batch 1 again, and the new updates as batch 2.
    await commit(paths[0] as string, 22);
    const second = await sync();
    expect(second.body.result.map((batch: { sequenceNumber: number }) => batch.sequenceNumber)).toEqual([1, 2]);
    // Acknowledging 2 removes 1 and 2.
    expect((await sync({ lastSequenceNumber: 2 })).body.result).toEqual([]);
    await commit(paths[0] as string, 23);
    expect(
      (await sync({ lastSequenceNumber: 2 })).body.result.map((b: { sequenceNumber: number }) => b.sequenceNumber),
    ).toEqual([3]);
    // An invalid number acknowledges nothing; a malformed one is a 400.
    expect((await sync({ lastSequenceNumber: -7 })).body.result).toHaveLength(1);
    expect((await sync({ lastSequenceNumber: 'three' })).status).toBe(400);
    // -1 acknowledges everything queued.
    await commit(paths[0] as string, 24);
    expect((await sync({ lastSequenceNumber: -1 })).body.result).toEqual([]);
    expect((await sync()).body.result).toEqual([]);
    // A sample seen twice (two replicas, or the catch-up after a restart) is one update.
    const again = clock + 1_000;
    await committed(hub, paths[0] as string, [[again, 25, 0]]);
    await hub.deliver([{ path: paths[0] as string, unit: 'CEL', samples: [[again, 25, 0]] }]);
    clock = again;
    const once = await sync();
    expect(once.body.result[0].updates).toHaveLength(1);
    expect(once.body.result[0].sequenceNumber).toBe(4);
  });

  it('drops the oldest updates beyond the queue limit, answers 206 once, then recovers', async () => {
    const id = await subscription();
    await call('/subscriptions/register', { clientId: 'client-a', subscriptionId: id, elementIds: [pressure] });
    await commit(paths[1] as string, 1, 2, 3, 4, 5, 6);
    const overflow = await call('/subscriptions/sync', { clientId: 'client-a', subscriptionId: id });
    expect(overflow.status).toBe(206);
    expect(overflow.body.responseDetail).toMatchObject({
      status: 206,
      detail: expect.stringMatching(/2 updates were dropped/),
    });
    expect(overflow.body.result[0].updates.map((u: { value: number }) => u.value)).toEqual([3, 4, 5, 6]);
    await commit(paths[1] as string, 7);
    const recovered = await call('/subscriptions/sync', {
      clientId: 'client-a',
      subscriptionId: id,
      lastSequenceNumber: 1,
    });
    expect(recovered.status).toBe(200);
    expect(recovered.body.result).toEqual([{ sequenceNumber: 2, updates: [expect.objectContaining({ value: 7 })] }]);
    // Unregistered: what was queued stays, nothing new comes.
    await commit(paths[1] as string, 8);
    await call('/subscriptions/unregister', {
      clientId: 'client-a',
      subscriptionId: id,
      elementIds: [pressure, 'nope'],
    });
    await commit(paths[1] as string, 9);
    const after = await call('/subscriptions/sync', {
      clientId: 'client-a',
      subscriptionId: id,
      lastSequenceNumber: 2,
    });
    expect(after.body.result).toEqual([{ sequenceNumber: 3, updates: [expect.objectContaining({ value: 8 })] }]);
  });

  it('streams over SSE: queued updates first, then as they come, keepalives; a new stream ends the old one; /sync meanwhile is a 409', async () => {
    const id = await subscription('client-s');
    await call('/subscriptions/register', { clientId: 'client-s', subscriptionId: id, elementIds: [temperature] });
    await commit(paths[0] as string, 30);
    const open = () =>
      fetch(`${base}/v1/subscriptions/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ clientId: 'client-s', subscriptionId: id }),
      });
    const first = new EventStream(await open());
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor('the queued update streamed', async () => first.updates.length === 1);
    expect(first.updates[0]).toMatchObject({ elementId: temperature, value: 30, quality: 'Good' });
    await commit(paths[0] as string, 31, 32);
    await waitFor('new updates streamed', async () => first.updates.length === 3);
    expect(first.updates.map((u) => u.value)).toEqual([30, 31, 32]);
    await waitFor('a keepalive comment', async () => first.text.includes(': keepalive'));
    const busy = await call('/subscriptions/sync', { clientId: 'client-s', subscriptionId: id });
    expect(busy.status).toBe(409);
    // Another client id or credential cannot take the stream over.
    const stolen = await fetch(`${base}/v1/subscriptions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${otherKey}` },
      body: JSON.stringify({ clientId: 'client-s', subscriptionId: id }),
    });
    expect(stolen.status).toBe(404);
    const second = new EventStream(await open());
    await waitFor('the first stream ended', async () => first.done);
    await commit(paths[0] as string, 33);
    await waitFor('the second stream gets the update', async () => second.updates.length === 1);
    expect(first.updates).toHaveLength(3);
    // The client closes the stream: /sync works again.
    await second.close();
    await waitFor(
      '/sync allowed again',
      async () => (await call('/subscriptions/sync', { clientId: 'client-s', subscriptionId: id })).status === 200,
    );
    expect((await call('/subscriptions/stream', { clientId: 'client-s', subscriptionId: 'nope' })).status).toBe(404);
  });

  it('feeds a slow stream reader only as fast as it reads: the backlog waits in PostgreSQL, not in the server', async () => {
    const model = new ModelReader(admin, { maxObjects: 1_000 });
    const roomy = new SubscriptionStore(admin, admin, model, new ValueReader(model, admin, admin, defaultLimits), {
      maxQueued: 100_000,
      // Within the TTL that the other store of this file sweeps with.
      keepaliveMs: 300,
    });
    const roomyHub = new StreamHub({ store: roomy, pool: admin, log });
    roomyHub.start();
    const roomyApp = await buildServer({
      curated: admin,
      metrics: admin,
      log,
      version: '0.1.0',
      auth: { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } },
      subscriptions: { store: roomy, hub: roomyHub },
    });
    await roomyApp.listen({ host: '127.0.0.1', port: 0 });
    const roomyBase = `http://127.0.0.1:${(roomyApp.server.address() as AddressInfo).port}`;
    try {
      const created = await fetch(`${roomyBase}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ clientId: 'slow' }),
      });
      const id = ((await created.json()) as { result: { subscriptionId: string } }).result.subscriptionId;
      await fetch(`${roomyBase}/v1/subscriptions/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ clientId: 'slow', subscriptionId: id, elementIds: [pressure] }),
      });
      const response = await fetch(`${roomyBase}/v1/subscriptions/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ clientId: 'slow', subscriptionId: id }),
      });
      // The client reads nothing yet; 60,000 updates (about 6 MB of events) are staged meanwhile.
      const total = 60_000;
      for (let start = 0; start < total; start += 10_000) {
        const samples = Array.from({ length: 10_000 }, (_, i): [number, number, number] => {
          clock += 1;
          return [clock, start + i, 0];
        });
        await committed(roomyHub, paths[1] as string, samples);
      }
      const left = async () =>
        (
          await admin.query<{ n: number }>(
            'select count(*)::int as n from i3x.subscription_staged where subscription_id = $1',
            [id],
          )
        ).rows[0]?.n ?? 0;
      // The server sends only as the socket takes: what the kernel's buffers cannot hold spills into the store,
      // and the server itself never holds more than one event past the response's high-water mark.
      let before = -1;
      let most = 0;
      let held = 0;
      await waitFor('the stream settled with the client not reading', async () => {
        most = Math.max(most, roomyHub.buffered);
        held = Math.max(held, roomyHub.held);
        const now = await left();
        const settled = now === before && now > 0;
        before = now;
        return settled;
      });
      expect(most).toBeLessThan(16 * 1024 + 500 * 200);
      // A few chunks, and the one delivery on its way into the store: not the 60,000 behind them.
      expect(held).toBeLessThanOrEqual(2_000 + 10_000);
      // Read now: everything arrives, in order, and the backlog is gone.
      const stream = new EventStream(response);
      await waitFor('every update read', async () => stream.updates.length === total, 60_000);
      expect(stream.updates.map((update) => update.value)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(await left()).toBe(0);
      await stream.close();
    } finally {
      await roomyApp.close();
      await roomyHub.stop();
    }
  });

  it('deletes a subscription on request and when neither /sync nor a stream came within its TTL', async () => {
    const kept = await subscription('client-t');
    const idle = await subscription('client-t');
    const gone = await subscription('client-t');
    const deleted = await call('/subscriptions/delete', { clientId: 'client-t', subscriptionIds: [gone, 'nope'] });
    valid('BulkResponse_NoneType_', deleted.body);
    expect(deleted.body.results.map((item: { success: boolean }) => item.success)).toEqual([true, false]);
    expect((await call('/subscriptions/sync', { clientId: 'client-t', subscriptionId: gone })).status).toBe(404);
    await waitFor('the idle subscription expired', async () => {
      // The kept one syncs all the while.
      expect((await call('/subscriptions/sync', { clientId: 'client-t', subscriptionId: kept })).status).toBe(200);
      const listed = await call('/subscriptions/list', { clientId: 'client-t', subscriptionIds: [idle] });
      return listed.body.results[0].success === false;
    });
    expect((await call('/subscriptions/sync', { clientId: 'client-t', subscriptionId: idle })).status).toBe(404);
    const { rows } = await admin.query('select count(*)::int as n from i3x.subscriptions where subscription_id = $1', [
      idle,
    ]);
    await waitFor('its rows removed', async () => {
      const left = await admin.query('select count(*)::int as n from i3x.subscriptions where subscription_id = $1', [
        idle,
      ]);
      return left.rows[0].n === 0;
    });
    expect(rows[0].n).toBeLessThanOrEqual(1);
  });

  it('publishes the subscribe methods with the subscribe scope, and declares streaming in /info', async () => {
    const info = (await (await fetch(`${base}/v1/info`)).json()) as {
      result: { capabilities: { subscribe: unknown } };
    };
    expect(info.result.capabilities.subscribe).toEqual({ stream: true });
    const document = (await (await fetch(`${base}/v1/openapi.json`, { headers: { 'x-api-key': key } })).json()) as {
      paths: Record<string, { post: { security: unknown[] } }>;
    };
    const validation = await new Validator().validate(structuredClone(document));
    expect(validation.valid, JSON.stringify(validation.errors)).toBe(true);
    for (const path of [
      '/subscriptions',
      '/subscriptions/register',
      '/subscriptions/unregister',
      '/subscriptions/stream',
      '/subscriptions/sync',
      '/subscriptions/delete',
      '/subscriptions/list',
    ]) {
      expect(document.paths[path]?.post.security, path).toContainEqual({ apiKey: ['subscribe'] });
    }
  });
});
