/**
 * The catalog's discovery against data that came the platform's way: the simulated plant publishes events
 * and meter readings over MQTT, the readers and the writer store them, the curated and business ETLs refine
 * them. Discovery (as a reader login, the least it needs) must then list every table and view of every store
 * with the right columns, units, row counts and freshness, the topics seen, and the lineage the
 * definitions declare; and discovering again must be idempotent and follow what was added and removed.
 */
import {
  type Asset,
  CatalogStore,
  type DiscoveredStore,
  discover,
  type Snapshot,
  topicMatches,
} from '@plantmesh/catalog';
import type { KpiDefinition } from '@plantmesh/etl-business';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import type { MeterReading, PlantEvent } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const stores: DiscoveredStore[] = ['raw', 'metrics', 'curated', 'business'];

describe('catalog discovery over a real platform', () => {
  const platform = useIngestPlatform();
  const events: PlantEvent[] = [];
  const readings: MeterReading[] = [];
  let reader: pg.Pool;
  let admin: pg.Pool;
  let store: CatalogStore;
  let snapshot: Snapshot;
  let byId: Map<string, Asset>;
  const discoverNow = () =>
    discover({
      pools: { raw: reader, metrics: reader, curated: reader, business: reader },
      readerTopics: { events: ['plant1/#'], sensors: ['#'] },
      endpoints: { i3xUrl: 'https://i3x.plant.example' },
    });

  beforeAll(async () => {
    const services = [
      await platform().startWriter(),
      await platform().startEventsReader(),
      await platform().startSensorsReader(),
      await platform().startCuratedEtl(),
      await platform().startBusinessEtl(),
    ];
    const plant = platform().eventsPlant(
      400,
      11,
      200,
      (event) => events.push(event),
      (reading) => readings.push(reading),
    );
    await plant.run();
    const heats = events.filter((event) => event.payload.type === 'heat.finished').length;
    await waitFor(
      'events, readings and heats stored, the KPIs computed',
      async () =>
        (await platform().count('select count(*) as n from raw.events')) === events.length &&
        (await platform().count('select count(*) as n from metrics.samples')) === readings.length &&
        (await platform().count('select count(*) as n from curated.heats')) === heats &&
        (await platform().count('select count(*) as n from business.tonnage_cast_per_shift')) > 0 &&
        (await platform().count('select count(*) as n from business.dirty_windows')) === 0,
      90_000,
    );
    // The platform at rest, so that what discovery saw can be compared with the tables afterwards.
    for (const service of services) await service.process.stop('SIGTERM');
    // Statistics as autovacuum would leave them, so estimates and exact counts can both be checked.
    await platform().query('analyze');
    reader = new pg.Pool({ connectionString: await platform().userUrl('catalog_discovery', 'reader'), max: 4 });
    admin = new pg.Pool({ connectionString: platform().postgres.url, max: 4 });
    store = new CatalogStore(admin);
    snapshot = await discoverNow();
    byId = new Map(snapshot.assets.map((asset) => [asset.id, asset]));
    expect(await store.reconcile(snapshot)).toMatchObject({ removed: 0, added: snapshot.assets.length });
  });

  afterAll(async () => {
    await reader?.end();
    await admin?.end();
  });

  it('lists every table and view of every store with its columns and types, in order', async () => {
    const relations = await platform().query<{ schema: string; name: string; kind: string }>(
      `select n.nspname as schema, c.relname as name, c.relkind::text as kind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any ($1) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition`,
      [stores],
    );
    expect(relations.length).toBeGreaterThan(30);
    const listed = snapshot.assets.filter((a) => a.kind === 'postgres_table' || a.kind === 'postgres_view');
    expect(listed.map((a) => a.name).sort()).toEqual(relations.map((r) => `${r.schema}.${r.name}`).sort());
    for (const relation of relations) {
      const asset = byId.get(
        `${relation.kind === 'v' ? 'postgres_view' : 'postgres_table'}:${relation.schema}.${relation.name}`,
      );
      expect(asset, `${relation.schema}.${relation.name}`).toBeDefined();
      const columns = await platform().query<{ column_name: string; data_type: string; is_nullable: string }>(
        `select column_name, data_type, is_nullable from information_schema.columns
         where table_schema = $1 and table_name = $2 order by ordinal_position`,
        [relation.schema, relation.name],
      );
      expect(asset?.columns.map((c) => c.name)).toEqual(columns.map((c) => c.column_name));
      for (const [index, column] of columns.entries()) {
        const listedColumn = asset?.columns[index];
        if (!['USER-DEFINED', 'ARRAY'].includes(column.data_type)) {
          expect(listedColumn?.type.replace(/\(.*\)/, ''), `${asset?.name}.${column.column_name}`).toBe(
            column.data_type,
          );
        }
        if (relation.kind !== 'v') expect(listedColumn?.nullable).toBe(column.is_nullable === 'YES');
      }
    }
    // The partitions of metrics.samples are not tables of their own; their rows count for the parent.
    expect(listed.some((a) => /samples_\d{8}$/.test(a.name))).toBe(false);
    const heats = byId.get('postgres_table:curated.heats');
    expect(heats?.columns.filter((c) => c.key).map((c) => c.name)).toEqual(['heat_id']);
  });

  it('knows the units of curated and KPI columns from their definitions', async () => {
    const curated = await platform().query<{ table_name: string; definition: CuratedDefinition }>(
      'select table_name, definition from curated.definitions',
    );
    const kpis = await platform().query<{ table_name: string; definition: KpiDefinition }>(
      'select table_name, definition from business.kpi_definitions',
    );
    expect(curated.length).toBeGreaterThanOrEqual(5);
    expect(kpis.length).toBeGreaterThanOrEqual(5);
    let units = 0;
    for (const [schema, rows] of [
      ['curated', curated],
      ['business', kpis],
    ] as const) {
      for (const { table_name, definition } of rows) {
        const asset = byId.get(`postgres_table:${schema}.${table_name}`);
        for (const column of definition.columns) {
          const listed = asset?.columns.find((c) => c.name === column.name);
          expect(listed?.unit, `${schema}.${table_name}.${column.name}`).toBe(column.unit);
          if (column.unit) units += 1;
        }
      }
    }
    expect(units).toBeGreaterThan(10);
    expect(byId.get('postgres_table:curated.heats')?.columns.find((c) => c.name === 'cast_weight')).toMatchObject({
      unit: 'KGM',
      description: 'Steel cast',
    });
  });

  it('counts rows (exactly for small tables) and measures freshness from the data, not from metadata', async () => {
    const heatEvents = events.filter((event) => event.payload.type === 'heat.finished');
    expect(byId.get('postgres_table:raw.events')).toMatchObject({ rowCount: events.length, rowCountExact: true });
    expect(byId.get('postgres_table:metrics.samples')).toMatchObject({
      rowCount: readings.length,
      rowCountExact: true,
    });
    expect(byId.get('postgres_table:curated.heats')).toMatchObject({
      rowCount: heatEvents.length,
      rowCountExact: true,
    });
    for (const asset of snapshot.assets.filter((a) => a.kind === 'postgres_table')) {
      const [row] = await platform().query<{ n: string }>(`select count(*)::text as n from ${asset.name}`);
      expect(asset.rowCount, asset.name).toBe(Number(row?.n));
    }
    // The newest heat is the latest occurredAt the plant sent, whenever the ETL curated it.
    const newestHeat = Math.max(...heatEvents.map((event) => Date.parse(String(event.payload.occurredAt))));
    expect(byId.get('postgres_table:curated.heats')?.newestDataAt).toBe(new Date(newestHeat).toISOString());
    const newestReading = Math.max(...readings.map((r) => r.ts));
    expect(byId.get('postgres_table:metrics.samples')?.newestDataAt).toBe(new Date(newestReading).toISOString());
    const [arrival] = await platform().query<{ t: Date }>('select max(received_at) as t from raw.events');
    expect(byId.get('postgres_table:raw.events')?.newestDataAt).toBe(arrival?.t.toISOString());
    const [window] = await platform().query<{ t: Date }>(
      'select max(window_start) as t from business.tonnage_cast_per_shift',
    );
    expect(byId.get('postgres_table:business.tonnage_cast_per_shift')?.newestDataAt).toBe(window?.t.toISOString());
    // An empty table has no freshness rather than a made-up one.
    const emptyQuarantine = (await platform().count('select count(*) as n from raw.quarantine')) === 0;
    if (emptyQuarantine) expect(byId.get('postgres_table:raw.quarantine')?.newestDataAt).toBeUndefined();
  });

  it('lists the topics seen: every raw event topic with its count and newest arrival, every series with its unit', async () => {
    const topics = new Map<string, number>();
    for (const event of events) topics.set(event.topic, (topics.get(event.topic) ?? 0) + 1);
    for (const [topic, count] of topics) {
      expect(byId.get(`mqtt_topic:events:${topic}`), topic).toMatchObject({
        kind: 'mqtt_topic',
        rowCount: count,
        properties: { broker: 'events', topic, filter: false },
        newestDataAt: expect.any(String),
      });
    }
    const series = new Map(readings.map((r) => [r.topic, r]));
    for (const path of series.keys()) {
      expect(byId.get(`mqtt_topic:sensors:${path}`), path).toMatchObject({
        properties: { broker: 'sensors', topic: path, unit: 'KWH' },
      });
    }
    const seenTopics = snapshot.assets.filter((a) => a.kind === 'mqtt_topic' && a.properties.filter === false);
    expect(seenTopics.length).toBe(topics.size + series.size);
    // The readers' subscriptions and the ingestion topology are there, with their edges.
    expect(byId.get('mqtt_topic:events:plant1/#')?.properties.filter).toBe(true);
    expect(byId.get('amqp_queue:plantmesh.events')).toBeDefined();
    const edge = (from: string, to: string) =>
      snapshot.edges.some((e) => e.from === from && e.to === to && !e.fromField);
    expect(edge('amqp_queue:plantmesh.events', 'postgres_table:raw.events')).toBe(true);
    for (const topic of topics.keys())
      expect(edge(`mqtt_topic:events:${topic}`, 'mqtt_topic:events:plant1/#')).toBe(true);
  });

  it('makes a product of every curated and KPI definition, with column-level lineage as the definitions say', async () => {
    const curated = await platform().query<{ product: string; table_name: string; definition: CuratedDefinition }>(
      'select product, table_name, definition from curated.definitions',
    );
    const kpis = await platform().query<{ kpi: string; table_name: string; definition: KpiDefinition }>(
      'select kpi, table_name, definition from business.kpi_definitions',
    );
    const products = new Map(snapshot.products.map((p) => [p.name, p]));
    expect([...products.keys()].sort()).toEqual(
      [...curated.map((c) => c.product), ...kpis.map((k) => k.kpi), 'raw-events', 'sensor-samples'].sort(),
    );
    for (const { product, table_name, definition } of curated) {
      const table = `postgres_table:curated.${table_name}`;
      expect(products.get(product)).toMatchObject({
        domain: definition.product.domain,
        owner: definition.product.owner,
        version: definition.product.version,
        source: 'discovered',
      });
      expect(products.get(product)?.ports).toContainEqual({ assetId: table, direction: 'output' });
      const columnEdges = snapshot.edges
        .filter((e) => e.to === table && e.toField)
        .map((e) => [e.from, e.fromField, e.toField])
        .sort();
      const expected = definition.source.topics
        .flatMap((filter) => definition.columns.map((c) => [`mqtt_topic:events:${filter}`, c.from, c.name]))
        .sort();
      expect(columnEdges, product).toEqual(expected);
      // Each topic seen that the definition takes leads to its filter.
      for (const event of events) {
        if (definition.source.topics.some((filter) => topicMatches(filter, event.topic))) {
          const filter = definition.source.topics.find((f) => topicMatches(f, event.topic));
          expect(
            snapshot.edges.some(
              (e) => e.from === `mqtt_topic:events:${event.topic}` && e.to === `mqtt_topic:events:${filter}`,
            ),
          ).toBe(true);
        }
      }
    }
    const curatedTable = new Map(curated.map((c) => [c.product, c.table_name]));
    for (const { kpi, table_name, definition } of kpis) {
      const table = `postgres_table:business.${table_name}`;
      const upstream = snapshot.edges
        .filter((e) => e.to === table && e.relation === 'computes')
        .map((e) => e.from)
        .sort();
      expect(upstream, kpi).toEqual(
        [
          ...definition.inputs.map((input) => `postgres_table:curated.${curatedTable.get(input)}`),
          ...(definition.series ?? []).map((filter) => `mqtt_topic:sensors:${filter}`),
          ...(definition.series?.length ? ['postgres_table:metrics.samples'] : []),
        ].sort(),
      );
      expect(products.get(kpi)?.freshnessObjectiveSeconds).toBeGreaterThanOrEqual(3_600);
    }
  });

  it('follows lineage from a raw topic through the curated table to the KPI, with a depth', async () => {
    const heatTopic = events.find((event) => event.payload.type === 'heat.finished')?.topic as string;
    const graph = await store.lineage({ product: 'tonnage_cast_per_shift' }, { direction: 'upstream', depth: 3 });
    const ids = graph?.nodes.map((n) => n.id) ?? [];
    expect(ids).toEqual(
      expect.arrayContaining([
        'postgres_table:business.tonnage_cast_per_shift',
        'postgres_table:curated.heats',
        'mqtt_topic:events:+/caster/+/events/heat.finished',
        `mqtt_topic:events:${heatTopic}`,
      ]),
    );
    expect(graph?.nodes.find((n) => n.id === 'postgres_table:curated.heats')).toMatchObject({
      depth: 1,
      products: expect.arrayContaining(['heats', 'tonnage_cast_per_shift']),
    });
    // Depth 1 stops at the inputs; downstream of heats reaches the KPIs built on it.
    const near = await store.lineage({ product: 'tonnage_cast_per_shift' }, { direction: 'upstream', depth: 1 });
    expect(near?.nodes.map((n) => n.id)).not.toContain(`mqtt_topic:events:${heatTopic}`);
    const down = await store.lineage({ asset: 'postgres_table:curated.heats' }, { direction: 'downstream', depth: 1 });
    expect(down?.nodes.map((n) => n.id)).toEqual(
      expect.arrayContaining(['postgres_table:business.tonnage_cast_per_shift', 'postgres_table:business.heat_yield']),
    );
    expect(down?.edges.filter((e) => e.from === 'postgres_table:curated.heats').map((e) => e.relation)).toContain(
      'computes',
    );
  });

  it('discovers again idempotently, and follows added, changed and removed assets', async () => {
    const again = await store.reconcile(await discoverNow());
    expect(again).toMatchObject({ added: 0, changed: 0, removed: 0 });
    const before = await admin.query('select id, changed_at, fingerprint from catalog.assets order by id');
    // A new table in the curated store and a new topic; a comment on a column of heats.
    await platform().query(
      `begin; set local role plantmesh_curated_owner;
       create table curated.scratch (id int primary key, made_at timestamptz not null);
       insert into curated.scratch values (1, '2026-01-02T03:04:05Z'); commit`,
    );
    await platform().query("comment on column curated.heats.grade is 'Steel grade; unit: C62'");
    await platform().query(
      `insert into raw.events (id, topic, source, received_at, payload) values ('x-1', 'plant1/lab/line1/events/sample.taken', 'events', now(), '{}')`,
    );
    const next = await store.reconcile(await discoverNow());
    expect(next).toMatchObject({ added: 2, changed: expect.any(Number), removed: 0 });
    const scratch = await store.asset('postgres_table:curated.scratch');
    expect(scratch).toMatchObject({ rowCount: 1, newestDataAt: '2026-01-02T03:04:05.000Z' });
    // grade's comment changed heats; raw.events' counts changed, but counts do not make a change.
    const after = new Map(
      (await admin.query<{ id: string; changed_at: Date }>('select id, changed_at from catalog.assets')).rows.map(
        (r) => [r.id, r.changed_at],
      ),
    );
    const changed = before.rows.filter((r) => after.get(r.id)?.getTime() !== r.changed_at.getTime()).map((r) => r.id);
    expect(changed).toEqual(['postgres_table:curated.heats']);
    expect((await store.asset('postgres_table:curated.heats'))?.columns.find((c) => c.name === 'grade')).toMatchObject({
      unit: 'C62',
      description: 'Steel grade',
    });
    // A table the reader may not read (made outside the store's owner role): its count fails alone, the
    // other tables in its batch are still counted exactly.
    await platform().query('create table curated.unreadable (id int); insert into curated.unreadable values (1), (2)');
    const withUnreadable = await discoverNow();
    const listed = new Map(withUnreadable.assets.map((asset) => [asset.id, asset]));
    expect(listed.get('postgres_table:curated.unreadable')).toMatchObject({ rowCountExact: false });
    expect(listed.get('postgres_table:curated.heats')).toMatchObject({ rowCountExact: true });
    expect(listed.get('postgres_table:curated.scratch')).toMatchObject({ rowCount: 1, rowCountExact: true });
    await platform().query('drop table curated.unreadable');
    await platform().query('drop table curated.scratch');
    await platform().query("delete from raw.events where id = 'x-1'");
    expect(await store.reconcile(await discoverNow())).toMatchObject({ added: 0, removed: 2 });
    expect(await store.asset('postgres_table:curated.scratch')).toBeUndefined();
  });
});
