/**
 * Updates (PUT /objects/value and /objects/history) over real stores, served with the API's own production
 * login (plantmesh_i3x_api and its grants): written values read back by POST /objects/value and /history, the
 * last known value the newest by timestamp, history records created or replaced, the audit trail (who, when,
 * old, new) that the API may add to and never change, and hostile input answered with the guide's statuses
 * and envelopes, per item where the item is at fault. Every answer checked against the I3X OpenAPI.
 */
import { join } from 'node:path';
import { SampleWriter } from '@plantmesh/amqp-writer';
import { createLogger, Postgres, type SampleGroup } from '@plantmesh/core';
import {
  applyDefinition,
  type CuratedStores,
  curateBatch,
  loadDefinition,
  ProductCache,
  shippedDefinitions,
} from '@plantmesh/etl-curated';
import { curatedRowId, equipmentId, productObjectId, seriesObjectId } from '@plantmesh/information-model';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '@plantmesh/schema';
import { EventGenerator } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, buildServer, publishedDocument, storePlatformOnce } from '../src/index.js';
import { insertKey } from './keys.js';
import { syncModel } from './model-store.js';
import { caller, expectVqtRules, OpenApiCheck } from './openapi-check.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const start = Date.parse('2026-11-29T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
const paths = {
  temperature: 'plant1/caster/strand1/cell1/temperature',
  pressure: 'plant1/caster/strand1/cell1/pressure',
  flow: 'plant1/caster/strand1/cell2/flow',
};
const ids = {
  temperature: seriesObjectId(paths.temperature),
  pressure: seriesObjectId(paths.pressure),
  flow: seriesObjectId(paths.flow),
};

interface AuditRow {
  principal_kind: string;
  principal_id: string;
  principal_name: string;
  operation: string;
  element_id: string;
  record_ts: Date;
  old_value: unknown;
  new_value: unknown;
  became_current: boolean;
  changed_at: Date;
}

describe('I3X updates over the real stores, with the API login', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let api: pg.Pool;
  let apartMetrics: pg.Pool;
  let apartI3x: pg.Pool;
  let app: FastifyInstance;
  let apart: FastifyInstance;
  let small: FastifyInstance;
  let apiKeys: ApiKeyStore;
  let writer: string;
  let reader: string;
  let heatId: string;
  const check = new OpenApiCheck();
  const call = caller(
    () => app,
    () => writer,
    check,
  );

  const audit = async (elementId: string) =>
    (await admin.query<AuditRow>('select * from i3x.update_audit where element_id = $1 order by id', [elementId])).rows;

  const current = async (elementId: string) => {
    const answer = await call('POST', '/objects/value', { elementIds: [elementId] });
    expect(answer.status).toBe(200);
    expectVqtRules(answer.body.results[0].result);
    return answer.body.results[0].result;
  };

  const history = async (elementId: string, from: number, to: number) => {
    const answer = await call('POST', '/objects/history', {
      elementIds: [elementId],
      startTime: iso(from),
      endTime: iso(to),
    });
    expect(answer.status).toBe(200);
    for (const vqt of answer.body.results[0].result.values) expectVqtRules(vqt);
    return answer.body.results[0].result.values as Array<{ value: unknown; quality: string; timestamp: string }>;
  };

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    const password = generatePassword();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log, { 'i3x-api': password });
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    // The API as it runs in production: its own login, with the grants `plantmesh migrate` gives it.
    api = new pg.Pool({ connectionString: serviceUrl(server.url, 'i3x-api', password), max: 6 });
    api.on('error', () => {});

    // Samples as the writer stores them: ten minutes of two series, one of a third; the last at start + 9 min.
    const groups: SampleGroup[] = [
      { topic: paths.temperature, unit: 'CEL', base: 1500 },
      { topic: paths.pressure, unit: 'BAR', base: 10 },
      { topic: paths.flow, unit: 'MQH', base: 3 },
    ].map(({ topic, unit, base }) => ({
      topic,
      unit,
      receivedAt: start,
      samples: Array.from({ length: 10 }, (_, minute): [number, number, number] => [
        start + minute * 60_000,
        base + minute,
        0,
      ]),
    }));
    const client = await admin.connect();
    try {
      await client.query('begin');
      await new SampleWriter().write(client, [groups]);
      await client.query('commit');
      // A curated product with rows, as the ETL makes them: read-only objects.
      const definition = loadDefinition(join(shippedDefinitions, 'heats.yaml'));
      await applyDefinition(client, definition);
    } finally {
      client.release();
    }
    const generator = new EventGenerator(7);
    const events = Array.from({ length: 200 }, (_, minute) => generator.next(start + minute * 60_000));
    await admin.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select e -> 'payload' ->> 'id', 'string', e ->> 'topic', 'events', now(), e -> 'payload'
       from jsonb_array_elements($1::jsonb) as e`,
      [JSON.stringify(events)],
    );
    const connect = async () => {
      const postgres = new Postgres({ url: server.url, log, applicationName: 'test' });
      await postgres.start();
      return postgres;
    };
    const curated: CuratedStores = { raw: await connect(), curated: await connect() };
    while ((await curateBatch(curated, new ProductCache(), 'heats', 500)).more);
    await curated.raw.close();
    await curated.curated.close();
    const heat = (await admin.query<{ heat_id: string }>('select heat_id from curated.heats limit 1')).rows[0];
    heatId = curatedRowId('heats', [heat?.heat_id as string]);

    await storePlatformOnce(api);
    await syncModel(api);

    apiKeys = new ApiKeyStore(api, { log });
    apiKeys.start();
    writer = await insertKey(admin, 'line-mes', ['read', 'write']);
    reader = await insertKey(admin, 'dashboard', ['read']);
    const auth = { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } };
    app = await buildServer({ curated: api, metrics: api, i3x: api, log, version: '0.1.0', auth });
    // The i3x store in a database of its own (here: another pool): the value and its audit in two transactions.
    apartMetrics = new pg.Pool({ connectionString: serviceUrl(server.url, 'i3x-api', password), max: 2 });
    apartI3x = new pg.Pool({ connectionString: serviceUrl(server.url, 'i3x-api', password), max: 2 });
    apartMetrics.on('error', () => {});
    apartI3x.on('error', () => {});
    apart = await buildServer({ curated: api, metrics: apartMetrics, i3x: apartI3x, log, version: '0.1.0', auth });
    small = await buildServer({
      curated: api,
      metrics: api,
      i3x: api,
      log,
      version: '0.1.0',
      auth,
      limits: { maxBulkItems: 3, maxBodyBytes: 4_096 },
    });
  });

  afterAll(async () => {
    await app?.close();
    await apart?.close();
    await small?.close();
    await apiKeys?.close();
    await apartMetrics?.end();
    await apartI3x?.end();
    await api?.end();
    await admin?.end();
    await server?.destroy();
  });

  it('declares value and history updates in GET /info, and publishes both operations with the write scope', async () => {
    const info = await call('GET', '/info');
    expect(info.body.result.capabilities).toEqual({
      query: { history: true },
      update: { current: true, history: true },
      subscribe: { stream: false },
    });
    const document = (await call('GET', '/openapi.json')).body;
    for (const path of ['/objects/value', '/objects/history']) {
      expect(document.paths[path].put.security).toContainEqual({ apiKey: ['write'] });
      expect(Object.keys(document.paths[path].put.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
    // Without the i3x store, a server takes no updates and says so.
    const served = new Set(['GET /info', 'PUT /objects/value']);
    expect(Object.keys(publishedDocument({ version: '0', serverName: 'x', served }).paths)).toContain('/objects/value');
  });

  it('PUT /objects/value: written, read back as the last known value and in history, audited with who and the value before', async () => {
    const at = start + 10 * 60_000;
    const written = await call('PUT', '/objects/value', {
      updates: [{ elementId: ids.temperature, value: { value: 1520.5, quality: 'Good', timestamp: iso(at) } }],
    });
    expect(written).toEqual({
      status: 200,
      body: { success: true, results: [{ success: true, elementId: ids.temperature, result: null }] },
    });
    expect(await current(ids.temperature)).toEqual({
      isComposition: false,
      value: 1520.5,
      quality: 'Good',
      timestamp: iso(at),
    });
    const values = await history(ids.temperature, start, at);
    expect(values).toHaveLength(11);
    expect(values.at(-1)).toEqual({ value: 1520.5, quality: 'Good', timestamp: iso(at) });
    const [row] = await audit(ids.temperature);
    expect(row).toMatchObject({
      principal_kind: 'api-key',
      principal_name: 'line-mes',
      operation: 'value',
      element_id: ids.temperature,
      old_value: { value: 1509, quality: 'Good', timestamp: iso(start + 9 * 60_000) },
      new_value: { value: 1520.5, quality: 'Good', timestamp: iso(at) },
      became_current: true,
    });
    expect(row?.record_ts.getTime()).toBe(at);
    expect(Math.abs((row?.changed_at.getTime() as number) - Date.now())).toBeLessThan(60_000);
    // The rollups and KPIs learn of the write as of any other (metrics.sample_changes).
    const changes = await admin.query<{ ts_from: Date; samples: number }>(
      'select ts_from, samples from metrics.sample_changes order by id desc limit 1',
    );
    expect(changes.rows[0]).toEqual({ ts_from: new Date(at), samples: 1 });
  });

  it('defaults quality to Good and the timestamp to the server time; offsets and microseconds are taken, answers are UTC', async () => {
    const before = Date.now();
    await call('PUT', '/objects/value', { updates: [{ elementId: ids.flow, value: { value: 4.25 } }] });
    const value = await current(ids.flow);
    expect(value).toMatchObject({ value: 4.25, quality: 'Good' });
    expect(Date.parse(value.timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(value.timestamp)).toBeLessThanOrEqual(Date.now() + 1);
    await call('PUT', '/objects/value', {
      updates: [{ elementId: ids.flow, value: { value: 4.5, quality: null, timestamp: '2099-01-01T00:00:00Z' } }],
    }).then((answer) => expect(answer.body.results[0].responseDetail.detail).toMatch(/in the future/));
    const offset = new Date(Date.now() + 1_000).toISOString().replace(/\.\d{3}Z$/, '.123456+00:00');
    await call('PUT', '/objects/value', {
      updates: [{ elementId: ids.flow, value: { value: 4.75, timestamp: offset } }],
    });
    expect((await current(ids.flow)).timestamp).toBe(offset.replace('+00:00', 'Z'));
  });

  it('the last known value is the newest by timestamp: an older write goes into history only', async () => {
    const latest = await current(ids.pressure);
    const older = start + 4 * 60_000 + 30_000;
    const answer = await call('PUT', '/objects/value', {
      updates: [{ elementId: ids.pressure, value: { value: 99, quality: 'Uncertain', timestamp: iso(older) } }],
    });
    expect(answer.body.success).toBe(true);
    expect(await current(ids.pressure)).toEqual(latest);
    const values = await history(ids.pressure, older, older);
    expect(values).toEqual([{ value: 99, quality: 'Uncertain', timestamp: iso(older) }]);
    expect((await audit(ids.pressure)).at(-1)).toMatchObject({
      operation: 'value',
      old_value: { value: latest.value, timestamp: latest.timestamp },
      became_current: false,
    });
  });

  it('PUT /objects/history creates or replaces the record at each timestamp; the last known value follows a replaced newest record', async () => {
    const replaced = start + 3 * 60_000;
    const created = start + 3 * 60_000 + 15_000;
    const answer = await call('PUT', '/objects/history', {
      updates: [
        { elementId: ids.pressure, value: { value: 13.5, quality: 'Good', timestamp: iso(replaced) } },
        { elementId: ids.pressure, value: { value: null, quality: 'Bad', timestamp: iso(created) } },
      ],
    });
    expect(answer.body).toEqual({
      success: true,
      results: [
        { success: true, elementId: ids.pressure, result: null },
        { success: true, elementId: ids.pressure, result: null },
      ],
    });
    expect(await history(ids.pressure, replaced, created)).toEqual([
      { value: 13.5, quality: 'Good', timestamp: iso(replaced) },
      { value: null, quality: 'Bad', timestamp: iso(created) },
    ]);
    const stored = await admin.query(
      `select count(*)::int as n from metrics.samples where series_id = (select id from metrics.series where path = $1)
        and ts = $2`,
      [paths.pressure, new Date(replaced)],
    );
    expect(stored.rows[0].n).toBe(1);
    const rows = await audit(ids.pressure);
    expect(rows.slice(-2)).toMatchObject([
      {
        operation: 'history',
        old_value: { value: 13, quality: 'Good', timestamp: iso(replaced) },
        new_value: { value: 13.5, quality: 'Good', timestamp: iso(replaced) },
        became_current: false,
      },
      { operation: 'history', old_value: null, new_value: { value: null, quality: 'Bad', timestamp: iso(created) } },
    ]);
    // The newest record replaced (a correction): it is the last known value, as the record it replaced was.
    const newest = (await current(ids.pressure)).timestamp;
    await call('PUT', '/objects/history', {
      updates: [{ elementId: ids.pressure, value: { value: 20.5, quality: 'Uncertain', timestamp: newest } }],
    });
    expect(await current(ids.pressure)).toEqual({
      isComposition: false,
      value: 20.5,
      quality: 'Uncertain',
      timestamp: newest,
    });
    // GoodNoData writes a record without a value, read back as such.
    const empty = start + 60_000 + 1;
    await call('PUT', '/objects/history', {
      updates: [{ elementId: ids.pressure, value: { value: null, quality: 'GoodNoData', timestamp: iso(empty) } }],
    });
    expect(await history(ids.pressure, empty, empty)).toEqual([
      { value: null, quality: 'GoodNoData', timestamp: iso(empty) },
    ]);
  });

  it('offsets beyond what PostgreSQL takes (RFC 3339 allows up to 23:59) are taken, on writes and reads', async () => {
    // 2026-11-29T20:05:30.25+23:59 is 2026-11-28T20:06:30.25Z.
    const written = await call('PUT', '/objects/history', {
      updates: [
        { elementId: ids.flow, value: { value: 9.25, quality: 'Good', timestamp: '2026-11-29T20:05:30.25+23:59' } },
      ],
    });
    expect(written.body.success).toBe(true);
    const answer = await call('POST', '/objects/history', {
      elementIds: [ids.flow],
      startTime: '2026-11-28T04:00:00-16:00',
      endTime: '2026-11-28T20:06:30.25Z',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.results[0].result.values).toEqual([
      { value: 9.25, quality: 'Good', timestamp: '2026-11-28T20:06:30.25Z' },
    ]);
  });

  it('history records in reverse time order: all written, read in time order, the newest the last known value', async () => {
    const newest = start + 12 * 60_000;
    const stamps = [newest, newest - 20_000, newest - 40_000];
    const answer = await call('PUT', '/objects/history', {
      updates: stamps.map((ts, i) => ({
        elementId: ids.pressure,
        value: { value: 16 - i, quality: 'Good', timestamp: iso(ts) },
      })),
    });
    expect(answer.body.success).toBe(true);
    expect(await history(ids.pressure, newest - 40_000, newest)).toEqual(
      [...stamps].reverse().map((ts) => ({ value: 16 - stamps.indexOf(ts), quality: 'Good', timestamp: iso(ts) })),
    );
    expect(await current(ids.pressure)).toMatchObject({ value: 16, timestamp: iso(newest) });
    expect((await audit(ids.pressure)).slice(-3).map((row) => row.became_current)).toEqual([true, false, false]);
  });

  it('the same record twice in one request: the later wins, both audited in order', async () => {
    const at = start + 2 * 60_000;
    await call('PUT', '/objects/history', {
      updates: [
        { elementId: ids.flow, value: { value: 1, quality: 'Good', timestamp: iso(at) } },
        { elementId: ids.flow, value: { value: 2, quality: 'Good', timestamp: iso(at) } },
      ],
    });
    expect(await history(ids.flow, at, at)).toEqual([{ value: 2, quality: 'Good', timestamp: iso(at) }]);
    expect((await audit(ids.flow)).slice(-2).map((row) => [row.old_value, row.new_value])).toEqual([
      [
        { value: 5, quality: 'Good', timestamp: iso(at) },
        { value: 1, quality: 'Good', timestamp: iso(at) },
      ],
      [
        { value: 1, quality: 'Good', timestamp: iso(at) },
        { value: 2, quality: 'Good', timestamp: iso(at) },
      ],
    ]);
  });

  it('with the i3x store apart from the metrics store, writes and audits just the same', async () => {
    const at = start + 11 * 60_000;
    const answer = await call(
      'PUT',
      '/objects/value',
      { updates: [{ elementId: ids.temperature, value: { value: 1530, timestamp: iso(at) } }] },
      apart,
    );
    expect(answer.body.success).toBe(true);
    expect((await current(ids.temperature)).value).toBe(1530);
    expect((await audit(ids.temperature)).at(-1)).toMatchObject({
      old_value: { value: 1520.5 },
      new_value: { value: 1530 },
    });
  });

  it('refuses bad items one by one, in request order, with the failing path named, and writes the good ones', async () => {
    const before = await current(ids.flow);
    const auditBefore = (await admin.query('select count(*)::int as n from i3x.update_audit')).rows[0].n;
    const good = start + 5 * 60_000 + 1_000;
    const ok = { quality: 'Good', timestamp: iso(start + 5 * 60_000 + 2_000) };
    const updates: unknown[] = [
      { elementId: ids.flow, value: { value: 'hot', ...ok } },
      { elementId: ids.flow, value: { value: { flow: 3 }, ...ok } },
      { elementId: ids.flow, value: { value: true, quality: 'Good' } },
      { elementId: 'plantmesh:series:nowhere/at/all', value: { value: 1, ...ok } },
      { elementId: equipmentId('plant1/caster'), value: { value: 1, ...ok } },
      { elementId: heatId, value: { value: { heat_id: 'x' }, ...ok } },
      { elementId: productObjectId('heats'), value: { value: 1, ...ok } },
      { elementId: ids.flow, value: { value: 1, quality: 'Good', timestamp: 'yesterday' } },
      { elementId: ids.flow, value: { value: 1, quality: 'Good', timestamp: '2026-02-30T00:00:00Z' } },
      { elementId: ids.flow, value: { value: 1, quality: 'Great', timestamp: ok.timestamp } },
      { elementId: ids.flow, value: { value: null, ...ok } },
      { elementId: ids.flow, value: { value: 1, quality: 'Bad', timestamp: ok.timestamp } },
      { elementId: ids.flow, value: { ...ok } },
      { elementId: ids.flow, value: 5 },
      { value: { value: 1, ...ok } },
      'not an update',
      { elementId: ids.flow, value: { value: 1, timestamp: ok.timestamp } },
      { elementId: ids.flow, value: { value: 7.5, quality: 'Good', timestamp: iso(good) } },
    ];
    const answer = await call('PUT', '/objects/history', { updates });
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(false);
    const results = answer.body.results as Array<{
      success: boolean;
      elementId: string | null;
      responseDetail?: { status: number; detail: string };
    }>;
    expect(results).toHaveLength(updates.length);
    expect(results.map((item) => item.responseDetail?.status ?? 200)).toEqual([
      400, 400, 400, 404, 403, 403, 403, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 200,
    ]);
    expect(results.map((item) => item.elementId)).toEqual([
      ...updates.slice(0, 14).map((update) => (update as { elementId: string }).elementId),
      null,
      null,
      ids.flow,
      ids.flow,
    ]);
    const details = results.map((item) => item.responseDetail?.detail ?? '');
    expect(details[0]).toMatch(/^updates\[0\]\.value\.value: must be number/);
    expect(details[1]).toMatch(/^updates\[1\]\.value\.value: must be number/);
    // History records need their quality and timestamp; the rest say what is wrong with what.
    expect(details[2]).toMatch(/updates\[2\]\.value\.timestamp is required/);
    expect(details[3]).toBe('Element not found: plantmesh:series:nowhere/at/all');
    expect(details[4]).toMatch(/read-only: it has no value of its own/);
    expect(details[5]).toMatch(/read-only: a curated row is derived from raw events/);
    expect(details[7]).toMatch(/updates\[7\]\.value\.timestamp is not an RFC 3339 timestamp/);
    expect(details[8]).toMatch(/updates\[8\]\.value\.timestamp is not a valid date/);
    expect(details[9]).toMatch(/updates\[9\]\.value\.quality must be one of Good, Uncertain, Bad, GoodNoData/);
    expect(details[10]).toMatch(/updates\[10\]\.value\.value is null, which only quality Bad or GoodNoData/);
    expect(details[11]).toMatch(/updates\[11\]\.value\.value must be null with quality Bad/);
    expect(details[12]).toMatch(/updates\[12\]\.value\.value is required/);
    expect(details[13]).toMatch(/updates\[13\]\.value must be a VQT object/);
    expect(details[14]).toMatch(/updates\[14\]\.elementId is required/);
    expect(details[15]).toMatch(/updates\[15\] must be an object/);
    expect(details[16]).toMatch(/updates\[16\]\.value\.quality is required/);
    // Only the good item was written, and audited.
    expect(await history(ids.flow, good, good)).toEqual([{ value: 7.5, quality: 'Good', timestamp: iso(good) }]);
    expect((await admin.query('select count(*)::int as n from i3x.update_audit')).rows[0].n).toBe(auditBefore + 1);
    expect(await current(ids.flow)).toEqual(before);
    // As a current value: the type's schema names the path; a number too large for JSON's doubles is refused.
    const value = await call(
      'PUT',
      '/objects/value',
      `{"updates": [{"elementId": ${JSON.stringify(ids.flow)}, "value": {"value": 1e400}}, {"elementId": ${JSON.stringify(ids.flow)}, "value": {"value": "3"}}]}`,
    );
    expect(
      value.body.results.map((item: { responseDetail: { detail: string } }) => item.responseDetail.detail),
    ).toEqual(['updates[0].value.value must be a finite number', 'updates[1].value.value: must be number']);
  });

  describe('whole requests refused with the guide status and envelope, never a 500', () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['updates missing', '/objects/value', {}, 400],
      ['updates not an array', '/objects/history', { updates: { elementId: 'x' } }, 400],
      ['a body that is an array', '/objects/value', [], 400],
      ['invalid JSON', '/objects/value', '{"updates": [', 400],
      [
        'more updates than MAX_BULK_ITEMS',
        '/objects/value',
        { updates: Array.from({ length: 4 }, () => ({ elementId: 'x', value: { value: 1 } })) },
        400,
      ],
      ['a body over MAX_BODY_BYTES', '/objects/history', { updates: [{ elementId: 'x'.repeat(5_000) }] }, 413],
    ];
    for (const [what, path, body, status] of cases) {
      it(`${what}: ${status}`, async () => {
        const answer = await call('PUT', path, body, small);
        expect(answer.status).toBe(status);
      });
    }

    it('an empty list of updates is an empty bulk answer', async () => {
      expect((await call('PUT', '/objects/value', { updates: [] })).body).toEqual({ success: true, results: [] });
    });

    it('without credentials 401, with a key without the write scope 403: nothing written, nothing audited', async () => {
      const before = await current(ids.temperature);
      const auditBefore = (await admin.query('select count(*)::int as n from i3x.update_audit')).rows[0].n;
      const body = { updates: [{ elementId: ids.temperature, value: { value: 1, timestamp: iso(Date.now()) } }] };
      const anonymous = await app.inject({
        method: 'PUT',
        url: '/v1/objects/value',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json()).toMatchObject({ success: false, responseDetail: { status: 401 } });
      for (const path of ['/objects/value', '/objects/history']) {
        const refused = await call('PUT', path, body, app, reader);
        expect(refused.status).toBe(403);
        expect(refused.body.responseDetail.detail).toMatch(/lacks the "write" scope/);
      }
      expect(await current(ids.temperature)).toEqual(before);
      expect((await admin.query('select count(*)::int as n from i3x.update_audit')).rows[0].n).toBe(auditBefore);
    });
  });

  it("the API's login adds to the audit trail and cannot change it; it writes samples only through metrics.write_samples", async () => {
    const refused = [
      'update i3x.update_audit set new_value = null',
      'delete from i3x.update_audit',
      'truncate i3x.update_audit',
      'select * from i3x.update_audit',
      `insert into metrics.samples (ts, series_id, value) values (now(), 1, 1)`,
      'delete from metrics.samples',
      'update metrics.latest set value = 0',
    ];
    for (const sql of refused) {
      await expect(api.query(sql), sql).rejects.toThrow(/permission denied/);
    }
    // Not even the owner changes it: the trail is append-only.
    await expect(admin.query('delete from i3x.update_audit')).rejects.toThrow(/append-only/);
    await expect(admin.query(`update i3x.update_audit set principal_name = 'someone else'`)).rejects.toThrow(
      /append-only/,
    );
    // Readers (dashboards, SDK users) do not see who wrote what.
    await admin.query('create role audit_snoop login in role plantmesh_reader');
    const snoop = await admin.connect();
    try {
      await snoop.query('set role audit_snoop');
      await expect(snoop.query('select * from i3x.update_audit')).rejects.toThrow(/permission denied/);
    } finally {
      await snoop.query('reset role');
      snoop.release();
    }
  });
});
