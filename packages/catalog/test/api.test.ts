/**
 * The catalog's REST API over a realistic catalog (hundreds of assets): a migrated PostgreSQL with the
 * shipped curated and KPI definitions applied, 300 sensor series and events on dozens of topics, discovered;
 * plus products registered by hand. Every answer is checked against the published OpenAPI 3.1 document
 * (itself validated against OpenAPI's schema); search relevance (exact names first, columns and topics
 * found), product detail, lineage with a depth, registration and its refusals, and the freshness gauges.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, createMetricsRegistry } from '@plantmesh/core';
import { applyKpi, loadKpiDefinition, shippedKpis } from '@plantmesh/etl-business';
import { applyDefinition, type CuratedDefinition, loadDefinition, shippedDefinitions } from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { buildSeries, EventGenerator } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, CatalogMetrics, CatalogStore, DiscoveryLoop, openApiDocument } from '../src/index.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const TOKEN = 'test-registration-token-0123456789';
const document = openApiDocument('0.1.0') as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: object;
};

/** The schema of an operation's answer, from the published document, compiled once. */
class OpenApiCheck {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  constructor() {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: 'https://plantmesh.dev/test/catalog.json', components: document.components });
  }
  validator(method: string, template: string, status: number): ValidateFunction | undefined {
    const operation = document.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`no operation ${method} ${template}`);
    const response = operation.responses[String(status)];
    if (!response) throw new Error(`${method} ${template} does not document ${status}`);
    const content = response.content?.['application/json'] ?? response.content?.['application/problem+json'];
    if (!content) return undefined;
    const key = JSON.stringify(content.schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      const ref = JSON.parse(key.replaceAll('"#/', '"https://plantmesh.dev/test/catalog.json#/'));
      validate = this.ajv.compile(ref);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

describe('catalog API over a realistic catalog', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let store: CatalogStore;
  let app: FastifyInstance;
  let closed: FastifyInstance;
  let loop: DiscoveryLoop;
  const registry = createMetricsRegistry('catalog');
  const check = new OpenApiCheck();
  const series = buildSeries(400, 7);
  const curated = new Map<string, CuratedDefinition>();

  /** A request, its answer checked against the operation's documented schema. */
  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    template: string,
    options: { body?: unknown; token?: string | null; target?: FastifyInstance; raw?: string } = {},
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked against the OpenAPI document, then read freely
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
    const response = await (options.target ?? app).inject({
      method,
      url: `/v1${path}`,
      headers: {
        ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? TOKEN}` }),
        ...(options.body === undefined && options.raw === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.raw !== undefined
        ? { payload: options.raw }
        : options.body === undefined
          ? {}
          : { payload: JSON.stringify(options.body) }),
    });
    const body = response.body ? response.json() : undefined;
    if (response.statusCode >= 400) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const validate = check.validator(method, template, response.statusCode);
    if (validate)
      expect(validate(body), `${method} ${path} ${response.statusCode}: ${JSON.stringify(validate.errors)}`).toBe(true);
    return { status: response.statusCode, body, headers: response.headers };
  }

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 6 });
    admin.on('error', () => {});
    const client = await admin.connect();
    try {
      for (const file of readdirSync(shippedDefinitions)) {
        const definition = loadDefinition(join(shippedDefinitions, file));
        curated.set(definition.product.name, definition);
        await applyDefinition(client, definition);
      }
      for (const file of readdirSync(shippedKpis)) {
        const definition = loadKpiDefinition(join(shippedKpis, file));
        const entity = definition.window.entity ? curated.get(definition.window.entity)?.key[0] : undefined;
        await applyKpi(client, definition, entity);
      }
    } finally {
      client.release();
    }
    // 300 sensor series with their units, and events on the plant's topics.
    await admin.query(
      `insert into metrics.series (path, unit) select s ->> 'topic', s ->> 'unit' from jsonb_array_elements($1::jsonb) s`,
      [JSON.stringify(series)],
    );
    const generator = new EventGenerator(3);
    const events = Array.from({ length: 300 }, (_, i) =>
      generator.next(Date.parse('2026-11-29T00:00:00Z') + i * 60_000),
    );
    await admin.query(
      `insert into raw.events (id, topic, source, received_at, payload)
       select e -> 'payload' ->> 'id', e ->> 'topic', 'events', now(), e -> 'payload' from jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(events)],
    );
    store = new CatalogStore(admin);
    loop = new DiscoveryLoop({
      store,
      log,
      intervalMs: 60_000,
      metrics: new CatalogMetrics(registry),
      discovery: {
        pools: { raw: admin, metrics: admin, curated: admin, business: admin },
        endpoints: { i3xUrl: 'https://i3x.plant.example' },
        httpApis: [
          {
            name: 'plantmesh-catalog',
            description: 'This API',
            baseUrl: 'http://catalog/v1',
            openapi: openApiDocument('0.1.0'),
          },
        ],
      },
    });
    await loop.round();
    app = await buildServer({
      store,
      log,
      version: '0.1.0',
      registrationToken: TOKEN,
      registry,
      onChange: () => void loop.refreshGauges(),
    });
    closed = await buildServer({ store, log, version: '0.1.0' });
    // Decoys: products whose descriptions say "heats" over and over, and one whose name only starts like it.
    for (const [name, description] of [
      ['melt-shop-report', 'Heats heats heats: every heat of the melt shop, heats per day, heats per grade, heats'],
      ['heats-archive', 'Heats of earlier years, archived'],
    ] as const) {
      expect(
        (
          await call('PUT', `/products/${name}`, '/products/{name}', {
            body: {
              domain: 'steelmaking',
              owner: 'reports@plant.local',
              description,
              tags: ['heats'],
              ports: [{ assetId: 'postgres_table:curated.heats', direction: 'input' }],
            },
          })
        ).status,
      ).toBe(201);
    }
  });

  afterAll(async () => {
    await app?.close();
    await closed?.close();
    await admin?.end();
    await server?.destroy();
  });

  it('publishes a valid OpenAPI 3.1 document, and the validator bites', async () => {
    const { status, body } = await call('GET', '/openapi.json', '/openapi.json');
    expect(status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(body));
    expect(validator.version).toBe('3.1');
    expect(result.valid, JSON.stringify(result.errors)).toBe(true);
    const broken = structuredClone(body);
    broken.paths['/search'].get.parameters[0].in = 'body';
    expect((await new Validator().validate(broken)).valid).toBe(false);
    // Every route the server has is documented, and every documented operation is served.
    for (const [path, operations] of Object.entries(body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations).filter((m) => m !== 'parameters')) {
        const url = `/v1${path.replace(/\{(\w+)\}/g, ':$1')}`;
        expect(app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${url}`).toBe(true);
      }
    }
  });

  it('holds a realistic catalog: hundreds of assets of every discovered kind', async () => {
    const { body } = await call('GET', '/assets?limit=1', '/assets');
    expect(body.total).toBeGreaterThan(400);
    for (const kind of ['postgres_table', 'postgres_view', 'mqtt_topic', 'amqp_exchange', 'amqp_queue', 'http_api']) {
      const list = await call('GET', `/assets?kind=${kind}&limit=1000`, '/assets');
      expect(list.body.assets.length, kind).toBeGreaterThan(0);
      expect(list.body.assets.every((a: { kind: string }) => a.kind === kind)).toBe(true);
    }
    const topics = await call('GET', '/assets?kind=mqtt_topic&limit=1000', '/assets');
    expect(topics.body.total).toBeGreaterThanOrEqual(300);
  });

  it('ranks exact names first: the product, then the table of that short name, then what merely mentions it', async () => {
    const { body } = await call('GET', '/search?q=heats', '/search');
    expect(body.hits.slice(0, 2).map((h: { id: string }) => h.id)).toEqual(['heats', 'postgres_table:curated.heats']);
    expect(body.hits.slice(0, 2).every((h: { exact: boolean }) => h.exact)).toBe(true);
    const ids = body.hits.map((h: { id: string }) => h.id);
    // The decoy that repeats the word is found, but after the exact matches.
    expect(ids.indexOf('melt-shop-report')).toBeGreaterThan(1);
    expect(ids).toContain('heats-archive');
    // Case and a qualified name: exact too.
    const qualified = await call('GET', '/search?q=CURATED.HEATS', '/search');
    expect(qualified.body.hits[0]).toMatchObject({ id: 'postgres_table:curated.heats', exact: true });
    // A KPI by its name, with the products that use the asset.
    const kpi = await call('GET', '/search?q=tonnage_cast_per_shift', '/search');
    expect(kpi.body.hits[0]).toMatchObject({ type: 'product', id: 'tonnage_cast_per_shift', exact: true });
    expect(kpi.body.hits[1]).toMatchObject({
      id: 'postgres_table:business.tonnage_cast_per_shift',
      products: ['tonnage_cast_per_shift'],
    });
  });

  it('finds columns (by name or description) and topics (by path, part or filter)', async () => {
    const column = await call('GET', '/search?q=cast_weight', '/search');
    const heats = column.body.hits.find((h: { id: string }) => h.id === 'postgres_table:curated.heats');
    expect(heats?.matchedColumns).toEqual(['cast_weight']);
    expect(column.body.hits.indexOf(heats)).toBeLessThan(3);
    const described = await call('GET', '/search?q=steel%20cast', '/search');
    expect(described.body.hits.map((h: { id: string }) => h.id)).toContain('postgres_table:curated.heats');
    const path = series[123]?.topic as string;
    const exact = await call('GET', `/search?q=${encodeURIComponent(path)}`, '/search');
    expect(exact.body.hits[0]).toMatchObject({ id: `mqtt_topic:sensors:${path}`, kind: 'mqtt_topic', exact: true });
    const part = await call('GET', '/search?q=heat.finished&kind=mqtt_topic', '/search');
    expect(part.body.hits.length).toBeGreaterThan(0);
    expect(part.body.hits.every((h: { name: string }) => h.name.includes('heat.finished'))).toBe(true);
    expect(part.body.hits.map((h: { name: string }) => h.name)).toContain('events:+/caster/+/events/heat.finished');
    const prefix = await call('GET', '/search?q=quen', '/search');
    expect(prefix.body.hits.map((h: { id: string }) => h.id)).toContain('quench_results');
    const nothing = await call('GET', '/search?q=zyxwvu', '/search');
    expect(nothing.body.hits).toEqual([]);
    expect((await call('GET', '/search', '/search')).status).toBe(400);
  });

  it('lists and filters products', async () => {
    const all = await call('GET', '/products?limit=1000', '/products');
    expect(all.body.total).toBe(curated.size + readdirSync(shippedKpis).length + 2 + 2);
    const steel = await call('GET', '/products?domain=steelmaking', '/products');
    expect(steel.body.products.length).toBeGreaterThan(1);
    expect(steel.body.products.every((p: { domain: string }) => p.domain === 'steelmaking')).toBe(true);
    const manual = await call('GET', '/products?source=manual', '/products');
    expect(manual.body.products.map((p: { name: string }) => p.name)).toEqual(['heats-archive', 'melt-shop-report']);
    const kpis = await call('GET', '/products?tag=kpi', '/products');
    expect(kpis.body.total).toBe(readdirSync(shippedKpis).length);
    expect((await call('GET', '/products?status=sleeping', '/products')).status).toBe(400);
    expect((await call('GET', '/products?colour=red', '/products')).status).toBe(400);
  });

  it('shows a product with its ports, assets, columns, units, access snippets and freshness', async () => {
    const { status, body } = await call('GET', '/products/heats', '/products/{name}');
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'heats', domain: 'steelmaking', source: 'discovered', version: '1.0.0' });
    const table = body.assets.find((a: { id: string }) => a.id === 'postgres_table:curated.heats');
    expect(table.columns.find((c: { name: string }) => c.name === 'cast_weight')).toMatchObject({
      unit: 'KGM',
      type: 'numeric',
    });
    expect(body.ports).toContainEqual({
      assetId: 'mqtt_topic:events:+/caster/+/events/heat.finished',
      direction: 'input',
    });
    const snippets = body.access.filter((a: { assetId: string }) => a.assetId === 'postgres_table:curated.heats');
    expect(snippets).toEqual(
      expect.arrayContaining([
        {
          assetId: 'postgres_table:curated.heats',
          kind: 'psql',
          snippet: expect.stringContaining('select * from curated.heats'),
          role: 'plantmesh_reader',
        },
        {
          assetId: 'postgres_table:curated.heats',
          kind: 'sdk',
          snippet: expect.stringContaining("sdk.curated('heats'"),
          role: 'plantmesh_reader',
        },
      ]),
    );
    // Nothing curated yet: no freshness, rather than a made-up one.
    expect(body.freshness).toEqual({ objectiveSeconds: 3_600, fresh: null });
    expect((await call('GET', '/products/nope', '/products/{name}')).status).toBe(404);
    const asset = await call(
      'GET',
      `/assets/${encodeURIComponent('mqtt_topic:events:+/caster/+/events/heat.finished')}`,
      '/assets/{id}',
    );
    expect(asset.body).toMatchObject({ kind: 'mqtt_topic', products: ['heats'], properties: { filter: true } });
  });

  it('gives psql lines that work for names that need quoting, and keep a shell quote inside them', async () => {
    await admin.query(
      `begin; set local role plantmesh_curated_owner; create table curated."Odd 'Name" (id int); commit`,
    );
    await loop.round();
    const { body } = await call(
      'GET',
      `/assets/${encodeURIComponent(`postgres_table:curated.Odd 'Name`)}`,
      '/assets/{id}',
    );
    expect(body.access.find((a: { kind: string }) => a.kind === 'psql').snippet).toBe(
      `psql "$PLANTMESH_URL" -c 'select * from curated."Odd '\\''Name" limit 10'`,
    );
    expect(body.rowCount).toBe(0);
    await admin.query(`drop table curated."Odd 'Name"`);
  });

  it('draws lineage upstream and downstream to a depth, column-level where the definition maps paths', async () => {
    const up = await call('GET', '/products/heat_yield/lineage?direction=upstream&depth=2', '/products/{name}/lineage');
    const ids = up.body.nodes.map((n: { id: string }) => n.id);
    expect(ids).toEqual(expect.arrayContaining(['postgres_table:business.heat_yield', 'postgres_table:curated.heats']));
    const columnEdge = up.body.edges.find((e: { toField?: string }) => e.toField === 'cast_weight');
    expect(columnEdge).toMatchObject({
      fromField: '/castWeight_t',
      to: 'postgres_table:curated.heats',
      relation: 'curates',
    });
    const shallow = await call(
      'GET',
      '/products/heat_yield/lineage?direction=upstream&depth=0',
      '/products/{name}/lineage',
    );
    expect(shallow.body.nodes.map((n: { id: string }) => n.id)).toEqual(['postgres_table:business.heat_yield']);
    const withoutColumns = await call(
      'GET',
      '/products/heat_yield/lineage?direction=upstream&depth=2&columns=false',
      '/products/{name}/lineage',
    );
    expect(withoutColumns.body.edges.some((e: { toField?: string }) => e.toField)).toBe(false);
    // A capped graph says so.
    const capped = await call(
      'GET',
      `/assets/${encodeURIComponent('amqp_exchange:plantmesh.ingest')}/lineage?direction=upstream&depth=3&maxNodes=10`,
      '/assets/{id}/lineage',
    );
    expect(capped.body.nodes.length).toBe(10);
    expect(capped.body.truncated).toBe(true);
    expect((await call('GET', '/products/heat_yield/lineage?depth=99', '/products/{name}/lineage')).status).toBe(400);
  });

  it('registers products with their own assets, and refuses what it must, saying why', async () => {
    const body = {
      title: 'Furnace digital twin <script>alert(1)</script>',
      domain: 'models',
      owner: 'twins@plant.local',
      description: '<img src=x onerror=alert(1)> a simulation of the reheating furnace',
      tags: ['simulation'],
      freshnessObjectiveSeconds: 600,
      ports: [
        { assetId: 'postgres_table:curated.slabs', direction: 'input' },
        { assetId: 'http_api:furnace-twin', direction: 'output' },
      ],
      assets: [
        { kind: 'http_api', name: 'furnace-twin', description: 'the twin', properties: { baseUrl: 'http://twin/api' } },
      ],
    };
    const created = await call('PUT', '/products/furnace-twin', '/products/{name}', { body });
    expect(created.status).toBe(201);
    // Hostile text is kept as data and served as JSON, never as a page.
    expect(created.body.title).toBe(body.title);
    expect(created.headers['content-type']).toMatch(/^application\/json/);
    expect(created.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    const deprecated = { ...body, status: 'deprecated' };
    const changed = await call('PUT', '/products/furnace-twin', '/products/{name}', { body: deprecated });
    expect(changed.body.status).toBe('deprecated');
    // Sent again unchanged, with its assets and ports: nothing is rewritten (no event, the same updatedAt).
    const again = await call('PUT', '/products/furnace-twin', '/products/{name}', { body: deprecated });
    expect(again.status).toBe(200);
    expect(again.body.updatedAt).toBe(changed.body.updatedAt);
    expect((await call('GET', '/search?q=digital%20twin', '/search')).body.hits[0]).toMatchObject({
      id: 'furnace-twin',
    });
    expect((await call('POST', '/products', '/products', { body: { ...body, name: 'furnace-twin' } })).status).toBe(
      409,
    );
    // Refusals: no token, a wrong one, no token configured, an unknown field, an unknown asset, a discovered product, too large.
    expect((await call('PUT', '/products/x', '/products/{name}', { body, token: null })).status).toBe(401);
    expect((await call('PUT', '/products/x', '/products/{name}', { body, token: 'wrong' })).status).toBe(401);
    expect((await call('PUT', '/products/x', '/products/{name}', { body, target: closed })).status).toBe(403);
    const unknown = await call('PUT', '/products/x', '/products/{name}', { body: { ...body, colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/additional properties/);
    const missing = await call('PUT', '/products/x', '/products/{name}', {
      body: { ...body, assets: [], ports: [{ assetId: 'postgres_table:curated.nothing', direction: 'input' }] },
    });
    expect(missing).toMatchObject({
      status: 400,
      body: { detail: expect.stringContaining('postgres_table:curated.nothing') },
    });
    expect((await call('PUT', '/products/heats', '/products/{name}', { body })).status).toBe(409);
    expect((await call('DELETE', '/products/heats', '/products/{name}')).status).toBe(409);
    const huge = await call('PUT', '/products/x', '/products/{name}', {
      raw: JSON.stringify({ ...body, description: 'x'.repeat(2_000_000) }),
    });
    expect(huge.status).toBe(413);
    expect((await call('PUT', '/products/x', '/products/{name}', { raw: '{"domain": ' })).status).toBe(400);
    expect((await call('PUT', '/products/Bad%20Name', '/products/{name}', { body })).status).toBe(400);
    // Removed with the asset registered with it; discovery does not bring it back nor touch it while it is there.
    await loop.round();
    expect((await call('GET', '/products/furnace-twin', '/products/{name}')).status).toBe(200);
    expect((await call('DELETE', '/products/furnace-twin', '/products/{name}')).status).toBe(204);
    expect((await call('GET', `/assets/${encodeURIComponent('http_api:furnace-twin')}`, '/assets/{id}')).status).toBe(
      404,
    );
    expect((await call('DELETE', '/products/furnace-twin', '/products/{name}')).status).toBe(404);
  });

  it('exports per-product freshness, objective and rows for Prometheus', async () => {
    await admin.query(
      `insert into curated.heats (heat_id, grade, finished_at, _event_seq, _event_id, _definition_version)
       values ('H01-000001', 'S355', now() - interval '2 hours', 1, 'e1', '1.0.0')`,
    );
    await loop.round();
    const text = await registry.metrics();
    const value = (name: string, product: string) =>
      Number(new RegExp(`^${name}\\{[^}]*product="${product}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('plantmesh_catalog_product_data_age_seconds', 'heats')).toBeGreaterThanOrEqual(7_200);
    expect(value('plantmesh_catalog_product_data_age_seconds', 'heats')).toBeLessThan(7_300);
    expect(value('plantmesh_catalog_product_freshness_objective_seconds', 'heats')).toBe(3_600);
    expect(value('plantmesh_catalog_product_rows', 'heats')).toBe(1);
    // A product without data has an objective but no age.
    expect(value('plantmesh_catalog_product_freshness_objective_seconds', 'slabs')).toBe(3_600);
    expect(Number.isNaN(value('plantmesh_catalog_product_data_age_seconds', 'slabs'))).toBe(true);
    const detail = await call('GET', '/products/heats', '/products/{name}');
    expect(detail.body.freshness).toMatchObject({ fresh: false, objectiveSeconds: 3_600 });
    expect(text).toMatch(/plantmesh_catalog_discovery_runs_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
  });
});
