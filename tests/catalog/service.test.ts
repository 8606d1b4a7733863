/**
 * The catalog as it runs: its own process (packages/catalog/src/main.ts) logged in as its own login
 * (plantmesh_catalog, made by the migrations), beside the curated ETL. It is ready once it has discovered,
 * serves the API and its ops port, follows the stores as they change (periodic re-discovery), exports the
 * per-product gauges, can do no more than read the other stores, and stops cleanly on SIGTERM.
 */
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '@plantmesh/schema';
import { freePort, type ManagedProcess, startServiceProcess, waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const entry = join(import.meta.dirname, '../../packages/catalog/src/main.ts');
const i3xEntry = join(import.meta.dirname, '../../packages/i3x-api/src/main.ts');
const TOKEN = 'a-registration-token-for-the-test';

describe('catalog service', () => {
  const platform = useIngestPlatform();
  const password = generatePassword();
  const i3xPassword = generatePassword();
  let catalog: ManagedProcess;
  let i3xApi: ManagedProcess;
  let api: string;
  let ops: string;
  let asCatalog: pg.Pool;

  beforeAll(async () => {
    // The catalog's and the I3X API's logins, as `plantmesh migrate` makes them with <SERVICE>_DB_PASSWORD.
    await migrate(
      storeUrls({ DATABASE_URL: platform().postgres.url }, stores),
      createLogger({ service: 'test', version: '0', level: 'silent' }),
      { catalog: password, 'i3x-api': i3xPassword },
    );
    await platform().startCuratedEtl();
    // The I3X API (plain HTTP, as plantmesh up runs it), and a read key for the catalog made by the CLI.
    const i3xPort = await freePort();
    i3xApi = startServiceProcess({
      entry: i3xEntry,
      env: {
        DATABASE_URL: serviceUrl(platform().postgres.url, 'i3x-api', i3xPassword),
        I3X_HOST: '127.0.0.1',
        I3X_PORT: String(i3xPort),
        ALLOW_PLAIN_HTTP: 'true',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(await freePort()),
        MODEL_SYNC_MS: '500',
      },
      logFile: join(platform().logDir, 'i3x-api.log'),
    });
    const created = await platform().cli(['keys', 'create', 'catalog', '--scopes', 'read']);
    const key = /pmk_[\w-]{43}/.exec(created.output)?.[0];
    expect(key, created.output).toBeDefined();
    await waitFor('i3x-api serving', async () => {
      if (!i3xApi.alive) throw new Error(`i3x-api exited:\n${i3xApi.tail()}`);
      return (await fetch(`http://127.0.0.1:${i3xPort}/v1/info`).catch(() => undefined))?.status === 200;
    });
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    const url = serviceUrl(platform().postgres.url, 'catalog', password);
    catalog = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: url,
        CATALOG_HOST: '127.0.0.1',
        CATALOG_PORT: String(apiPort),
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        DISCOVERY_INTERVAL_MS: '1000',
        REGISTRATION_TOKEN: TOKEN,
        I3X_URL: `http://127.0.0.1:${i3xPort}`,
        I3X_API_KEY: key as string,
      },
      logFile: join(platform().logDir, 'catalog.log'),
    });
    api = `http://127.0.0.1:${apiPort}/v1`;
    ops = `http://127.0.0.1:${opsPort}`;
    await waitFor('catalog ready', async () => {
      if (!catalog.alive) throw new Error(`catalog exited:\n${catalog.tail()}`);
      return (await fetch(`${ops}/readyz`).catch(() => undefined))?.status === 200;
    });
    asCatalog = new pg.Pool({ connectionString: url, max: 1 });
    asCatalog.on('error', () => {});
  });

  afterAll(async () => {
    await asCatalog?.end();
    await catalog?.stop('SIGKILL');
    await i3xApi?.stop('SIGKILL');
  });

  it('serves the discovered products once ready', async () => {
    const response = await fetch(`${api}/products?limit=1000`);
    expect(response.status).toBe(200);
    const { products } = (await response.json()) as { products: Array<{ name: string }> };
    expect(products.map((p) => p.name)).toEqual(
      expect.arrayContaining(['heats', 'plates', 'raw-events', 'sensor-samples']),
    );
    const own = (await (await fetch(`${api}/assets/${encodeURIComponent('http_api:plantmesh-catalog')}`)).json()) as {
      properties: { openapi: { openapi: string } };
    };
    expect(own.properties.openapi.openapi).toBe('3.1.0');
    const heats = (await (await fetch(`${api}/products/heats`)).json()) as {
      access: Array<{ kind: string; snippet: string }>;
    };
    expect(heats.access.find((a) => a.kind === 'psql')?.snippet).toBe(
      `psql "$PLANTMESH_URL" -c 'select * from curated.heats limit 10'`,
    );
  });

  it('lists the I3X API with its OpenAPI document, and the I3X namespaces and product types it serves', async () => {
    const asset = async (id: string) => {
      const response = await fetch(`${api}/assets/${encodeURIComponent(id)}`);
      return response.status === 200
        ? ((await response.json()) as { properties: Record<string, unknown>; products: string[] })
        : undefined;
    };
    await waitFor(
      'the I3X product types discovered',
      async () => (await asset('i3x_type:plantmesh:product:heats')) !== undefined,
      20_000,
    );
    const i3x = (await asset('http_api:plantmesh-i3x')) as NonNullable<Awaited<ReturnType<typeof asset>>>;
    expect((i3x.properties.openapi as { openapi: string; paths: Record<string, unknown> }).paths).toHaveProperty(
      '/objects',
    );
    expect((await asset('i3x_type:plantmesh:product:heats'))?.products).toEqual(['heats']);
    const heats = (await (await fetch(`${api}/products/heats`)).json()) as {
      access: Array<{ kind: string; snippet: string }>;
    };
    expect(heats.access.find((a) => a.kind === 'i3x')?.snippet).toContain(
      `/v1/objects?typeElementId=${encodeURIComponent('plantmesh:product:heats')}`,
    );
    const namespaces = (await (await fetch(`${api}/assets?kind=i3x_namespace`)).json()) as {
      assets: Array<{ name: string }>;
    };
    expect(namespaces.assets.map((a) => a.name)).toContain('https://plantmesh.dev/ns/plant');
  });

  it('follows the stores: a new topic and a new event appear without a restart, and the gauges follow', async () => {
    await platform().query(
      `insert into raw.events (id, topic, source, received_at, payload)
       values ('svc-1', 'plant1/caster/strand9/events/heat.finished', 'events', now(), '{}')`,
    );
    const id = encodeURIComponent('mqtt_topic:events:plant1/caster/strand9/events/heat.finished');
    await waitFor('the new topic discovered', async () => (await fetch(`${api}/assets/${id}`)).status === 200, 15_000);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_catalog_product_freshness_objective_seconds\{[^}]*product="heats"[^}]*\} 3600/);
    expect(metrics).toMatch(/plantmesh_catalog_product_data_age_seconds\{[^}]*product="raw-events"[^}]*\} \d/);
    expect(metrics).toMatch(/plantmesh_catalog_discovery_runs_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
  });

  it('registers through the API with its token only', async () => {
    const body = JSON.stringify({
      domain: 'models',
      owner: 'me',
      ports: [{ assetId: 'postgres_table:curated.heats', direction: 'input' }],
    });
    const put = (token?: string) =>
      fetch(`${api}/products/my-model`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
    expect((await put()).status).toBe(401);
    expect((await put(TOKEN)).status).toBe(201);
  });

  it('logs in as its own login, which reads the stores and writes only its own', async () => {
    const { rows } = await asCatalog.query<{ user: string }>('select current_user as user');
    expect(rows).toEqual([{ user: 'plantmesh_catalog' }]);
    await expect(asCatalog.query('select count(*) from raw.events')).resolves.toBeDefined();
    await expect(
      asCatalog.query(
        `insert into raw.events (id, topic, source, received_at, payload) values ('x', 't', 's', now(), '{}')`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(asCatalog.query('delete from curated.heats')).rejects.toThrow(/permission denied/);
    await expect(asCatalog.query('select count(*) from i3x.api_keys')).rejects.toThrow(/permission denied/);
    await expect(asCatalog.query('create table catalog.x (id int)')).rejects.toThrow(/permission denied/);
    const [server] = await platform().query<{ rolsuper: boolean; rolcreaterole: boolean }>(
      "select rolsuper, rolcreaterole from pg_roles where rolname = 'plantmesh_catalog'",
    );
    expect(server).toEqual({ rolsuper: false, rolcreaterole: false });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await catalog.stop('SIGTERM')).toBe(0);
  });
});
