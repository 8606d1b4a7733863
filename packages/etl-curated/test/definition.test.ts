import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { EventGenerator } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, loadDefinition, parseDefinition, tableDdl, unitConversion } from '../src/index.js';

const shipped = join(import.meta.dirname, '../definitions');
const files = readdirSync(shipped).filter((file) => file.endsWith('.yaml'));

/** The problems a definition text has, as `line:column: message` (the file name is the test's). */
function problems(text: string): string[] {
  try {
    parseDefinition(text, 'test.yaml');
    return [];
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    return error.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }
}

const valid = readFileSync(join(shipped, 'slabs.yaml'), 'utf8');
const lineOf = (needle: string) => valid.split('\n').findIndex((line) => line.includes(needle)) + 1;

describe('curated definitions', () => {
  it('ships a definition for every event type of the simulated plant and for model results, each valid', () => {
    expect(files.sort()).toEqual([
      'heats.yaml',
      'machine-states.yaml',
      'model-results.yaml',
      'plates.yaml',
      'quench-results.yaml',
      'slabs.yaml',
    ]);
    for (const file of files) {
      const definition = loadDefinition(join(shipped, file));
      expect(definition.key.length, file).toBeGreaterThan(0);
    }
  });

  it("takes every event the simulated plant publishes: each payload satisfies its definition's schema", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const definitions = files.map((file) => loadDefinition(join(shipped, file)));
    const byType = new Map(
      definitions.map((definition) => {
        const [topic] = definition.source.topics;
        return [topic?.split('/').at(-1), ajv.compile(definition.payloadSchema)];
      }),
    );
    const generator = new EventGenerator(11);
    const seen = new Set<string>();
    for (let index = 0; index < 2_000; index += 1) {
      const event = generator.next(Date.parse('2026-11-30T10:00:00Z') + index * 1_000);
      const validate = byType.get(event.payload.type);
      if (!validate) continue;
      seen.add(event.payload.type);
      expect(validate(event.payload), `${event.payload.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect([...seen].sort()).toEqual([
      'heat.finished',
      'machine.state',
      'plate.ready_for_quenching',
      'quench.result',
      'slab.cut',
    ]);
  });

  it('names the file, line, column and problem of each mistake', () => {
    const swap = (from: string, to: string) => {
      expect(valid, from).toContain(from);
      return valid.replace(from, to);
    };
    expect(problems(swap('type: timestamptz', 'type: datetime'))[0]).toBe(
      `${lineOf('type: timestamptz')}:${(valid.split('\n')[lineOf('type: timestamptz') - 1]?.indexOf('timestamptz') ?? 0) + 1}: /columns/7/type: must be one of "text", "integer", "bigint", "numeric", "double precision", "boolean", "timestamptz", "date", "jsonb"`,
    );
    expect(problems(swap('unit: CEL', 'unit: DGC'))).toEqual([
      expect.stringMatching(
        new RegExp(`^${lineOf('unit: CEL')}:\\d+: "DGC" is not a UNECE Rec. 20 code the platform knows$`),
      ),
    ]);
    expect(problems(swap('sourceUnit: TNE', 'sourceUnit: SEC'))).toEqual([
      expect.stringMatching(/^\d+:\d+: SEC \(time\) cannot be converted to KGM \(mass\)$/),
    ]);
    expect(problems(swap('key: [slab_id]', 'key: [slab]'))).toEqual([
      `${lineOf('key: [slab_id]')}:7: key column "slab" is not among the columns`,
    ]);
    expect(problems(swap('eventTime: cut_at', 'eventTime: heat_id'))).toEqual([
      `${lineOf('eventTime: cut_at')}:12: event-time column "heat_id" must be timestamptz (it is text)`,
    ]);
    expect(problems(swap('key: [slab_id]\n', ''))).toEqual([expect.stringMatching(/^\d+:\d+: \/: "key" is required$/)]);
    expect(problems(swap('payloadSchema:\n  type: object', 'payloadSchema:\n  type: thing'))).toEqual([
      expect.stringMatching(/^\d+:\d+: the payload schema is not a valid JSON Schema: /),
    ]);
    expect(problems(swap('table: slabs', 'table: slabs\nowner: me'))).toEqual([
      `${lineOf('apiVersion')}:1: /: "owner" is not a known field`,
    ]);
    expect(problems(swap('product:\n', 'product: [\n'))[0]).toMatch(/^\d+:\d+: YAML: /);
    // Several at once, each named.
    expect(problems(swap('key: [slab_id]', 'key: [slab]').replace('unit: CEL', 'unit: DGC'))).toHaveLength(2);
  });

  it('converts units between codes of one quantity and refuses others', () => {
    expect(unitConversion('TNE', 'KGM')(1.5)).toBe(1500);
    expect(unitConversion('MMT', 'MTR')(12_000)).toBe(12);
    expect(unitConversion('CEL', 'KEL')(20)).toBeCloseTo(293.15, 10);
    expect(unitConversion('FAH', 'CEL')(212)).toBeCloseTo(100, 10);
    expect(unitConversion('MQH', 'MQS')(3600)).toBeCloseTo(1, 12);
    expect(() => unitConversion('KGM', 'MTR')).toThrow(/cannot convert KGM to MTR/);
  });
});

describe('curated tables derived from definitions (real PostgreSQL)', () => {
  let server: PostgresServer;
  let client: pg.Client;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    const silent = createLogger({ service: 'test', version: '0', level: 'silent' });
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), silent);
    client = new pg.Client(server.url);
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await server?.destroy();
  });

  it('creates each shipped table with its typed columns, natural key and provenance', async () => {
    for (const file of files) {
      const definition = loadDefinition(join(shipped, file));
      await client.query(tableDdl(definition));
      const { rows } = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
        `select column_name, data_type, is_nullable from information_schema.columns
         where table_schema = 'curated' and table_name = $1 order by ordinal_position`,
        [definition.table],
      );
      expect(rows.map((row) => row.column_name)).toEqual([
        ...definition.columns.map((column) => column.name),
        '_event_seq',
        '_event_id',
        '_definition_version',
        '_curated_at',
      ]);
      const [key] = definition.key;
      expect(rows.find((row) => row.column_name === key)?.is_nullable, file).toBe('NO');
    }
    const { rows } = await client.query(
      `select a.attname as key from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = 'curated.slabs'::regclass and i.indisprimary`,
    );
    expect(rows).toEqual([{ key: 'slab_id' }]);
    const [comment] = (await client.query(`select col_description('curated.slabs'::regclass, 3) as text`)).rows;
    expect(comment.text).toBe('unit: MTR');
  });
});
