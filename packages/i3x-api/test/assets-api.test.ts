/**
 * The example plant's asset-model file through the I3X API: samples stored by the writer's own SampleWriter,
 * the hierarchy of the topic paths made by the API's model sync, then `plantmesh import assets` of
 * packages/information-model/assets/plant1.yaml; the API serves the file's objects, types and relationships
 * through its model reader like any other. Every answer checked against the I3X 1.0 OpenAPI schemas.
 */
import { fileURLToPath } from 'node:url';
import { SampleWriter } from '@plantmesh/amqp-writer';
import { createLogger, type SampleGroup } from '@plantmesh/core';
import {
  ASSET_TYPES,
  assetObjectId,
  assetTypeId,
  DEFAULT_PLANT_NAMESPACE,
  equipmentId,
  REL,
  seriesObjectId,
  TYPES,
} from '@plantmesh/information-model';
import { importCommand } from '@plantmesh/information-model/store';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { buildSeries } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, buildServer, ModelSync, storePlatformOnce } from '../src/index.js';
import { insertKey } from './keys.js';
import { caller, expectVqtRules, OpenApiCheck } from './openapi-check.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const start = Date.parse('2026-11-30T06:00:00Z');
const example = fileURLToPath(new URL('../../information-model/assets/plant1.yaml', import.meta.url));

describe('the asset-model file through the I3X API', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let app: FastifyInstance;
  let apiKeys: ApiKeyStore;
  let key: string;
  // The simulated plant's 100 series, as `plantmesh up` publishes them.
  const series = buildSeries(100, 42);
  const call = caller(
    () => app,
    () => key,
    new OpenApiCheck(),
  );
  const lastValueOf = (topic: string) => {
    const index = series.findIndex((s) => s.topic === topic);
    expect(index).toBeGreaterThanOrEqual(0);
    return (series[index]?.base as number) + 9;
  };

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    const groups: SampleGroup[] = series.map((s) => ({
      topic: s.topic,
      unit: s.unit,
      receivedAt: start,
      samples: Array.from({ length: 10 }, (_, i): [number, number, number] => [start + i * 1_000, s.base + i, 0]),
    }));
    const writing = await admin.connect();
    try {
      await writing.query('begin');
      await new SampleWriter().write(writing, [groups]);
      await writing.query('commit');
    } finally {
      writing.release();
    }
    await storePlatformOnce(admin);
    const sync = { curated: admin, metrics: admin, plant: DEFAULT_PLANT_NAMESPACE, log, intervalMs: 1_000 };
    await new ModelSync(sync).round();
    const lines: string[] = [];
    const code = await importCommand(['assets', example], { DATABASE_URL: server.url }, (line) => lines.push(line));
    expect(code, lines.join('\n')).toBe(0);
    // A round of the sync after the import changes nothing of the file's.
    await new ModelSync(sync).round();

    apiKeys = new ApiKeyStore(admin, { log });
    apiKeys.start();
    key = await insertKey(admin, 'assets-test', ['read']);
    app = await buildServer({
      curated: admin,
      metrics: admin,
      log,
      version: '0.1.0',
      auth: { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await apiKeys?.close();
    await admin?.end();
    await server?.destroy();
  });

  it('serves the relationship types with their reverses, and the machine types with sourceTypeId and schemas', async () => {
    const types = (await call('GET', '/relationshiptypes')).body.result;
    const reverse = (id: string) => types.find((type: { elementId: string }) => type.elementId === id)?.reverseOf;
    expect(reverse('Monitors')).toBe('MonitoredBy');
    expect(reverse('MonitoredBy')).toBe('Monitors');
    expect(reverse('Feeds')).toBe('FedBy');
    expect(reverse('FedBy')).toBe('Feeds');

    const furnace = (
      await call('POST', '/objecttypes/query', {
        elementIds: [assetTypeId('ElectricArcFurnace'), ASSET_TYPES.workUnit],
      })
    ).body.results;
    expect(furnace[0].result).toMatchObject({
      elementId: assetTypeId('ElectricArcFurnace'),
      displayName: 'Electric arc furnace',
      namespaceUri: DEFAULT_PLANT_NAMESPACE.uri,
      sourceTypeId: 'ElectricArcFurnace',
      related: { relationshipType: REL.inheritsFrom, types: [ASSET_TYPES.workUnit] },
    });
    // Served with the supertype inlined: no allOf, the file's members there.
    expect(furnace[0].result.schema.allOf).toBeUndefined();
    expect(Object.keys(furnace[0].result.schema.properties)).toEqual(['ratedPowerMVA', 'tapToTapMinutes']);
    expect(furnace[1].result).toMatchObject({ displayName: 'WorkUnit', related: null });
  });

  it('serves the hierarchy with the file names and types, and the paths the file does not name', async () => {
    const roots = (await call('GET', '/objects?root=true')).body.result.map((o: { elementId: string }) => o.elementId);
    expect(roots).toContain(assetObjectId('acme-steel'));
    expect(roots).not.toContain(equipmentId('plant1'));
    const { body } = await call('POST', '/objects/list', {
      elementIds: [equipmentId('plant1'), equipmentId('plant1/meltshop'), equipmentId('plant1/caster/strand2/cell1')],
      includeMetadata: true,
    });
    const [site, meltshop, unnamed] = body.results.map((item: { result: unknown }) => item.result);
    expect(site).toMatchObject({
      displayName: 'Plant 1',
      typeElementId: TYPES.site,
      parentId: assetObjectId('acme-steel'),
      metadata: { description: 'Integrated plate mill with an EAF melt shop' },
    });
    expect(site.metadata.relationships[REL.hasParent]).toEqual([assetObjectId('acme-steel')]);
    expect(meltshop).toMatchObject({ displayName: 'Melt shop', typeElementId: TYPES.area });
    // A cell the file does not name: the topic path's name and type.
    expect(unnamed).toMatchObject({
      displayName: 'cell1',
      typeElementId: TYPES.cell,
      parentId: equipmentId('plant1/caster/strand2'),
    });
  });

  it('POST /objects/related with Monitors and MonitoredBy: series to machines and back', async () => {
    const vibration = seriesObjectId('plant1/meltshop/eaf1/cell1/vibration');
    const energy = seriesObjectId('plant1/meltshop/eaf1/meter/energy');
    const { status, body } = await call('POST', '/objects/related', {
      elementIds: [vibration, assetObjectId('eaf-1')],
      relationshipType: 'Monitors',
    });
    expect(status).toBe(200);
    const targets = (i: number) =>
      body.results[i].result.map((item: { sourceRelationship: string; object: { elementId: string } }) => {
        expect(item.sourceRelationship).toBe('Monitors');
        return item.object.elementId;
      });
    expect(targets(0)).toEqual([assetObjectId('eaf-1')]);
    expect(body.results[1].result).toEqual([]);
    const back = await call('POST', '/objects/related', {
      elementIds: [assetObjectId('eaf-1')],
      relationshipType: 'MonitoredBy',
      includeMetadata: true,
    });
    const monitors = back.body.results[0].result.map((item: { object: { elementId: string } }) => item.object);
    // (The energy meters are not among the simulated sensor series here: only the vibration is.)
    expect(monitors.map((o: { elementId: string }) => o.elementId)).toEqual([vibration]);
    expect(energy).not.toBe(vibration);
    expect(monitors[0].metadata.relationships.Monitors).toEqual([assetObjectId('eaf-1')]);
    // The material flow, both ways.
    const flow = await call('POST', '/objects/related', {
      elementIds: [equipmentId('plant1/meltshop/degasser1')],
    });
    const pairs = flow.body.results[0].result.map(
      (item: { sourceRelationship: string; object: { elementId: string } }) =>
        `${item.sourceRelationship} ${item.object.elementId}`,
    );
    expect(pairs).toEqual(
      expect.arrayContaining([
        `FedBy ${equipmentId('plant1/meltshop/ladle-furnace1')}`,
        `Feeds ${equipmentId('plant1/caster/strand1')}`,
        `Feeds ${equipmentId('plant1/caster/strand2')}`,
        `HasParent ${equipmentId('plant1/meltshop')}`,
      ]),
    );
  });

  it("composes a machine's value of its parts and theirs of their series through maxDepth", async () => {
    const eaf = assetObjectId('eaf-1');
    const flat = (await call('POST', '/objects/value', { elementIds: [eaf] })).body.results[0].result;
    expect(flat).toMatchObject({ isComposition: true, value: null, quality: 'GoodNoData' });
    expect(flat.components).toBeUndefined();

    const { status, body } = await call('POST', '/objects/value', { elementIds: [eaf], maxDepth: 3 });
    expect(status).toBe(200);
    const composed = body.results[0].result;
    expectVqtRules(composed);
    expect(Object.keys(composed.components).sort()).toEqual(
      [assetObjectId('eaf-1-shell'), assetObjectId('eaf-1-transformer')].sort(),
    );
    const transformer = composed.components[assetObjectId('eaf-1-transformer')];
    expect(transformer).toMatchObject({ value: null, quality: 'GoodNoData' });
    const current = transformer.components[seriesObjectId('plant1/meltshop/eaf1/cell1/current')];
    expect(current).toEqual({
      value: lastValueOf('plant1/meltshop/eaf1/cell1/current'),
      quality: 'Good',
      timestamp: new Date(start + 9_000).toISOString().replace('.000Z', 'Z'),
    });
    const shell = composed.components[assetObjectId('eaf-1-shell')];
    expect(Object.keys(shell.components).sort()).toEqual(
      [
        seriesObjectId('plant1/meltshop/eaf1/cell1/flow'),
        seriesObjectId('plant1/meltshop/eaf1/cell1/temperature'),
      ].sort(),
    );
    // Monitoring series are related, not components: not in the value.
    expect(JSON.stringify(composed)).not.toContain('vibration');

    // maxDepth 2 stops at the parts.
    const two = (await call('POST', '/objects/value', { elementIds: [eaf], maxDepth: 2 })).body.results[0].result;
    expect(two.components[assetObjectId('eaf-1-shell')].components).toBeUndefined();

    // The series under a part, with the file's name; its history as any series'.
    const listed = await call('POST', '/objects/list', {
      elementIds: [seriesObjectId('plant1/meltshop/eaf1/cell1/current')],
    });
    expect(listed.body.results[0].result).toMatchObject({
      displayName: 'Electrode current',
      parentId: assetObjectId('eaf-1-transformer'),
    });
    const history = await call('POST', '/objects/history', {
      elementIds: [seriesObjectId('plant1/meltshop/eaf1/cell1/current')],
      startTime: new Date(start).toISOString(),
      endTime: new Date(start + 60_000).toISOString(),
    });
    expect(history.status).toBe(200);
    expect(history.body.results[0].result.values).toHaveLength(10);
  });
});
