/**
 * `plantmesh import assets` over a real PostgreSQL: the example plant's file merged with the hierarchy of the
 * sensor topic paths, re-imported identically, with elements removed, series that appear later, and hostile
 * files refused whole with file:line:column problems and nothing stored.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, DefinitionError } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import { nodesets } from 'node-opcua-nodesets';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASSET_TYPES,
  assetObjectId,
  assetTypeId,
  equipmentId,
  parseAssetModel,
  seriesObjectId,
  TYPES,
} from '../src/index.js';
import { importCommand, loadStoredModel, storeAssetModel, storePlatform, syncEquipment } from '../src/store/index.js';
import { DI } from './nodesets.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const example = fileURLToPath(new URL('../assets/plant1.yaml', import.meta.url));
const exampleText = readFileSync(example, 'utf8');

// The simulated plant's topics (packages/simulator): every line's cell1 with eight tags, a meter per line.
const lines = [
  'meltshop/eaf1',
  'meltshop/ladle-furnace1',
  'meltshop/degasser1',
  'caster/strand1',
  'caster/strand2',
  'plate-mill/reheat-furnace1',
  'plate-mill/roughing-stand',
  'plate-mill/finishing-stand',
  'heat-treatment/quench1',
  'heat-treatment/tempering-furnace1',
];
const tags = ['temperature', 'pressure', 'flow', 'speed', 'current', 'vibration', 'level', 'force'];
const paths = [
  ...lines.flatMap((line) => tags.map((tag) => `plant1/${line}/cell1/${tag}`)),
  ...lines.map((line) => `plant1/${line}/cell2/temperature`),
  ...lines.map((line) => `plant1/${line}/meter/energy`),
];

describe('plantmesh import assets (real PostgreSQL)', () => {
  let server: PostgresServer;
  let client: pg.Client;
  let dir: string;
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await importCommand(['assets', ...args], { DATABASE_URL: server.url }, (line) => lines.push(line));
    return { code, output: lines.join('\n') };
  };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const object = async (elementId: string) =>
    (await client.query('select * from curated.model_objects where element_id = $1', [elementId])).rows[0];
  const edges = async (elementId: string) =>
    (
      await client.query<{ type_id: string; object_id: string }>(
        'select type_id, object_id from curated.model_edges where subject_id = $1 order by type_id, object_id',
        [elementId],
      )
    ).rows.map((row) => `${row.type_id} ${row.object_id}`);
  const snapshot = async () => {
    // What the import may write (the NodeSets imported below are left out: large, and not its to change).
    const model = await Promise.all(
      ['assets', 'equipment', 'platform'].map((source) => loadStoredModel(client, source)),
    );
    const state = await client.query('select loader, state from curated.model_loader_state order by loader');
    return { model, state: state.rows };
  };
  const addSeries = async (seriesPaths: string[]) => {
    await client.query(`insert into metrics.series (path, unit) select unnest($1::text[]), 'CEL'`, [seriesPaths]);
    await syncEquipment(client, client);
  };

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    dir = mkdtempSync(join(tmpdir(), 'assets-'));
    // The platform's types and the hierarchy of the topic paths first, as the API's model sync makes them.
    await storePlatform(client);
    await addSeries(paths);
  });

  afterAll(async () => {
    await client?.end();
    await server?.destroy();
  });

  it('imports the example plant: names and types win for the paths it names, the other paths stay', async () => {
    const { code, output } = await run(example);
    expect(code, output).toBe(0);
    expect(output).toMatch(/plant1\.yaml: \d+ object types, 4 relationship types, \d+ objects \(13 series placed\)/);

    // The site: the file's name and type, under the file's enterprise.
    const site = await object(equipmentId('plant1'));
    expect(site).toMatchObject({
      display_name: 'Plant 1',
      type_element_id: TYPES.site,
      parent_id: assetObjectId('acme-steel'),
      source: 'assets',
    });
    expect(await object(assetObjectId('acme-steel'))).toMatchObject({
      type_element_id: ASSET_TYPES.enterprise,
      parent_id: null,
    });
    // A cell the file names, and one it does not (the topic path's, unchanged).
    expect(await object(equipmentId('plant1/meltshop/eaf1/cell1'))).toMatchObject({
      display_name: 'EAF 1 furnace bay',
      parent_id: equipmentId('plant1/meltshop/eaf1'),
    });
    expect(await object(equipmentId('plant1/meltshop/eaf1/cell2'))).toMatchObject({
      display_name: 'cell2',
      type_element_id: TYPES.cell,
      parent_id: equipmentId('plant1/meltshop/eaf1'),
      source: 'equipment',
    });
    // The machine: its type, composed of its parts, the parts of their series.
    const eaf = assetObjectId('eaf-1');
    expect(await object(eaf)).toMatchObject({
      type_element_id: assetTypeId('ElectricArcFurnace'),
      parent_id: equipmentId('plant1/meltshop/eaf1/cell1'),
      is_composition: true,
    });
    expect(await edges(eaf)).toEqual(
      [
        `HasParent ${equipmentId('plant1/meltshop/eaf1/cell1')}`,
        `HasComponent ${assetObjectId('eaf-1-shell')}`,
        `HasComponent ${assetObjectId('eaf-1-transformer')}`,
        `HasChildren ${assetObjectId('eaf-1-shell')}`,
        `HasChildren ${assetObjectId('eaf-1-transformer')}`,
        `MonitoredBy ${seriesObjectId('plant1/meltshop/eaf1/cell1/vibration')}`,
        `MonitoredBy ${seriesObjectId('plant1/meltshop/eaf1/meter/energy')}`,
      ].sort(),
    );
    const current = await object(seriesObjectId('plant1/meltshop/eaf1/cell1/current'));
    expect(current).toMatchObject({
      display_name: 'Electrode current',
      parent_id: assetObjectId('eaf-1-transformer'),
      component_of_parent: true,
      value_source: 'series',
    });
    // Relationships both ways; a type inheriting from an ISA-95 level type.
    expect(await edges(equipmentId('plant1/meltshop/ladle-furnace1'))).toEqual(
      expect.arrayContaining([
        `FedBy ${equipmentId('plant1/meltshop/eaf1')}`,
        `Feeds ${equipmentId('plant1/meltshop/degasser1')}`,
      ]),
    );
    const types = await client.query(
      'select element_id, parent_type_id, reverse_of from curated.model_relationship_types where source = $1 order by 1',
      ['assets'],
    );
    expect(types.rows.map((row) => `${row.element_id}/${row.reverse_of}`)).toEqual([
      'FedBy/Feeds',
      'Feeds/FedBy',
      'MonitoredBy/Monitors',
      'Monitors/MonitoredBy',
    ]);
    const furnace = (
      await client.query('select * from curated.model_object_types where element_id = $1', [
        assetTypeId('ElectricArcFurnace'),
      ])
    ).rows[0];
    expect(furnace).toMatchObject({ parent_type_id: ASSET_TYPES.workUnit, source_type_id: 'ElectricArcFurnace' });
    // Every series is still an object, under the file's equipment or its cell.
    const count = await client.query(
      `select count(*)::int as n from curated.model_objects where value_source = 'series'`,
    );
    expect(count.rows[0].n).toBe(paths.length);
  });

  it('re-imports the same file to the same model: ElementIds and rows unchanged', async () => {
    const before = await snapshot();
    const { code, output } = await run(example);
    expect(code, output).toBe(0);
    expect(output).toMatch(/0 removed; 0 given back/);
    expect(await snapshot()).toEqual(before);
  });

  it('places series that appear later as the file says, and keeps the file equipment they come under', async () => {
    await addSeries(['plant1/heat-treatment/quench1/cell3/vibration', 'plant1/meltshop/eaf1/cell1/humidity']);
    // Monitors by the filter plant1/heat-treatment/quench1/+/vibration.
    expect(await edges(seriesObjectId('plant1/heat-treatment/quench1/cell3/vibration'))).toEqual(
      expect.arrayContaining([`Monitors ${assetObjectId('quench-1')}`]),
    );
    // Under the file's cell, whose name the sync does not take back.
    expect(await object(seriesObjectId('plant1/meltshop/eaf1/cell1/humidity'))).toMatchObject({
      parent_id: equipmentId('plant1/meltshop/eaf1/cell1'),
      source: 'equipment',
    });
    expect(await object(equipmentId('plant1/meltshop/eaf1/cell1'))).toMatchObject({
      display_name: 'EAF 1 furnace bay',
      source: 'assets',
    });
  });

  it('a re-import without an element removes it, and gives what the topic paths say back to them', async () => {
    const text = exampleText
      .replace(/ {2}- id: eaf-1-transformer\n(?: {4}.*\n)+/, '')
      .replace(/ {2}- \{ id: caster, .*\n/, '')
      .replace(
        / {2}- \{ type: Monitors, from: \{ series: plant1\/meltshop\/eaf1\/meter\/energy \}, to: eaf-1 \}\n/,
        '',
      );
    expect(text).not.toContain('eaf-1-transformer');
    const { code, output } = await run(file('smaller.yaml', text));
    expect(code, output).toBe(0);
    // A relationship type with its relationships removed too (a second, smaller file).
    const noFeeds = text.replace(/ {2}- id: Feeds\n(?: {4}.*\n)+/, '').replace(/ {2}- \{ type: Feeds, .*\n/g, '');
    expect(noFeeds).not.toContain('Feeds');
    expect((await run(file('no-feeds.yaml', noFeeds))).code).toBe(0);
    const feeds = await client.query(
      `select (select count(*) from curated.model_relationship_types where element_id in ('Feeds', 'FedBy'))::int as types,
         (select count(*) from curated.model_relationships where type_id in ('Feeds', 'FedBy'))::int as edges`,
    );
    expect(feeds.rows[0]).toEqual({ types: 0, edges: 0 });
    expect(await object(assetObjectId('eaf-1-transformer'))).toBeUndefined();
    // Its series back under its cell, with the topic path's name.
    expect(await object(seriesObjectId('plant1/meltshop/eaf1/cell1/current'))).toMatchObject({
      display_name: 'current',
      parent_id: equipmentId('plant1/meltshop/eaf1/cell1'),
      component_of_parent: true,
      source: 'equipment',
    });
    // The area the file no longer names: the topic path's again, still under the site.
    expect(await object(equipmentId('plant1/caster'))).toMatchObject({
      display_name: 'caster',
      type_element_id: TYPES.area,
      parent_id: equipmentId('plant1'),
      source: 'equipment',
    });
    expect(await object(equipmentId('plant1/caster/strand1'))).toMatchObject({
      parent_id: equipmentId('plant1/caster'),
    });
    // The relationship removed on both ends; the other one kept.
    expect(await edges(assetObjectId('eaf-1'))).not.toContain(
      `MonitoredBy ${seriesObjectId('plant1/meltshop/eaf1/meter/energy')}`,
    );
    expect(await edges(seriesObjectId('plant1/meltshop/eaf1/meter/energy'))).toEqual(
      [
        `HasParent ${equipmentId('plant1/meltshop/eaf1/meter')}`,
        `ComponentOf ${equipmentId('plant1/meltshop/eaf1/meter')}`,
      ].sort(),
    );
    expect(await edges(assetObjectId('eaf-1'))).toContain(
      `MonitoredBy ${seriesObjectId('plant1/meltshop/eaf1/cell1/vibration')}`,
    );
    // And back again: the whole file as before.
    expect((await run(example)).code).toBe(0);
    expect(await object(seriesObjectId('plant1/meltshop/eaf1/cell1/current'))).toMatchObject({
      display_name: 'Electrode current',
      source: 'assets',
    });
  });

  it('types may build on imported NodeSet types by ElementId, and objects be typed by them', async () => {
    const said: string[] = [];
    const code = await importCommand(
      ['nodeset', nodesets.standard, nodesets.di],
      { DATABASE_URL: server.url },
      (line) => said.push(line),
    );
    expect(code, said.join('\n')).toBe(0);
    const device = `nsu=${DI};i=1002`;
    const text = exampleText
      .replace(
        'objectTypes:\n',
        `objectTypes:\n  - id: Analyser\n    inheritsFrom: "${device}"\n    schema: { type: object, properties: { element: { type: string } } }\n`,
      )
      .replace(
        'relationships:\n',
        `  - { id: spectrometer, type: Analyser, parent: eaf1-cell }\n  - { id: hmi, type: "${device}", parent: eaf1-cell }\n\nrelationships:\n`,
      );
    const result = await run(file('with-di.yaml', text));
    expect(result.code, result.output).toBe(0);
    const analyser = (
      await client.query('select parent_type_id, schema from curated.model_object_types where element_id = $1', [
        assetTypeId('Analyser'),
      ])
    ).rows[0];
    expect(analyser.parent_type_id).toBe(device);
    expect(analyser.schema.allOf[0].$ref).toContain('1002');
    expect(await object(assetObjectId('hmi'))).toMatchObject({ type_element_id: device });
    // Back to the example itself.
    expect((await run(example)).code).toBe(0);
    expect(await object(assetObjectId('hmi'))).toBeUndefined();
    const gone = await client.query('select from curated.model_elements where element_id = $1', [
      assetTypeId('Analyser'),
    ]);
    expect(gone.rowCount).toBe(0);
  });

  describe('hostile files are refused whole, naming file, line and problem, with nothing stored', () => {
    const header = 'apiVersion: plantmesh.dev/v1\nkind: AssetModel\n';
    const cases: Array<[string, string, RegExp]> = [
      [
        'an unknown field',
        `${header}equipment:\n  - id: a\n    level: site\n    colour: red\n`,
        /:4:5: \/equipment\/0: "colour" is not a known field/,
      ],
      [
        'an unknown top-level field',
        `${header}equipment: []\nmachines: []\n`,
        /:1:1: \/: "machines" is not a known field/,
      ],
      [
        'a cycle in the hierarchy',
        `${header}equipment:\n  - { id: a, level: area, parent: c }\n  - { id: b, level: area, parent: a }\n  - { id: c, level: area, parent: b }\n`,
        /:4:\d+: the hierarchy goes round in a circle: a -> c -> b -> a/,
      ],
      [
        'a cycle through the topic paths',
        `${header}equipment:\n  - { id: s, level: site, path: plant1, parent: x }\n  - { id: x, level: unit, parent: cell }\n  - { id: cell, level: cell, path: plant1/meltshop/eaf1/cell1 }\n`,
        /:4:\d+: the hierarchy goes round in a circle through/,
      ],
      [
        'duplicate ids',
        `${header}equipment:\n  - { id: a, level: site }\n  - { id: a, level: area }\n`,
        /:5:\d+: equipment id "a" is declared twice/,
      ],
      [
        'two equipment for one path',
        `${header}equipment:\n  - { id: a, level: site, path: plant1 }\n  - { id: b, level: site, path: plant1 }\n`,
        /:5:\d+: path "plant1" is already equipment "a"/,
      ],
      [
        'a dangling parent',
        `${header}equipment:\n  - { id: a, level: area, parent: nowhere }\n`,
        /:4:\d+: parent "nowhere" is not an equipment id/,
      ],
      [
        'a dangling type',
        `${header}equipment:\n  - { id: a, type: Furnace }\n`,
        /:4:\d+: type "Furnace" is neither an object type of this file/,
      ],
      [
        'a type ElementId that is not stored',
        `${header}equipment:\n  - { id: a, type: "nsu=http://example.com/none;i=1" }\n`,
        /:4:\d+: type "nsu=http:\/\/example.com\/none;i=1" is not a stored object type/,
      ],
      [
        'an undeclared relationship type',
        `${header}equipment:\n  - { id: a, level: unit }\nrelationships:\n  - { type: Powers, from: a, to: a }\n`,
        /:6:\d+: relationship type "Powers" is not declared/,
      ],
      [
        'a relationship to unknown equipment',
        `${header}relationshipTypes:\n  - { id: Feeds, reverse: FedBy }\nequipment:\n  - { id: a, level: unit }\nrelationships:\n  - { type: Feeds, from: a, to: b }\n`,
        /:8:\d+: "b" is not an equipment id of this file/,
      ],
      [
        'a platform relationship type redefined',
        `${header}relationshipTypes:\n  - { id: HasParent, reverse: Owns }\nequipment: []\n`,
        /:4:\d+: "HasParent" is a relationship type of the platform/,
      ],
      [
        'a reverse that contradicts another',
        `${header}relationshipTypes:\n  - { id: Feeds, reverse: FedBy }\n  - { id: FedBy, reverse: Supplies }\nequipment: []\n`,
        /:5:\d+: "FedBy" is already declared with the reverse "Feeds"/,
      ],
      [
        'a bad topic filter',
        `${header}equipment:\n  - { id: a, level: unit, series: [plant1/#/x] }\n`,
        /:4:\d+: "plant1\/#\/x" is not a topic path or MQTT filter/,
      ],
      ['not YAML', `${header}equipment: [\n`, /:\d+:\d+: YAML: /],
      [
        'the wrong kind',
        'apiVersion: plantmesh.dev/v1\nkind: Other\nequipment: []\n',
        /:2:7: \/kind: must be "AssetModel"/,
      ],
      [
        'a schema that is not one',
        `${header}objectTypes:\n  - { id: T, schema: { type: nonsense } }\nequipment: []\n`,
        /:4:\d+: not a valid JSON Schema/,
      ],
      [
        'nesting deeper than a parser goes',
        `${header}equipment: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
        /:3:\d+: YAML: /,
      ],
      [
        'an alias bomb',
        `${header}x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nequipment: []\n`,
        /:1:1: YAML: .*alias/i,
      ],
    ];
    it.each(cases)('%s', async (_name, text, problem) => {
      const before = await snapshot();
      const path = file('hostile.yaml', text);
      const { code, output } = await run(path);
      expect(code, output).toBe(1);
      expect(output).toContain(`${path}: refused:`);
      expect(output).toMatch(
        new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${problem.source}`, problem.flags),
      );
      expect(await snapshot()).toEqual(before);
    });

    it('a file over the size limit is refused before it is read', async () => {
      const before = await snapshot();
      const big = file('big.yaml', `${header}equipment:\n${'  - { id: x, level: unit }\n'.repeat(50_000)}`);
      const { code, output } = await run(big, '--max-mib', '1');
      expect(code).toBe(1);
      expect(output).toMatch(/big\.yaml:1:1: the file is \d+ bytes, more than the 1048576 allowed/);
      expect(await snapshot()).toEqual(before);
    });

    it('more equipment than the schema allows is refused', () => {
      const items = Array.from({ length: 100_001 }, (_, i) => `  - { id: e${i}, level: unit }`).join('\n');
      expect(() => parseAssetModel(`${header}equipment:\n${items}\n`, 'huge.yaml', 64 * 1024 * 1024)).toThrow(
        /huge\.yaml:4:\d+: \/equipment: must NOT have more than 100000 items/,
      );
    });

    it('a failure in the store rolls the whole import back', async () => {
      const before = await snapshot();
      // An equipment id that takes a type's ElementId: refused by the store after the checks passed.
      const parsed = parseAssetModel(
        `${header}objectTypes:\n  - { id: Furnace, schema: { type: object } }\nequipment:\n  - { id: Furnace2, type: Furnace }\n  - { id: clash, level: unit, path: "x" }\n`,
        'clash.yaml',
      );
      await client.query(`insert into curated.model_elements (element_id, kind) values ($1, 'object_type')`, [
        equipmentId('x'),
      ]);
      const stored = await snapshot();
      await expect(storeAssetModel(client, parsed)).rejects.toThrow(/ElementIds already used by another kind/);
      expect(await snapshot()).toEqual(stored);
      await client.query('delete from curated.model_elements where element_id = $1', [equipmentId('x')]);
      expect(await snapshot()).toEqual(before);
    });

    it('a DefinitionError lists every problem of the file, not the first alone', () => {
      try {
        parseAssetModel(`${header}equipment:\n  - { id: a, parent: b }\n  - { id: a, level: area }\n`, 'many.yaml');
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(DefinitionError);
        expect((error as DefinitionError).problems.map((p) => p.line)).toEqual([5, 4, 4]);
      }
    });
  });
});
