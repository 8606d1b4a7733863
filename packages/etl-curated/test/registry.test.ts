import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefinition, type CuratedDefinition, loadDefinition, rowSchema } from '../src/index.js';

const heats = loadDefinition(join(import.meta.dirname, '../definitions/heats.yaml'));
const variant = (change: (definition: CuratedDefinition) => void): CuratedDefinition => {
  const copy = structuredClone(heats);
  change(copy);
  return copy;
};

describe('the definition registry and the evolution of curated tables (real PostgreSQL)', () => {
  let server: PostgresServer;
  let client: pg.Client;
  const columns = async (table: string) =>
    (
      await client.query<{ column_name: string }>(
        `select column_name from information_schema.columns where table_schema = 'curated' and table_name = $1
         order by ordinal_position`,
        [table],
      )
    ).rows.map((row) => row.column_name);

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(
      storeUrls({ DATABASE_URL: server.url }, stores),
      createLogger({ service: 'test', version: '0', level: 'silent' }),
    );
    client = new pg.Client(server.url);
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await server?.destroy();
  });

  it('creates the table and registers the product with its lineage and row schema, once', async () => {
    expect(await applyDefinition(client, heats, 'heats.yaml')).toBe('created');
    expect(await applyDefinition(client, heats, 'heats.yaml')).toBe('unchanged');
    const { rows } = await client.query(
      'select product, version, table_name, source_topics, owner, row_schema from curated.definitions',
    );
    expect(rows).toEqual([
      {
        product: 'heats',
        version: '1.0.0',
        table_name: 'heats',
        source_topics: ['+/caster/+/events/heat.finished'],
        owner: 'caster-team@plant.local',
        row_schema: rowSchema(heats),
      },
    ]);
    expect(await columns('heats')).toContain('cast_weight');
  });

  it('adds a nullable column with a minor version, and refuses what would change curated rows', async () => {
    const withLadle = variant((d) => {
      d.product.version = '1.1.0';
      d.columns.push({ name: 'ladle_id', from: '/ladleId', type: 'text' });
    });
    expect(await applyDefinition(client, withLadle)).toBe('evolved');
    expect(await columns('heats')).toContain('ladle_id');

    const retyped = variant((d) => {
      d.product.version = '1.2.0';
      d.columns.push({ name: 'ladle_id', from: '/ladleId', type: 'text' });
      const weight = d.columns.find((c) => c.name === 'cast_weight');
      if (weight) weight.type = 'double precision';
      d.columns = d.columns.filter((c) => c.name !== 'yield');
    });
    await expect(applyDefinition(client, retyped)).rejects.toThrow(
      'definition heats: column "cast_weight" type changed from numeric to double precision; column "yield" removed; make it version 2.0.0 with a new table',
    );
    const sameVersion = variant((d) => {
      d.product.version = '1.1.0';
      d.product.description = 'changed';
    });
    await expect(applyDefinition(client, sameVersion)).rejects.toThrow(
      /the definition changed but its version 1.1.0 is not higher than the applied 1.1.0/,
    );
    expect(await columns('heats')).toContain('yield');
    expect((await client.query('select version from curated.definitions')).rows).toEqual([{ version: '1.1.0' }]);
  });

  it('takes an incompatible change as a new major version with a new table, keeping the old one', async () => {
    const v2 = variant((d) => {
      d.product.version = '2.0.0';
      d.table = 'heats_v2';
      d.columns = d.columns.filter((c) => c.name !== 'yield');
    });
    await expect(applyDefinition(client, { ...v2, table: 'heats' })).rejects.toThrow(
      /a new major version needs a new table/,
    );
    expect(await applyDefinition(client, v2)).toBe('created');
    expect(await columns('heats_v2')).not.toContain('yield');
    expect(await columns('heats')).toContain('yield');
    const { rows } = await client.query(
      'select version, table_name from curated.definition_versions order by applied_at',
    );
    expect(rows).toEqual([
      { version: '1.0.0', table_name: 'heats' },
      { version: '1.1.0', table_name: 'heats' },
      { version: '2.0.0', table_name: 'heats_v2' },
    ]);
  });

  it("derives a row schema that takes the table's rows and refuses wrong ones", () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    ajv.addKeyword('x-unit');
    const validate = ajv.compile(rowSchema(heats));
    const row = {
      heat_id: 'H07-000001',
      grade: 'S355J2',
      strand: null,
      slabs: 6,
      cast_weight: 162_400,
      duration: 52.5,
      yield: 97.1,
      finished_at: '2026-11-30T10:00:00.000Z',
    };
    expect(validate(row), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...row, cast_weight: '162 t' })).toBe(false);
    expect(validate({ ...row, heat_id: undefined })).toBe(false);
    expect(rowSchema(heats).properties).toMatchObject({ cast_weight: { type: ['number', 'null'], 'x-unit': 'KGM' } });
  });
});
