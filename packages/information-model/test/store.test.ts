/** The information model in the curated store (migration curated/0006), on a real PostgreSQL. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { applyDefinition, loadDefinition, shippedDefinitions } from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curatedRowId,
  DATA_PRODUCTS_OBJECT,
  equipmentId,
  measurementTypeId,
  parseCuratedRowId,
  productObjectId,
  productTypeId,
  REL,
  seriesObjectId,
  TYPES,
} from '../src/index.js';
import {
  ElementIdConflictError,
  equipmentModel,
  loadStoredModel,
  storeModel,
  storeNodeSet,
  storePlatform,
  syncCuratedProducts,
  syncEquipment,
} from '../src/store/index.js';
import { DI, di, id, MACHINERY, nodesetXml, UA } from './nodesets.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });

describe('the information model in the curated store (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let client: pg.PoolClient;

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await admin.query<{ n: string }>(`select count(*) as n from (${sql}) x`, params)).rows[0]?.n);

  const edges = async (subject: string) =>
    (
      await admin.query<{ type_id: string; object_id: string }>(
        'select type_id, object_id from curated.model_edges where subject_id = $1 order by type_id, object_id',
        [subject],
      )
    ).rows.map((row) => `${row.type_id} ${row.object_id}`);

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    client = await admin.connect();
    await storePlatform(client);
  });

  afterAll(async () => {
    client?.release();
    await admin?.end();
    await server?.destroy();
  });

  it('registers the platform: one namespace, I3X relationship types each with a registered reverse, the equipment types', async () => {
    const types = await admin.query<{ element_id: string; reverse_of: string; composes: boolean }>(
      'select element_id, reverse_of, composes from curated.model_relationship_types order by element_id',
    );
    expect(types.rows.map((row) => row.element_id)).toEqual(
      expect.arrayContaining([REL.hasParent, REL.hasChildren, REL.hasComponent, REL.componentOf, REL.inheritsFrom]),
    );
    const byId = new Map(types.rows.map((row) => [row.element_id, row]));
    for (const row of types.rows) expect(byId.get(row.reverse_of)?.reverse_of).toBe(row.element_id);
    expect(byId.get(REL.hasComponent)?.composes).toBe(true);
    expect(byId.get(REL.hasChildren)?.composes).toBe(false);
    expect(
      await count('select from curated.model_object_types where element_id = any($1)', [Object.values(TYPES)]),
    ).toBe(Object.values(TYPES).length);
    // Storing it again changes nothing.
    const again = await storePlatform(client);
    expect(again.removed).toBe(0);
  });

  it('derives the ISA-95 hierarchy and one value-bearing object per series from metrics.series, incrementally', async () => {
    // As the writer registers series: path and unit, on first sight.
    await admin.query(
      `insert into metrics.series (path, unit) values
         ('plant1/caster/strand1/cell1/temperature', 'CEL'), ('plant1/caster/strand1/cell1/pressure', 'BAR'),
         ('plant1/caster/strand2/cell1/temperature', 'CEL'), ('plant1/caster/strand1/meter/energy', 'KWH')`,
    );
    const first = await syncEquipment(admin, client, { batch: 3 });
    expect(first.series).toBe(4);
    const cell = equipmentId('plant1/caster/strand1/cell1');
    const series = seriesObjectId('plant1/caster/strand1/cell1/temperature');
    const object = (await admin.query('select * from curated.model_objects where element_id = $1', [series])).rows[0];
    expect(object).toMatchObject({
      display_name: 'temperature',
      type_element_id: measurementTypeId('CEL'),
      parent_id: cell,
      component_of_parent: true,
      value_source: 'series',
      source: 'equipment',
    });
    const types = (
      await admin.query(
        'select type_element_id, parent_id, is_composition from curated.model_objects where element_id = any($1) order by element_id',
        [[equipmentId('plant1'), equipmentId('plant1/caster'), equipmentId('plant1/caster/strand1'), cell]],
      )
    ).rows;
    expect(types).toEqual([
      { type_element_id: TYPES.site, parent_id: null, is_composition: false },
      { type_element_id: TYPES.area, parent_id: equipmentId('plant1'), is_composition: false },
      { type_element_id: TYPES.line, parent_id: equipmentId('plant1/caster'), is_composition: false },
      { type_element_id: TYPES.cell, parent_id: equipmentId('plant1/caster/strand1'), is_composition: true },
    ]);
    // Both directions of the hierarchy and of the composition, from parent_id.
    expect(await edges(series)).toEqual([`${REL.componentOf} ${cell}`, `${REL.hasParent} ${cell}`]);
    expect(await edges(cell)).toEqual([
      `${REL.hasChildren} ${seriesObjectId('plant1/caster/strand1/cell1/pressure')}`,
      `${REL.hasChildren} ${series}`,
      `${REL.hasComponent} ${seriesObjectId('plant1/caster/strand1/cell1/pressure')}`,
      `${REL.hasComponent} ${series}`,
      `${REL.hasParent} ${equipmentId('plant1/caster/strand1')}`,
    ]);
    const measurement = (
      await admin.query('select schema, parent_type_id from curated.model_object_types where element_id = $1', [
        measurementTypeId('CEL'),
      ])
    ).rows[0];
    expect(measurement).toEqual({ schema: { type: 'number', 'x-unit': 'CEL' }, parent_type_id: TYPES.measurement });

    // A new series later: only it is read; the objects already there stay as they were.
    const before = await count('select from curated.model_objects');
    await admin.query(`insert into metrics.series (path, unit) values ('plant1/caster/strand1/cell2/speed', 'MTS')`);
    const second = await syncEquipment(admin, client);
    expect(second).toMatchObject({ series: 1 });
    expect(await count('select from curated.model_objects')).toBe(before + 2); // cell2 and its series
    expect((await syncEquipment(admin, client)).series).toBe(0);
  });

  it('keeps ElementIds unique across objects, types and relationship types, and refuses ids the guide does not allow', async () => {
    const model = equipmentModel([{ id: 999_999, path: 'x/y', unit: null }]);
    model.objects[0] = { ...(model.objects[0] as (typeof model.objects)[number]), elementId: TYPES.site };
    await expect(storeModel(client, model, 'test', { replace: false })).rejects.toBeInstanceOf(ElementIdConflictError);
    await expect(
      admin.query(`insert into curated.model_elements (element_id, kind) values (' padded', 'object')`),
    ).rejects.toThrow(/model_element_id_printable/);
    await expect(
      admin.query(
        `insert into curated.model_elements (element_id, kind) values ('plantmesh:curated:heats:H1', 'object')`,
      ),
    ).rejects.toThrow(/model_element_id_not_curated_row/);
    // Paths with white space or control characters give printable ElementIds.
    expect(seriesObjectId('a b/c\nd')).toBe('plantmesh:series:a%20b/c%0Ad');
  });

  it('names curated rows reversibly', () => {
    const rowId = curatedRowId('machine_states', ['caster/strand 1', '2026-11-29T20:00:00Z']);
    expect(rowId).toBe('plantmesh:curated:machine_states:caster%2Fstrand%201/2026-11-29T20:00:00Z');
    expect(parseCuratedRowId(rowId)).toEqual({
      product: 'machine_states',
      key: ['caster/strand 1', '2026-11-29T20:00:00Z'],
    });
    expect(parseCuratedRowId('plantmesh:curated:heats')).toBeUndefined();
    expect(parseCuratedRowId('plantmesh:curated:heats:%E0')).toBeUndefined();
  });

  it('stores the curated products: a type per row schema, the relationship types of the definitions, an object per product', async () => {
    for (const file of readdirSync(shippedDefinitions)) {
      await applyDefinition(client, loadDefinition(join(shippedDefinitions, file)));
    }
    const result = await syncCuratedProducts(client);
    expect(result.warnings).toEqual([]);
    const heats = (
      await admin.query('select schema, version, namespace_uri from curated.model_object_types where element_id = $1', [
        productTypeId('heats'),
      ])
    ).rows[0];
    expect(heats.version).toBe('1.0.0');
    expect(heats.schema).toMatchObject({ type: 'object', properties: { heat_id: { type: 'string' } } });
    expect(heats.schema.$schema).toBeUndefined();
    const cutFrom = (
      await admin.query('select reverse_of from curated.model_relationship_types where element_id = $1', ['CutFrom'])
    ).rows[0];
    expect(cutFrom).toEqual({ reverse_of: 'CutInto' });
    expect(await edges(productObjectId('plates'))).toEqual([`${REL.hasParent} ${DATA_PRODUCTS_OBJECT}`]);
    // Again: nothing changes, nothing is removed.
    expect((await syncCuratedProducts(client)).removed).toBe(0);
  });

  it('stores imported NodeSets as their models, building on those stored before, and a re-import replaces its own', async () => {
    const base = await storeNodeSet(client, nodesetXml('standard'));
    expect(base.modelUri).toBe(UA);
    const diResult = await storeNodeSet(client, nodesetXml('di'));
    expect(diResult.modelUri).toBe(DI);
    // The stored DI is the DI imported in memory (on the same base).
    const stored = await loadStoredModel(admin, `nodeset:${DI}`);
    const expected = di().model;
    expect(stored.objectTypes.map((type) => type.elementId)).toEqual(
      expected.objectTypes.filter((type) => type.namespaceUri === DI).map((type) => type.elementId),
    );
    const deviceType = stored.objectTypes.find((type) => type.elementId === id(DI, 1002));
    expect(deviceType).toEqual(expected.objectTypes.find((type) => type.elementId === id(DI, 1002)));
    expect(stored.objects.map((object) => object.elementId)).toEqual(
      expected.objects.map((object) => object.elementId),
    );
    // An edge to a base object is stored on both ends.
    const deviceSet = id(DI, 5001);
    const deviceSetEdges = await edges(deviceSet);
    expect(deviceSetEdges).toContain(`${REL.hasParent} ${id(UA, 85)}`);
    expect(await edges(id(UA, 85))).toContain(`${REL.hasChildren} ${deviceSet}`);
    // Re-import: the same rows, nothing removed; the base's edges to DI stay.
    const elements = await count('select from curated.model_elements');
    const relationships = await count('select from curated.model_relationships');
    const again = await storeNodeSet(client, nodesetXml('di'));
    expect(again.removed).toBe(0);
    expect(await count('select from curated.model_elements')).toBe(elements);
    expect(await count('select from curated.model_relationships')).toBe(relationships);
    // Machinery, after IA, imports on top of the stored ones.
    await storeNodeSet(client, nodesetXml('ia'));
    const machinery = await storeNodeSet(client, nodesetXml('machinery'));
    expect(machinery.modelUri).toBe(MACHINERY);
    expect(await edges(id(MACHINERY, 1001))).toContain(`${REL.hasParent} ${id(UA, 85)}`);
    // Every relationship type used by a stored edge is registered with its reverse.
    expect(
      await count(
        `select from curated.model_edges e left join curated.model_relationship_types t on t.element_id = e.type_id
         where t.element_id is null`,
      ),
    ).toBe(0);
  });

  it('lets plantmesh_reader read the model and plantmesh_model_writer write it, nothing else of the store', async () => {
    await admin.query(`create role model_test_reader login password 'reader-password-1'`);
    await admin.query('grant plantmesh_reader to model_test_reader');
    await admin.query(`create role model_test_writer login password 'writer-password-1'`);
    await admin.query('grant plantmesh_model_writer to model_test_writer');
    const url = (user: string, password: string) => {
      const parsed = new URL(server.url);
      parsed.username = user;
      parsed.password = password;
      return parsed.toString();
    };
    const reader = new pg.Client({ connectionString: url('model_test_reader', 'reader-password-1') });
    const writer = new pg.Client({ connectionString: url('model_test_writer', 'writer-password-1') });
    await reader.connect();
    await writer.connect();
    try {
      expect((await reader.query('select count(*) from curated.model_edges')).rows).toHaveLength(1);
      await expect(reader.query('delete from curated.model_objects')).rejects.toThrow(/permission denied/);
      await admin.query(`insert into metrics.series (path, unit) values ('plant2/a/b/c/d', 'CEL')`);
      expect((await syncEquipment(writer, writer)).series).toBe(1);
      await expect(writer.query(`insert into metrics.series (path) values ('x/y')`)).rejects.toThrow(
        /permission denied/,
      );
      await expect(writer.query('delete from curated.definitions')).rejects.toThrow(/permission denied/);
    } finally {
      await reader.end();
      await writer.end();
    }
  });
});
