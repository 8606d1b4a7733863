/**
 * The I3X read API over real stores: PostgreSQL migrated, samples written by the writer's own SampleWriter,
 * raw events curated by the curated ETL, OPC UA DI imported; every answer checked against the I3X 1.0
 * OpenAPI schemas (ajv, 2020-12) and the guide's rules (envelopes, bulk order, quality and nulls, UTC).
 */
import { readdirSync, readFileSync } from 'node:fs';
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
import {
  curatedRowId,
  DATA_PRODUCTS_OBJECT,
  equipmentId,
  measurementTypeId,
  PLATFORM_NAMESPACE,
  productObjectId,
  productTypeId,
  REL,
  seriesObjectId,
  TYPES,
} from '@plantmesh/information-model';
import { storeModel, storeNodeSet } from '@plantmesh/information-model/store';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { buildSeries, EventGenerator, type PlantEvent } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { nodesets } from 'node-opcua-nodesets';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, buildServer, storePlatformOnce } from '../src/index.js';
import { insertKey } from './keys.js';
import { syncModel } from './model-store.js';
import { caller, expectVqtRules, OpenApiCheck } from './openapi-check.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const start = Date.parse('2026-11-29T20:00:00Z');
const MINUTES = 60;
const DEEP = 30;

describe('I3X read API over the real stores', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let app: FastifyInstance;
  let small: FastifyInstance;
  let apiKeys: ApiKeyStore;
  let key: string;
  const check = new OpenApiCheck();
  const events: PlantEvent[] = [];
  const series = buildSeries(24, 42);

  /** A request as a client sends it; the answer checked against the OpenAPI and the envelope rules. */
  const call = caller(
    () => app,
    () => key,
    check,
  );

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 6 });
    admin.on('error', () => {});

    // Curated data the way the platform makes it: raw events, curated by the ETL's own batches.
    const client = await admin.connect();
    try {
      for (const file of readdirSync(shippedDefinitions)) {
        await applyDefinition(client, loadDefinition(join(shippedDefinitions, file)));
      }
    } finally {
      client.release();
    }
    const generator = new EventGenerator(42);
    for (let minute = 0; minute < 600; minute += 1) events.push(generator.next(start + minute * 60_000));
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
    const products = new ProductCache();
    for (const name of ['heats', 'slabs', 'plates', 'quench_results', 'machine_states']) {
      while ((await curateBatch(curated, products, name, 500)).more);
    }
    await curated.raw.close();
    await curated.curated.close();

    // Samples the way the writer stores them: series on first sight, samples, the last value.
    const writer = new SampleWriter();
    const groups: SampleGroup[] = series.map((s, i) => ({
      topic: s.topic,
      unit: s.unit,
      receivedAt: start,
      samples: Array.from({ length: MINUTES }, (_, minute): [number, number, number] => [
        start + minute * 60_000 + 123,
        s.base + minute,
        // The last sample of series 1 is uncertain, of series 2 bad.
        minute === MINUTES - 1 && i === 1 ? 1 : minute === MINUTES - 1 && i === 2 ? 2 : 0,
      ]),
    }));
    const writing = await admin.connect();
    try {
      await writing.query('begin');
      await writer.write(writing, [groups]);
      await writing.query('commit');
    } finally {
      writing.release();
    }
    // A series seen but without a value yet.
    await admin.query(`insert into metrics.series (path, unit) values ('plant1/caster/strand1/cell9/silent', 'CEL')`);

    // The model: the platform, the equipment of the series, the curated products, OPC UA base and DI.
    await storePlatformOnce(admin);
    await syncModel(admin);
    const importing = await admin.connect();
    try {
      await storeNodeSet(importing, readFileSync(nodesets.standard, 'utf8'));
      await storeNodeSet(importing, readFileSync(nodesets.di, 'utf8'));
      // A composition DEEP levels deep, each level composed of the next (a machine of parts of parts ...).
      await storeModel(
        importing,
        {
          namespaces: [],
          objectTypes: [],
          relationshipTypes: [],
          dataTypes: [],
          objects: Array.from({ length: DEEP }, (_, level) => ({
            elementId: `test:deep:${level}`,
            displayName: `part ${level}`,
            namespaceUri: PLATFORM_NAMESPACE.uri,
            typeElementId: 'UnknownType',
            ...(level === 0 ? {} : { parentId: `test:deep:${level - 1}`, componentOfParent: true }),
            isComposition: false,
            relationships: [],
            source: { nodeClass: 'Object' as const, browseName: `part${level}` },
          })),
        },
        'test',
      );
    } finally {
      importing.release();
    }
    apiKeys = new ApiKeyStore(admin, { log });
    apiKeys.start();
    key = await insertKey(admin, 'api-test', ['read']);
    const auth = { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } };
    app = await buildServer({ curated: admin, metrics: admin, log, version: '0.1.0', serverName: 'test', auth });
    small = await buildServer({
      curated: admin,
      metrics: admin,
      log,
      version: '0.1.0',
      auth,
      limits: { maxBulkItems: 5, maxObjects: 10, maxHistoryValues: 10, maxCompositionDepth: 5, maxBodyBytes: 4_096 },
    });
  });

  afterAll(async () => {
    await app?.close();
    await small?.close();
    await apiKeys?.close();
    await admin?.end();
    await server?.destroy();
  });

  describe('exploratory methods', () => {
    it('GET /info answers the spec version and capabilities', async () => {
      const { status, body } = await call('GET', '/info');
      expect(status).toBe(200);
      expect(body.result).toEqual({
        specVersion: '1.0',
        serverVersion: '0.1.0',
        serverName: 'test',
        capabilities: {
          query: { history: true },
          update: { current: false, history: false },
          subscribe: { stream: false },
        },
      });
    });

    it('GET /namespaces lists the platform, the plant and the imported models, each URI once', async () => {
      const { body } = await call('GET', '/namespaces');
      const uris = body.result.map((namespace: { uri: string }) => namespace.uri);
      expect(uris).toEqual(
        expect.arrayContaining([
          PLATFORM_NAMESPACE.uri,
          'https://plant.example/ns',
          'http://opcfoundation.org/UA/',
          'http://opcfoundation.org/UA/DI/',
        ]),
      );
      expect(new Set(uris).size).toBe(uris.length);
    });

    it('GET /objecttypes serves JSON Schemas with the supertypes inlined, filtered by namespace', async () => {
      const all = (await call('GET', '/objecttypes')).body.result;
      expect(all.length).toBeGreaterThan(100);
      const di = (
        await call('GET', `/objecttypes?namespaceUri=${encodeURIComponent('http://opcfoundation.org/UA/DI/')}`)
      ).body.result;
      expect(di.length).toBeGreaterThan(10);
      expect(
        di.every((type: { namespaceUri: string }) => type.namespaceUri === 'http://opcfoundation.org/UA/DI/'),
      ).toBe(true);
      // DeviceType inherits from ComponentType: served whole, with InheritsFrom.
      const device = di.find((type: { sourceTypeId: string }) => type.sourceTypeId === 'i=1002');
      expect(device.related).toEqual({
        relationshipType: 'InheritsFrom',
        types: ['nsu=http://opcfoundation.org/UA/DI/;i=15063'],
      });
      expect(device.schema.allOf).toBeUndefined();
      expect(Object.keys(device.schema.properties)).toEqual(expect.arrayContaining(['SerialNumber', 'Manufacturer']));
      // A product's type is its row schema; a sensor's a number in its unit.
      const heats = all.find((type: { elementId: string }) => type.elementId === productTypeId('heats'));
      expect(heats).toMatchObject({
        namespaceUri: 'https://plant.example/ns',
        sourceTypeId: 'heats',
        version: '1.0.0',
      });
      expect(heats.schema.required).toEqual(expect.arrayContaining(['heat_id', 'grade', 'finished_at']));
      const celsius = all.find((type: { elementId: string }) => type.elementId === measurementTypeId('CEL'));
      expect(celsius.schema).toMatchObject({ type: 'number', 'x-unit': 'CEL' });
      // Unknown namespace: nothing.
      expect((await call('GET', '/objecttypes?namespaceUri=urn:none')).body.result).toEqual([]);
    });

    it('POST /objecttypes/query answers in request order, unknown ids as per-item 404', async () => {
      const ids = [TYPES.cell, 'no-such-type', productTypeId('plates'), TYPES.cell];
      const { status, body } = await call('POST', '/objecttypes/query', { elementIds: ids });
      expect(status).toBe(200);
      expect(body.success).toBe(false);
      expect(body.results.map((item: { elementId: string }) => item.elementId)).toEqual(ids);
      expect(body.results.map((item: { success: boolean }) => item.success)).toEqual([true, false, true, true]);
      expect(body.results[1].responseDetail).toEqual({
        title: 'Not Found',
        status: 404,
        detail: 'Object type not found: no-such-type',
      });
    });

    it('GET /relationshiptypes: every type has its reverse registered, the reverse of the reverse is itself', async () => {
      const types = (await call('GET', '/relationshiptypes')).body.result as Array<{
        elementId: string;
        reverseOf: string;
      }>;
      const byId = new Map(types.map((type) => [type.elementId, type]));
      for (const type of types) expect(byId.get(type.reverseOf)?.reverseOf, type.elementId).toBe(type.elementId);
      for (const id of [REL.hasParent, REL.hasChildren, REL.hasComponent, REL.componentOf, 'CutFrom', 'CutInto']) {
        expect(byId.has(id), id).toBe(true);
      }
      const query = await call('POST', '/relationshiptypes/query', { elementIds: ['CutFrom', 'nope'] });
      expect(query.body.results[0].result).toMatchObject({ elementId: 'CutFrom', reverseOf: 'CutInto' });
      expect(query.body.results[1].responseDetail.status).toBe(404);
    });

    it('GET /objects?root=true gives the roots to browse from; GET /objects lists objects and filters by type', async () => {
      const roots = (await call('GET', '/objects?root=true')).body.result;
      const rootIds = roots.map((object: { elementId: string }) => object.elementId);
      expect(rootIds).toEqual(expect.arrayContaining([equipmentId('plant1'), DATA_PRODUCTS_OBJECT]));
      expect(roots.every((object: { parentId: unknown }) => object.parentId === null)).toBe(true);
      const cells = (await call('GET', `/objects?typeElementId=${encodeURIComponent(TYPES.cell)}`)).body.result;
      expect(cells.length).toBeGreaterThan(5);
      expect(cells.every((object: { typeElementId: string }) => object.typeElementId === TYPES.cell)).toBe(true);
      const heats = (await call('GET', `/objects?typeElementId=${encodeURIComponent(productTypeId('heats'))}`)).body
        .result;
      expect(heats.length).toBeGreaterThan(3);
      expect(heats[0].parentId).toBe(productObjectId('heats'));
      const everything = await call('GET', '/objects?includeMetadata=true');
      expect(everything.status).toBe(200);
      const ids = everything.body.result.map((object: { elementId: string }) => object.elementId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(
        expect.arrayContaining([...heats.map((h: { elementId: string }) => h.elementId), equipmentId('plant1')]),
      );
    });

    it('POST /objects/list: a sensor series with its metadata (type namespace, relationships both ways, unit)', async () => {
      const [first] = series;
      const id = seriesObjectId(first?.topic as string);
      const cell = equipmentId((first as { topic: string }).topic.split('/').slice(0, 4).join('/'));
      const { body } = await call('POST', '/objects/list', { elementIds: [id, cell, 'nope'], includeMetadata: true });
      expect(body.success).toBe(false);
      const [sensor, parent, missing] = body.results;
      expect(sensor.result).toMatchObject({
        elementId: id,
        displayName: 'temperature',
        typeElementId: measurementTypeId('CEL'),
        parentId: cell,
        isComposition: false,
        isExtended: false,
        metadata: {
          typeNamespaceUri: PLATFORM_NAMESPACE.uri,
          relationships: { [REL.hasParent]: [cell], [REL.componentOf]: [cell] },
          system: { seriesPath: first?.topic, unit: 'CEL' },
        },
      });
      expect(parent.result.isComposition).toBe(true);
      expect(parent.result.metadata.relationships[REL.hasChildren]).toContain(id);
      expect(parent.result.metadata.relationships[REL.hasComponent]).toContain(id);
      expect(missing).toEqual({
        success: false,
        elementId: 'nope',
        responseDetail: { title: 'Not Found', status: 404, detail: 'Element not found: nope' },
      });
    });

    it('POST /objects/related: hierarchy and graph relationships of curated rows, both directions, with a type filter', async () => {
      const plate = (
        await admin.query<{ plate_id: string; slab_id: string }>(
          'select plate_id, slab_id from curated.plates order by plate_id limit 1',
        )
      ).rows[0] as { plate_id: string; slab_id: string };
      const plateId = curatedRowId('plates', [plate.plate_id]);
      const slabId = curatedRowId('slabs', [plate.slab_id]);
      const { body } = await call('POST', '/objects/related', { elementIds: [plateId, slabId, 'nope'] });
      const [forPlate, forSlab, missing] = body.results;
      const pairs = (items: Array<{ sourceRelationship: string; object: { elementId: string } }>) =>
        items.map((item) => `${item.sourceRelationship} ${item.object.elementId}`);
      expect(pairs(forPlate.result)).toEqual(
        expect.arrayContaining([`${REL.hasParent} ${productObjectId('plates')}`, `CutFrom ${slabId}`]),
      );
      expect(pairs(forSlab.result)).toContain(`CutInto ${plateId}`);
      expect(missing.responseDetail.status).toBe(404);
      // Only one relationship type.
      const filtered = await call('POST', '/objects/related', { elementIds: [slabId], relationshipType: 'CutInto' });
      expect(
        filtered.body.results[0].result.every(
          (item: { sourceRelationship: string }) => item.sourceRelationship === 'CutInto',
        ),
      ).toBe(true);
      const unknown = await call('POST', '/objects/related', { elementIds: [slabId], relationshipType: 'NoSuchType' });
      expect(unknown.status).toBe(404);
      // Stored objects: the hierarchy is synthesized both ways, so a pure graph walk reaches everything.
      const site = await call('POST', '/objects/related', {
        elementIds: [equipmentId('plant1')],
        relationshipType: REL.hasChildren,
      });
      expect(
        site.body.results[0].result.map((item: { object: { elementId: string } }) => item.object.elementId),
      ).toContain(equipmentId('plant1/caster'));
    });
  });

  describe('query methods', () => {
    it('POST /objects/value: last values of series with the quality the writer stored, UTC timestamps, GoodNoData without one', async () => {
      const ids = [0, 1, 2].map((i) => seriesObjectId(series[i]?.topic as string));
      const silent = seriesObjectId('plant1/caster/strand1/cell9/silent');
      const { status, body } = await call('POST', '/objects/value', { elementIds: [...ids, silent, 'nope'] });
      expect(status).toBe(200);
      const [good, uncertain, bad, none, missing] = body.results;
      const lastTs = new Date(start + (MINUTES - 1) * 60_000 + 123).toISOString();
      expect(good.result).toEqual({
        isComposition: false,
        value: (series[0]?.base as number) + MINUTES - 1,
        quality: 'Good',
        timestamp: lastTs,
      });
      expect(uncertain.result).toMatchObject({
        value: (series[1]?.base as number) + MINUTES - 1,
        quality: 'Uncertain',
      });
      expect(bad.result).toEqual({ isComposition: false, value: null, quality: 'Bad', timestamp: lastTs });
      expect(none.result).toMatchObject({ value: null, quality: 'GoodNoData' });
      expect(missing.responseDetail.status).toBe(404);
      for (const item of body.results.filter((r: { success: boolean }) => r.success)) expectVqtRules(item.result);
    });

    it('composes a cell of its sensors through maxDepth, never its HasChildren-only descendants', async () => {
      const cell = equipmentId((series[0] as { topic: string }).topic.split('/').slice(0, 4).join('/'));
      const line = equipmentId((series[0] as { topic: string }).topic.split('/').slice(0, 3).join('/'));
      const flat = (await call('POST', '/objects/value', { elementIds: [cell] })).body.results[0].result;
      expect(flat).toMatchObject({ isComposition: true, value: null, quality: 'GoodNoData' });
      expect(flat.components).toBeUndefined();
      const composed = (await call('POST', '/objects/value', { elementIds: [cell, line], maxDepth: 2 })).body.results;
      const components = composed[0].result.components;
      expect(Object.keys(components)).toContain(seriesObjectId(series[0]?.topic as string));
      expect(components[seriesObjectId(series[0]?.topic as string)]).toMatchObject({ quality: 'Good' });
      expectVqtRules(composed[0].result);
      // The line organizes cells (HasChildren): no components.
      expect(composed[1].result.components).toBeUndefined();
    });

    it('maxDepth 0 on a deep composition stops at the server limit with 206 and says so; within the limit 200', async () => {
      const deep = await call('POST', '/objects/value', { elementIds: ['test:deep:0'], maxDepth: 0 }, small);
      expect(deep.status).toBe(206);
      expect(deep.body.responseDetail.detail).toMatch(/MAX_COMPOSITION_DEPTH/);
      let level = deep.body.results[0].result;
      let depth = 0;
      while (level.components) {
        level = Object.values(level.components)[0];
        depth += 1;
      }
      expect(depth).toBe(5);
      const within = await call('POST', '/objects/value', { elementIds: ['test:deep:25'], maxDepth: 0 }, small);
      expect(within.status).toBe(200);
      const three = await call('POST', '/objects/value', { elementIds: ['test:deep:0'], maxDepth: 3 });
      expect(three.status).toBe(200);
      expect(Object.keys(three.body.results[0].result.components)).toEqual(['test:deep:1']);
      expect(Object.keys(three.body.results[0].result.components['test:deep:1'].components)).toEqual(['test:deep:2']);
      expect(
        three.body.results[0].result.components['test:deep:1'].components['test:deep:2'].components,
      ).toBeUndefined();
    });

    it('serves a curated row as an object whose value conforms to its type schema, stamped with its event time', async () => {
      const heat = (
        await admin.query<{ heat_id: string; finished_at: Date }>(
          'select heat_id, finished_at from curated.heats order by heat_id limit 1',
        )
      ).rows[0] as {
        heat_id: string;
        finished_at: Date;
      };
      const id = curatedRowId('heats', [heat.heat_id]);
      const value = (await call('POST', '/objects/value', { elementIds: [id] })).body.results[0].result;
      expect(value).toMatchObject({ isComposition: false, quality: 'Good', value: { heat_id: heat.heat_id } });
      expect(Date.parse(value.timestamp)).toBe(heat.finished_at.getTime());
      const type = (await call('POST', '/objecttypes/query', { elementIds: [productTypeId('heats')] })).body.results[0]
        .result;
      const ajv = new Ajv2020({ strict: false });
      addFormats.default(ajv);
      const conforms = ajv.compile(type.schema);
      expect(conforms(value.value), JSON.stringify(conforms.errors)).toBe(true);
      // A key that does not exist, a product that does not: 404.
      const missing = await call('POST', '/objects/value', {
        elementIds: [curatedRowId('heats', ['H99-999999']), 'plantmesh:curated:nope:1'],
      });
      expect(missing.body.results.map((item: { success: boolean }) => item.success)).toEqual([false, false]);
    });

    it('POST /objects/history: samples in the range in time order; an empty range is one GoodNoData value', async () => {
      const id = seriesObjectId(series[0]?.topic as string);
      const from = new Date(start + 10 * 60_000).toISOString();
      const to = new Date(start + 19 * 60_000 + 500).toISOString();
      const { body } = await call('POST', '/objects/history', {
        elementIds: [id, 'nope'],
        startTime: from,
        endTime: to,
      });
      const values = body.results[0].result.values;
      expect(values).toHaveLength(10);
      expect(values[0]).toEqual({
        value: (series[0]?.base as number) + 10,
        quality: 'Good',
        timestamp: new Date(start + 10 * 60_000 + 123).toISOString(),
      });
      for (const vqt of values) expectVqtRules(vqt);
      expect(values.map((v: { timestamp: string }) => v.timestamp)).toEqual(
        [...values.map((v: { timestamp: string }) => v.timestamp)].sort(),
      );
      expect(body.results[1].responseDetail.status).toBe(404);
      // Offsets are accepted on input; answers are UTC.
      const offset = await call('POST', '/objects/history', {
        elementIds: [id],
        startTime: '2026-11-29T21:10:00+01:00',
        endTime: '2026-11-29T21:10:59+01:00',
      });
      expect(offset.body.results[0].result.values).toEqual([
        expect.objectContaining({ timestamp: new Date(start + 10 * 60_000 + 123).toISOString() }),
      ]);
      const empty = await call('POST', '/objects/history', {
        elementIds: [id],
        startTime: '2020-01-01T00:00:00Z',
        endTime: '2020-01-02T00:00:00Z',
      });
      expect(empty.body.results[0].result.values).toEqual([
        { value: null, quality: 'GoodNoData', timestamp: '2020-01-01T00:00:00Z' },
      ]);
    });

    it('history beyond the server limit answers 206 with the earliest values', async () => {
      const id = seriesObjectId(series[0]?.topic as string);
      const { status, body } = await call(
        'POST',
        '/objects/history',
        { elementIds: [id], startTime: '2026-11-29T00:00:00Z', endTime: '2026-11-30T00:00:00Z' },
        small,
      );
      expect(status).toBe(206);
      expect(body.results[0].result.values).toHaveLength(10);
      expect(body.responseDetail.detail).toMatch(/MAX_HISTORY_VALUES/);
    });
  });

  describe('hostile input gets the guide status and envelope, never a 500', () => {
    const cases: Array<[string, 'GET' | 'POST', string, unknown, number]> = [
      [
        'reversed time range',
        'POST',
        '/objects/history',
        { elementIds: ['x'], startTime: '2026-11-30T00:00:00Z', endTime: '2026-11-29T00:00:00Z' },
        400,
      ],
      [
        'a date that does not exist',
        'POST',
        '/objects/history',
        { elementIds: ['x'], startTime: '2026-02-30T00:00:00Z', endTime: '2026-03-01T00:00:00Z' },
        400,
      ],
      [
        'not a timestamp',
        'POST',
        '/objects/history',
        { elementIds: ['x'], startTime: 'yesterday', endTime: '2026-03-01T00:00:00Z' },
        400,
      ],
      ['a missing endTime', 'POST', '/objects/history', { elementIds: ['x'], startTime: '2026-03-01T00:00:00Z' }, 400],
      ['maxDepth below 0', 'POST', '/objects/value', { elementIds: ['x'], maxDepth: -1 }, 400],
      ['maxDepth not an integer', 'POST', '/objects/value', { elementIds: ['x'], maxDepth: 1.5 }, 400],
      ['maxDepth as text', 'POST', '/objects/value', { elementIds: ['x'], maxDepth: '2' }, 400],
      ['elementIds missing', 'POST', '/objects/list', {}, 400],
      ['elementIds not an array', 'POST', '/objects/value', { elementIds: 'x' }, 400],
      ['an elementId not a string', 'POST', '/objecttypes/query', { elementIds: [1] }, 400],
      ['a body that is an array', 'POST', '/objects/list', [], 400],
      ['invalid JSON', 'POST', '/objects/list', '{"elementIds": [', 400],
      ['a bad includeMetadata', 'GET', '/objects?includeMetadata=maybe', undefined, 400],
      ['root given twice', 'GET', '/objects?root=true&root=false', undefined, 400],
      ['an unknown endpoint', 'GET', '/nothing', undefined, 404],
    ];
    for (const [what, method, path, body, status] of cases) {
      it(`${what}: ${status}`, async () => {
        const answer = await call(method, path, body, small);
        expect(answer.status).toBe(status);
      });
    }

    it('a bulk list above the limit is refused whole with 400 (the answer must be as long as the request)', async () => {
      const answer = await call(
        'POST',
        '/objects/value',
        { elementIds: Array.from({ length: 6 }, (_, i) => `x${i}`) },
        small,
      );
      expect(answer.status).toBe(400);
      expect(answer.body.responseDetail.detail).toMatch(/MAX_BULK_ITEMS/);
    });

    it('an oversize body is refused with 413 and the envelope; a wrong content type with 415', async () => {
      const huge = await call('POST', '/objects/value', { elementIds: ['x'.repeat(5_000)] }, small);
      expect(huge.status).toBe(413);
      const text = await small.inject({
        method: 'POST',
        url: '/v1/objects/value',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${key}` },
        payload: 'x',
      });
      expect(text.statusCode).toBe(415);
      expect(text.json()).toMatchObject({ success: false, responseDetail: { status: 415 } });
    });

    it('unknown and hostile ids are per-item 404s, never errors', async () => {
      const ids = [
        '',
        ' ',
        'plantmesh:curated:heats:%',
        'plantmesh:curated:machine_states:a/not-a-time',
        "'; drop table curated.heats; --",
        'x'.repeat(1_500),
      ];
      for (const path of [
        '/objects/list',
        '/objects/value',
        '/objects/related',
        '/objecttypes/query',
        '/relationshiptypes/query',
      ]) {
        const answer = await call('POST', path, { elementIds: ids });
        expect(answer.status, path).toBe(200);
        expect(answer.body.results.map((item: { success: boolean }) => item.success)).toEqual(ids.map(() => false));
      }
    });

    it('answers gzip when the client accepts it, plain otherwise', async () => {
      const { gunzipSync } = await import('node:zlib');
      const zipped = await app.inject({
        method: 'GET',
        url: '/v1/namespaces',
        headers: { 'accept-encoding': 'gzip, deflate', authorization: `Bearer ${key}` },
      });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8')).success).toBe(true);
      const refused = await app.inject({
        method: 'GET',
        url: '/v1/namespaces',
        headers: { 'accept-encoding': 'gzip;q=0', authorization: `Bearer ${key}` },
      });
      expect(refused.headers['content-encoding']).toBeUndefined();
      const error = await app.inject({
        method: 'GET',
        url: '/v1/nothing',
        headers: { 'accept-encoding': 'gzip', authorization: `Bearer ${key}` },
      });
      expect(error.statusCode).toBe(404);
      expect(JSON.parse(gunzipSync(error.rawPayload).toString('utf8')).success).toBe(false);
    });

    it('a listing beyond the server limit is a 206 with what fits', async () => {
      const answer = await call('GET', '/objects', undefined, small);
      expect(answer.status).toBe(206);
      expect(answer.body.result).toHaveLength(10);
    });
  });
});
