/**
 * The open-standards documents of a real catalog: the shipped curated and KPI definitions applied to a
 * real PostgreSQL as the ETLs apply them, a few heats curated and their KPIs computed by the ETLs
 * themselves, then discovered; every document built from that is validated against its published JSON
 * Schema, and its content is checked against the definitions (so generation cannot drift from them).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, ingest, Postgres } from '@plantmesh/core';
import {
  applyKpi,
  type BusinessStores,
  curatedRegistry,
  KpiCache,
  type KpiDefinition,
  loadKpiDefinition,
  markWindows,
  recomputeWindows,
  shippedKpis,
} from '@plantmesh/etl-business';
import {
  applyDefinition,
  type CuratedDefinition,
  type CuratedStores,
  curateBatch,
  loadDefinition,
  ProductCache,
  shippedDefinitions,
} from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, type Snapshot } from '../../src/discovery.js';
import type { Asset, Product } from '../../src/model.js';
import {
  contractId,
  curatedRuns,
  dataContract,
  dataProduct,
  jobEvents,
  jobName,
  kpiRuns,
  type LineageOptions,
  lineageJobs,
  type OdcsContract,
  productContracts,
  readerStreamFromEnv,
  runEvent,
  seenTopicsOf,
  streamsDocument,
  validateAsyncApi,
  validateOdcs,
  validateOdps,
  validateOpenLineage,
} from '../../src/standards/index.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const postgres = { host: 'db.plant.example', port: 5432, database: 'plantmesh', environment: 'test' };
const lineageOptions = (kpis: KpiDefinition[]): LineageOptions => ({
  producer: 'https://plantmesh.dev/catalog/0.1.0',
  postgres,
  brokers: { events: 'mqtts://events.plant.example:8883', sensors: 'mqtt://sensors.plant.example:1883' },
  amqp: 'amqp://rabbitmq.plant.example:5672',
  sql: new Map(kpis.map((kpi) => [`etl-business/${kpi.kpi.name}@${kpi.kpi.version}`, kpi.compute.sql])),
});

/** A heat as the caster's Level-2 reports it (the simulator's shape). */
const heat = (n: number, finishedAt: string) => ({
  id: `heat-${n}`,
  type: 'heat.finished',
  heatId: `H01-${String(n).padStart(6, '0')}`,
  grade: 'S355J2',
  slabs: 4,
  castWeight_t: 180 + n,
  durationMin: 52.5,
  yield_pct: 96.1,
  occurredAt: finishedAt,
  line: 'strand1',
});

describe('open-standards documents of the shipped definitions (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let curatedStores: CuratedStores;
  let business: BusinessStores;
  let snapshot: Snapshot;
  let assets: Map<string, Asset>;
  let products: Map<string, Product>;
  const curated: CuratedDefinition[] = [];
  const kpis: KpiDefinition[] = [];

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    const connect = async () => {
      const connection = new Postgres({ url: server.url, log, applicationName: 'test' });
      await connection.start();
      return connection;
    };
    curatedStores = { raw: await connect(), curated: await connect() };
    business = { curated: curatedStores.curated, business: await connect(), metrics: curatedStores.curated };
    const client = await admin.connect();
    try {
      for (const file of readdirSync(shippedDefinitions).filter((name) => name.endsWith('.yaml'))) {
        const definition = loadDefinition(join(shippedDefinitions, file));
        curated.push(definition);
        await applyDefinition(client, definition, file);
      }
      const registry = await curatedRegistry(client);
      for (const file of readdirSync(shippedKpis).filter((name) => name.endsWith('.yaml'))) {
        const definition = loadKpiDefinition(join(shippedKpis, file));
        kpis.push(definition);
        const entity = definition.window.entity ? registry.get(definition.window.entity)?.key[0] : undefined;
        await applyKpi(client, definition, entity, file);
      }
    } finally {
      client.release();
    }
    // Three heats in two batches, curated and computed by the ETLs.
    const store = async (batch: Array<Record<string, unknown>>) =>
      admin.query(
        `insert into raw.events (id, id_type, topic, source, received_at, payload)
         select e ->> 'id', 'string', 'plant1/caster/cc1/events/heat.finished', 'events', now(), e
         from jsonb_array_elements($1::jsonb) as e`,
        [JSON.stringify(batch)],
      );
    const cache = new ProductCache();
    const kpiCache = new KpiCache(curatedStores.curated.pool);
    const settle = async () => {
      while ((await curateBatch(curatedStores, cache, 'heats', 500)).more);
      for (const kpi of ['heat_yield', 'tonnage_cast_per_shift']) {
        while ((await markWindows(business, kpiCache, kpi, 20)).more);
        while ((await recomputeWindows(business, kpiCache, kpi, 100)).more);
      }
    };
    await store([heat(1, '2026-11-30T04:30:00Z'), heat(2, '2026-11-30T06:40:00Z')]);
    await settle();
    await store([heat(3, '2026-11-30T07:15:00Z')]);
    await settle();
    snapshot = await discover({
      pools: { raw: admin, metrics: admin, curated: admin, business: admin },
      readerTopics: { events: ['plant1/#'], sensors: ['plant1/#'] },
    });
    assets = new Map(snapshot.assets.map((asset) => [asset.id, asset]));
    products = new Map(snapshot.products.map((product) => [product.name, product]));
  });

  afterAll(async () => {
    await curatedStores?.raw.close();
    await curatedStores?.curated.close();
    await business?.business.close();
    await admin?.end();
    await server?.destroy();
  });

  const contractOf = (product: string, table: string): OdcsContract => {
    const asset = assets.get(`postgres_table:${table}`);
    expect(asset, table).toBeDefined();
    return dataContract(products.get(product) as Product, asset as Asset, {
      postgres,
      edges: snapshot.edges,
      access: snapshot.access,
    });
  };
  const properties = (contract: OdcsContract) =>
    (contract.schema[0]?.properties ?? []) as Array<Record<string, unknown> & { name: string }>;

  describe('ODCS v3.1.0 data contracts', () => {
    it('every output table of every product has a contract that validates against the published schema', () => {
      let count = 0;
      for (const product of snapshot.products) {
        for (const contract of productContracts(product, assets, { postgres, edges: snapshot.edges })) {
          expect(validateOdcs(contract), contract.id).toEqual([]);
          count += 1;
        }
      }
      // Every curated and KPI table, and the raw and metrics stores' tables.
      expect(count).toBeGreaterThanOrEqual(curated.length + kpis.length + 2);
      for (const definition of curated) expect(products.has(definition.product.name)).toBe(true);
      for (const definition of kpis) expect(products.has(definition.kpi.name)).toBe(true);
    });

    it('the contract of curated heats has its columns with types, units, key, lineage and the freshness SLA', () => {
      const contract = contractOf('heats', 'curated.heats');
      const definition = curated.find((d) => d.product.name === 'heats') as CuratedDefinition;
      expect(contract).toMatchObject({
        apiVersion: 'v3.1.0',
        kind: 'DataContract',
        id: 'urn:plantmesh:contract:curated.heats',
        dataProduct: 'heats',
        domain: 'steelmaking',
        version: definition.product.version,
        servers: [{ type: 'postgresql', host: postgres.host, port: 5432, database: 'plantmesh', schema: 'curated' }],
      });
      const byName = new Map(properties(contract).map((property) => [property.name, property]));
      // Every definition column, in order, then the provenance columns.
      expect(properties(contract).map((p) => p.name)).toEqual([
        ...definition.columns.map((c) => c.name),
        '_event_seq',
        '_event_id',
        '_definition_version',
        '_curated_at',
      ]);
      for (const column of definition.columns) {
        const property = byName.get(column.name);
        const unit = (property?.customProperties as Array<{ property: string; value: unknown }> | undefined)?.find(
          (item) => item.property === 'unit',
        )?.value;
        expect(unit, column.name).toBe(column.unit);
        expect(property?.transformLogic, column.name).toBe(`payload ${column.from}`);
      }
      expect(byName.get('cast_weight')).toMatchObject({ physicalType: 'numeric', logicalType: 'number' });
      expect(byName.get('finished_at')).toMatchObject({
        physicalType: 'timestamp with time zone',
        logicalType: 'timestamp',
        logicalTypeOptions: { timezone: true },
        required: true,
      });
      expect(byName.get('heat_id')).toMatchObject({ primaryKey: true, primaryKeyPosition: 1, required: true });
      expect(byName.get('strand')).toMatchObject({ required: false });
      expect(byName.get('strand')?.primaryKey).toBeUndefined();
      expect(contract.slaProperties).toEqual([
        expect.objectContaining({
          property: 'latency',
          value: products.get('heats')?.freshnessObjectiveSeconds,
          unit: 's',
          element: 'heats.finished_at',
        }),
      ]);
      const quality = contract.schema[0]?.quality as Array<Record<string, unknown>>;
      expect(quality.map((rule) => rule.name)).toEqual(['not_empty', 'unique_key', 'fresh', 'payload_schema']);
      expect(quality.find((rule) => rule.name === 'fresh')?.query).toBe(
        'select extract(epoch from now() - max(finished_at)) from curated.heats',
      );
      expect(contract.roles).toEqual(
        expect.arrayContaining([expect.objectContaining({ role: 'plantmesh_reader', access: 'read' })]),
      );
    });

    it('a KPI contract has its window columns, its units and its freshness from the KPI window', () => {
      const contract = contractOf('tonnage_cast_per_shift', 'business.tonnage_cast_per_shift');
      expect(validateOdcs(contract)).toEqual([]);
      const definition = kpis.find((d) => d.kpi.name === 'tonnage_cast_per_shift') as KpiDefinition;
      const names = properties(contract).map((p) => p.name);
      expect(names.slice(0, 3)).toEqual(['window_start', 'window_end', 'shift']);
      for (const column of definition.columns) {
        const property = properties(contract).find((p) => p.name === column.name);
        expect(property, column.name).toBeDefined();
        if (column.unit) {
          expect(property?.customProperties).toEqual([
            expect.objectContaining({ property: 'unit', value: column.unit }),
          ]);
        }
      }
      expect((contract.slaProperties as Array<{ element?: string }>)[0]?.element).toBe(
        'tonnage_cast_per_shift.window_start',
      );
    });

    it('the raw store is a product whose events table has a contract', () => {
      const raw = snapshot.products.find((product) => product.definedBy === 'store:raw') as Product;
      expect(raw).toBeDefined();
      const contract = contractOf(raw.name, 'raw.events');
      expect(validateOdcs(contract)).toEqual([]);
      const names = properties(contract).map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(['id', 'topic', 'received_at', 'payload']));
      expect(properties(contract).find((p) => p.name === 'payload')).toMatchObject({ logicalType: 'object' });
    });
  });

  describe('ODPS v1.0.0 product envelopes', () => {
    it('every product validates, with output ports naming their contracts and input ports those they read', () => {
      for (const product of snapshot.products) {
        const document = dataProduct(product, {
          assets,
          producers: products,
          catalogUrl: 'https://catalog.plant.example/v1',
        });
        expect(validateOdps(document), product.name).toEqual([]);
      }
      const yieldProduct = dataProduct(products.get('heat_yield') as Product, { assets, producers: products });
      const inputs = (yieldProduct.inputPorts as Array<{ contractId: string; version: string }>).map(
        (p) => p.contractId,
      );
      for (const input of ['heats', 'slabs', 'plates', 'quench_results']) {
        expect(inputs).toContain(`urn:plantmesh:contract:curated.${input}`);
      }
      expect(yieldProduct.outputPorts).toEqual([
        expect.objectContaining({
          name: 'business.heat_yield',
          contractId: contractId({ name: 'business.heat_yield' }),
          version: '1.0.0',
        }),
      ]);
    });
  });

  describe('OpenLineage', () => {
    it('a JobEvent per ETL definition validates, with the inputs and outputs the definitions name', () => {
      const events = jobEvents(assets, snapshot.edges, { ...lineageOptions(kpis), eventTime: '2026-12-01T00:00:00Z' });
      for (const event of events)
        expect(validateOpenLineage(event), JSON.stringify((event.job as { name: string }).name)).toEqual([]);
      const byJob = new Map(events.map((event) => [(event.job as { name: string }).name, event]));
      for (const definition of curated) expect(byJob.has(`etl-curated.${definition.product.name}`)).toBe(true);
      for (const definition of kpis) expect(byJob.has(`etl-business.${definition.kpi.name}`)).toBe(true);
      const yieldJob = byJob.get('etl-business.heat_yield') as {
        inputs: Array<{ name: string }>;
        job: { facets: { sql: { query: string } } };
      };
      expect(yieldJob.inputs.map((input) => input.name).sort()).toEqual(
        ['heats', 'plates', 'quench_results', 'slabs'].map((t) => `plantmesh.curated.${t}`),
      );
      expect(yieldJob.job.facets.sql.query).toContain('from curated.heats h');
    });

    it('the column lineage of every curated definition is its mapping: each column from its payload path on each topic', () => {
      const events = jobEvents(assets, snapshot.edges, { ...lineageOptions(kpis), eventTime: '2026-12-01T00:00:00Z' });
      for (const definition of curated) {
        const event = events.find(
          (e) => (e.job as { name: string }).name === `etl-curated.${definition.product.name}`,
        ) as {
          outputs: Array<{
            name: string;
            facets: { columnLineage: { fields: Record<string, { inputFields: Array<Record<string, string>> }> } };
          }>;
        };
        const output = event.outputs.find((o) => o.name === `plantmesh.curated.${definition.table}`);
        const fields = output?.facets.columnLineage.fields ?? {};
        expect(Object.keys(fields).sort()).toEqual(definition.columns.map((c) => c.name).sort());
        for (const column of definition.columns) {
          expect(fields[column.name]?.inputFields, `${definition.product.name}.${column.name}`).toEqual(
            definition.source.topics.map((topic) => ({
              namespace: 'mqtts://events.plant.example:8883',
              name: topic,
              field: column.from.slice(1).replaceAll('/', '.'),
              transformation: `payload JSON Pointer ${column.from}`,
            })),
          );
        }
      }
    });

    it('the validators bite: a facet or an envelope that breaks its published schema is reported where it breaks', () => {
      const [event] = jobEvents(assets, snapshot.edges, {
        ...lineageOptions(kpis),
        eventTime: '2026-12-01T00:00:00Z',
      }).filter((e) => (e.job as { name: string }).name === 'etl-curated.heats');
      const broken = structuredClone(event) as {
        outputs: Array<{
          facets: { columnLineage: { fields: Record<string, { inputFields: Array<Record<string, unknown>> }> } };
        }>;
        eventTime: string;
      };
      delete broken.outputs[0]?.facets.columnLineage.fields.heat_id?.inputFields[0]?.field;
      broken.eventTime = 'yesterday';
      expect(validateOpenLineage(broken)).toEqual(
        expect.arrayContaining([
          { path: '/eventTime', message: 'must match format "date-time"' },
          { path: '/outputs/0/facets/columnLineage/fields/heat_id/inputFields/0', message: '"field" is required' },
        ]),
      );
      const product = dataProduct(products.get('heats') as Product, { assets, producers: products });
      expect(validateOdps({ ...product, status: 3, outputPorts: [{ name: 'x' }] })).toEqual(
        expect.arrayContaining([
          { path: '/status', message: 'must be string' },
          { path: '/outputPorts/0', message: '"version" is required' },
        ]),
      );
    });

    it('RunEvents from the batches the curated ETL logged and the KPI windows the business ETL computed', async () => {
      const options = lineageOptions(kpis);
      const jobs = new Map(lineageJobs(assets, snapshot.edges).map((job) => [job.via, job]));
      const batches = await curatedRuns(admin);
      expect(batches.map((run) => run.rowsWritten['postgres_table:curated.heats'])).toEqual([2, 1]);
      const windows = await kpiRuns({ curated: admin, business: admin });
      const runs = [...batches, ...windows];
      const events = runs.map((run) => runEvent(run, jobs.get(run.via), assets, options));
      for (const event of events) expect(validateOpenLineage(event)).toEqual([]);
      // heat_yield: one run per heat; tonnage per shift: 05:30 Berlin is the night shift, 07:40 and 08:15 the early one
      // (recomputed when the third heat came: one computation on record).
      const yieldRuns = events.filter((e) => (e.job as { name: string }).name === 'etl-business.heat_yield');
      expect(yieldRuns).toHaveLength(3);
      const tonnage = events.filter((e) => (e.job as { name: string }).name === 'etl-business.tonnage_cast_per_shift');
      expect(tonnage).toHaveLength(2);
      for (const event of tonnage) {
        expect((event.run as { facets: Record<string, unknown> }).facets.nominalTime).toMatchObject({
          nominalStartTime: expect.any(String),
          nominalEndTime: expect.any(String),
        });
      }
      // The same run exported twice has the same id.
      const again = runEvent(
        batches[0] as (typeof batches)[number],
        jobs.get(batches[0]?.via as string),
        assets,
        options,
      );
      expect((again.run as { runId: string }).runId).toBe((events[0] as { run: { runId: string } }).run.runId);
      expect(jobName('etl-curated/heats@1.0.0')).toBe('etl-curated.heats');
    });
  });

  describe('AsyncAPI 3.0.0', () => {
    it("documents the readers' MQTT streams, the topics seen, the curated events and the RabbitMQ topology, and validates", () => {
      const document = streamsDocument({
        version: '0.1.0',
        readers: [
          readerStreamFromEnv({
            READER_PROFILE: 'events',
            MQTT_URL: 'mqtts://reader:secret@events.plant.example:8883',
            MQTT_TOPICS: 'plant1/#',
            MQTT_SHARE_GROUP: 'plantmesh',
            MQTT_CLIENT_ID: 'plantmesh-events-reader-0',
          }),
          readerStreamFromEnv({
            READER_PROFILE: 'sensors',
            MQTT_URL: 'mqtt://sensors.plant.example:1883',
            MQTT_TOPICS: 'plant1/#',
          }),
        ],
        topicsSeen: seenTopicsOf(snapshot.assets),
        curated,
        amqp: { url: 'amqp://rabbitmq.plant.example:5672' },
      });
      expect(validateAsyncApi(document)).toEqual([]);
      const text = JSON.stringify(document);
      expect(text).not.toContain('secret');
      const channels = document.channels as Record<
        string,
        { address: string; messages: Record<string, Record<string, unknown>>; bindings?: Record<string, unknown> }
      >;
      const addresses = Object.values(channels).map((channel) => channel.address);
      expect(addresses).toContain('$share/plantmesh/plant1/#');
      // The topic seen, with the heats payload schema as its message.
      const seen = Object.values(channels).find((c) => c.address === 'plant1/caster/cc1/events/heat.finished');
      expect(seen?.messages.heats).toEqual({ $ref: '#/components/messages/curated.heats' });
      const messages = (document.components as { messages: Record<string, { payload?: unknown }> }).messages;
      expect(messages['curated.heats']?.payload).toMatchObject({
        required: ['heatId', 'grade', 'castWeight_t', 'durationMin', 'occurredAt'],
      });
      for (const definition of curated) {
        for (const topic of definition.source.topics) expect(addresses).toContain(topic);
      }
      const queue = Object.values(channels).find((c) => c.address === ingest.queues.events);
      expect(queue?.bindings).toMatchObject({
        amqp: { is: 'queue', queue: { name: 'plantmesh.events', durable: true } },
      });
      const exchange = Object.values(channels).find((c) => c.address === ingest.routingKeys.events);
      expect(exchange?.bindings).toMatchObject({
        amqp: { is: 'routingKey', exchange: { name: ingest.exchange, type: 'direct' } },
      });
      // The catalog's registration events: its topic exchange, the payload as the published JSON Schema says.
      const catalogEvents = Object.values(channels).find((c) => c.messages.catalogEvent !== undefined);
      expect(catalogEvents?.bindings).toMatchObject({
        amqp: { is: 'routingKey', exchange: { name: 'plantmesh.catalog', type: 'topic', durable: true } },
      });
      expect(messages.catalogEvent?.payload).toMatchObject({
        required: ['version', 'id', 'sequence', 'type', 'time', 'catalogUrl'],
      });
      expect((document.servers as Record<string, { bindings?: unknown }>).events?.bindings).toMatchObject({
        mqtt: { clientId: 'plantmesh-events-reader-0', cleanSession: false, sessionExpiryInterval: 604_800 },
      });
      const operations = Object.values(
        document.operations as Record<string, { action: string; bindings?: { mqtt?: { qos: number } } }>,
      );
      expect(operations.some((op) => op.bindings?.mqtt?.qos === 1)).toBe(true);
      // A document that breaks the published schema is caught (the validator is not a rubber stamp).
      const broken = structuredClone(document) as {
        channels: Record<string, { bindings?: { amqp?: { is?: string } } }>;
      };
      for (const channel of Object.values(broken.channels))
        if (channel.bindings?.amqp) channel.bindings.amqp.is = 'stream';
      expect(validateAsyncApi(broken).length).toBeGreaterThan(0);
    });
  });
});
