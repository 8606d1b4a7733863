/**
 * The Kubernetes watcher against a stand-in of the API server's list/watch protocol (the only stand-in: no
 * cluster runs here) and a real PostgreSQL holding the catalog: the first list, objects added, changed and
 * deleted, a watch dropped mid-stream, 410 Gone as an HTTP answer and as an ERROR event, failing lists,
 * objects without the annotation and hostile annotations — after each, the catalog's `kubernetes` products
 * are exactly what the annotated objects say.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, createMetricsRegistry, parseEnv } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CatalogStore } from '../../src/index.js';
import { KubernetesWatcher, kubernetesConnection, kubernetesEnv } from '../../src/kubernetes/index.js';
import { KubernetesStandIn } from './stand-in.js';

const lines: Array<Record<string, unknown>> = [];
const log = createLogger({
  service: 'test',
  version: '0',
  level: 'info',
  destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
});

const dp = (extra: Record<string, string> = {}) => ({ 'plantmesh.dev/data-product': 'true', ...extra });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the Kubernetes watcher', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let store: CatalogStore;
  let api: KubernetesStandIn;
  let watcher: KubernetesWatcher | undefined;
  let registry: Registry;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(
      storeUrls({ DATABASE_URL: server.url }, stores),
      createLogger({ service: 't', version: '0', level: 'silent' }),
    );
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pool.on('error', () => {});
    store = new CatalogStore(pool);
    // What discovery holds: a table and a topic, which annotations may name.
    await store.reconcile({
      assets: [
        {
          id: 'postgres_table:curated.slabs',
          kind: 'postgres_table',
          name: 'curated.slabs',
          tags: [],
          source: 'discovered',
          columns: [],
          properties: {},
        },
        {
          id: 'postgres_table:curated.heats',
          kind: 'postgres_table',
          name: 'curated.heats',
          tags: [],
          source: 'discovered',
          columns: [],
          properties: {},
        },
        {
          id: 'mqtt_topic:sensors:plant1/furnace/#',
          kind: 'mqtt_topic',
          name: 'sensors:plant1/furnace/#',
          tags: [],
          source: 'discovered',
          columns: [],
          properties: { broker: 'sensors', filter: true },
        },
      ],
      access: [],
      products: [],
      edges: [],
    });
    await store.register(
      {
        name: 'hand-made',
        domain: 'x',
        owner: 'o',
        description: '',
        tags: [],
        status: 'active',
        freshnessObjectiveSeconds: 60,
        ports: [],
      },
      [],
    );
  });

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    await api?.stop();
    // Each test starts from no Kubernetes products.
    await store.retainProducts('kubernetes', []);
  });

  afterAll(async () => {
    await pool?.end();
    await server?.destroy();
  });

  async function startWatcher(options: { namespaces?: string[] | '*'; resyncMs?: number } = {}) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(JSON.stringify(api.kubeconfig()));
    registry = createMetricsRegistry('catalog');
    watcher = new KubernetesWatcher({
      kubeConfig,
      namespaces: options.namespaces ?? ['plantmesh'],
      store,
      log,
      registry,
      defaultFreshnessSeconds: 86_400,
      debounceMs: 30,
      resyncMs: options.resyncMs ?? 60_000,
      retry: { initialMs: 100, maxMs: 500 },
    });
    watcher.start();
    expect(await watcher.waitForSync(10_000)).toBe(true);
    return watcher;
  }

  /** The catalog's Kubernetes products, each with its ports, once the watcher is idle. */
  async function catalog() {
    await watcher?.idle();
    const { products } = await store.listProducts({ source: 'kubernetes' });
    return Object.fromEntries(
      products.map((p) => [p.name, p.ports.map((port) => `${port.direction} ${port.assetId}`).sort()]),
    );
  }

  async function converges(expected: Record<string, string[]>, what: string) {
    await until(what, async () => JSON.stringify(await catalog()) === JSON.stringify(expected));
    expect(await catalog()).toEqual(expected);
  }

  const furnaceTwin = {
    metadata: {
      name: 'furnace-twin',
      annotations: dp({
        'plantmesh.dev/title': 'Reheating furnace twin',
        'plantmesh.dev/domain': 'models',
        'plantmesh.dev/owner': 'twins@plant.local',
        'plantmesh.dev/description': 'Slab temperatures simulated per zone; temperature < 1300 °C',
        'plantmesh.dev/tags': 'simulation, furnace',
        'plantmesh.dev/freshness-objective-seconds': '600',
        'plantmesh.dev/inputs': 'postgres_table:curated.slabs, mqtt_topic:sensors:plant1/furnace/#',
      }),
    },
    spec: { replicas: 1 },
  };
  const furnaceApi = {
    metadata: {
      name: 'furnace-twin',
      annotations: dp({
        'plantmesh.dev/api-port': 'http',
        'plantmesh.dev/openapi-path': '/openapi.json',
        'plantmesh.dev/api-path': '/api',
      }),
    },
    spec: {
      ports: [
        { name: 'metrics', port: 9464 },
        { name: 'http', port: 8080 },
      ],
    },
  };

  it('lists, then follows objects added, changed and deleted; unannotated objects are not products', async () => {
    api = await new KubernetesStandIn().start();
    api.apply('deployments', furnaceTwin);
    api.apply('services', furnaceApi);
    api.apply('services', { metadata: { name: 'plain-service' }, spec: { ports: [{ port: 80 }] } });
    api.apply('configmaps', {
      metadata: { name: 'opted-out', annotations: { 'plantmesh.dev/data-product': 'false' } },
      data: {},
    });
    api.apply('deployments', { metadata: { name: 'elsewhere', namespace: 'other', annotations: dp() } });
    await startWatcher();
    await converges(
      {
        'furnace-twin': [
          'input mqtt_topic:sensors:plant1/furnace/#',
          'input postgres_table:curated.slabs',
          'output http_api:plantmesh/furnace-twin',
        ],
      },
      'the first list',
    );
    const detail = await store.product('furnace-twin');
    expect(detail).toMatchObject({
      title: 'Reheating furnace twin',
      domain: 'models',
      owner: 'twins@plant.local',
      tags: ['simulation', 'furnace'],
      source: 'kubernetes',
      freshnessObjectiveSeconds: 600,
      definedBy: 'kubernetes:plantmesh/Deployment/furnace-twin,plantmesh/Service/furnace-twin',
    });
    expect(detail?.assets.find((a) => a.kind === 'http_api')).toMatchObject({
      name: 'plantmesh/furnace-twin',
      source: 'kubernetes',
      properties: {
        baseUrl: 'http://furnace-twin.plantmesh.svc:8080/api',
        openapiUrl: 'http://furnace-twin.plantmesh.svc:8080/openapi.json',
      },
    });
    // The discovered table it reads stays discovered.
    expect((await store.asset('postgres_table:curated.slabs'))?.source).toBe('discovered');

    // Added, by the watch.
    api.apply('configmaps', {
      metadata: {
        name: 'quench-model',
        annotations: dp({
          'plantmesh.dev/owner': 'quality',
          'plantmesh.dev/outputs': '["amqp_exchange:quench.predictions"]',
        }),
      },
      data: {},
    });
    api.apply('deployments', {
      metadata: {
        name: 'quench-model',
        annotations: dp({ 'plantmesh.dev/domain': 'quality', 'plantmesh.dev/inputs': 'postgres_table:curated.slabs' }),
      },
    });
    await converges(
      {
        'furnace-twin': [
          'input mqtt_topic:sensors:plant1/furnace/#',
          'input postgres_table:curated.slabs',
          'output http_api:plantmesh/furnace-twin',
        ],
        // The exchange is not in the catalog: that port waits for discovery to find it.
        'quench-model': ['input postgres_table:curated.slabs'],
      },
      'an added product',
    );
    expect(watcher?.last?.pending).toEqual(['quench-model -> amqp_exchange:quench.predictions']);
    expect(await store.product('quench-model')).toMatchObject({ domain: 'quality', owner: 'quality' });

    // Modified: the Service no longer serves an API, the Deployment reads one input fewer.
    api.apply('services', { metadata: { name: 'furnace-twin', annotations: dp() }, spec: { ports: [{ port: 80 }] } });
    api.apply('deployments', {
      ...furnaceTwin,
      metadata: {
        ...furnaceTwin.metadata,
        annotations: {
          ...furnaceTwin.metadata.annotations,
          'plantmesh.dev/inputs': 'postgres_table:curated.slabs',
          'plantmesh.dev/owner': 'furnace-team',
        },
      },
    });
    await converges(
      {
        'furnace-twin': ['input postgres_table:curated.slabs'],
        'quench-model': ['input postgres_table:curated.slabs'],
      },
      'modified objects',
    );
    expect((await store.product('furnace-twin'))?.owner).toBe('furnace-team');
    // Its API asset went with the port that named it.
    expect(await store.asset('http_api:plantmesh/furnace-twin')).toBeUndefined();

    // Deleted: one object of two leaves the product; both, and it goes.
    api.remove('configmaps', 'quench-model');
    await converges(
      {
        'furnace-twin': ['input postgres_table:curated.slabs'],
        'quench-model': ['input postgres_table:curated.slabs'],
      },
      'one of two objects deleted',
    );
    expect((await store.product('quench-model'))?.owner).toBe('unknown');
    api.remove('deployments', 'quench-model');
    api.remove('services', 'furnace-twin');
    await converges({ 'furnace-twin': ['input postgres_table:curated.slabs'] }, 'deleted objects');
    api.remove('deployments', 'furnace-twin');
    await converges({}, 'everything deleted');
    // Products of other sources are untouched.
    expect((await store.product('hand-made'))?.source).toBe('manual');
    expect(await store.asset('postgres_table:curated.slabs')).toBeDefined();
    // A bookmark moves nothing.
    api.bookmark();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await catalog()).toEqual({});
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/plantmesh_catalog_kubernetes_objects\{kind="Service"[^}]*\} 1\n/);
    expect(metrics).toMatch(/plantmesh_catalog_kubernetes_synced(\{[^}]*\})? 1\n/);
  });

  it('resumes a watch dropped mid-stream and sees what changed while it was away', async () => {
    api = await new KubernetesStandIn().start();
    api.apply('deployments', {
      metadata: { name: 'a', annotations: dp({ 'plantmesh.dev/inputs': 'postgres_table:curated.slabs' }) },
    });
    api.apply('deployments', { metadata: { name: 'b', annotations: dp() } });
    await startWatcher();
    await converges({ a: ['input postgres_table:curated.slabs'], b: [] }, 'the first list');
    await until('three open watches', async () => api.openWatches === 3);
    const listsBefore = api.lists('deployments');
    expect(api.dropWatches()).toBe(3);
    // While no watch is open: one deleted, one changed, one added.
    api.remove('deployments', 'a');
    api.apply('deployments', {
      metadata: { name: 'b', annotations: dp({ 'plantmesh.dev/outputs': 'mqtt_topic:sensors:plant1/furnace/#' }) },
    });
    api.apply('services', { metadata: { name: 'c', annotations: dp() }, spec: {} });
    await converges({ b: ['output mqtt_topic:sensors:plant1/furnace/#'], c: [] }, 'after the dropped watch');
    await until('the watches open again', async () => api.openWatches === 3);
    // Resumed from its resourceVersion: the history was there, so no relist was needed.
    expect(api.lists('deployments')).toBe(listsBefore);
    expect(lines.some((l) => String(l.msg).startsWith('kubernetes: list or watch failed'))).toBe(true);
    expect(await registry.metrics()).toMatch(/plantmesh_catalog_kubernetes_errors_total\{stage="watch"[^}]*\} [1-9]/);
    // And it keeps following.
    api.remove('services', 'c');
    await converges({ b: ['output mqtt_topic:sensors:plant1/furnace/#'] }, 'a deletion after the resumption');
  });

  for (const expiredAs of ['http', 'event'] as const) {
    it(`relists when its resourceVersion is too old (410 Gone as ${expiredAs === 'http' ? 'an HTTP answer' : 'an ERROR event'})`, async () => {
      api = await new KubernetesStandIn().start();
      api.expiredAs = expiredAs;
      api.apply('deployments', { metadata: { name: 'kept', annotations: dp() } });
      api.apply('deployments', { metadata: { name: 'gone', annotations: dp() } });
      api.apply('configmaps', {
        metadata: { name: 'changed', annotations: dp({ 'plantmesh.dev/owner': 'before' }) },
        data: {},
      });
      await startWatcher();
      await converges({ changed: [], gone: [], kept: [] }, 'the first list');
      await until('three open watches', async () => api.openWatches === 3);
      const lists = api.lists('deployments') + api.lists('configmaps');
      // Away, and the history it would resume from is compacted: the deletion is in no event it can get.
      api.dropWatches();
      api.remove('deployments', 'gone');
      api.apply('configmaps', {
        metadata: { name: 'changed', annotations: dp({ 'plantmesh.dev/owner': 'after' }) },
        data: {},
      });
      api.apply('services', { metadata: { name: 'new', annotations: dp() } });
      api.compact();
      await converges({ changed: [], kept: [], new: [] }, 'after the relist');
      // Each resumed watch was told 410 Gone (three kinds), and listed again.
      expect(api.expired).toBeGreaterThanOrEqual(3);
      expect((await store.product('changed'))?.owner).toBe('after');
      expect(api.lists('deployments') + api.lists('configmaps')).toBeGreaterThan(lists);
      const gone = api.requests.filter((r) => r.includes('watch=true'));
      expect(gone.length).toBeGreaterThan(3);

      // Compacted while watching: the open watches get the ERROR event with code 410 and relist too.
      await until('three open watches', async () => api.openWatches === 3);
      const before = api.lists('services');
      api.apply('services', { metadata: { name: 'late', annotations: dp() } });
      await converges({ changed: [], kept: [], late: [], new: [] }, 'a late service');
      const expired = api.expired;
      api.compact();
      expect(api.expired).toBe(expired + 3);
      await until('a relist of services', async () => api.lists('services') > before);
      api.remove('services', 'late');
      await converges({ changed: [], kept: [], new: [] }, 'after the in-stream 410');
    });
  }

  it('keeps what it had while lists fail, and converges when they work again', async () => {
    api = await new KubernetesStandIn().start();
    api.apply('deployments', { metadata: { name: 'first', annotations: dp() } });
    api.failLists = 4;
    await startWatcher();
    await converges({ first: [] }, 'the first list after failures');
    expect(
      lines.filter((l) => String(l.msg).startsWith('kubernetes: list or watch failed')).length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('refuses hostile annotations with a log line, and keeps going', async () => {
    api = await new KubernetesStandIn().start();
    lines.length = 0;
    api.apply('deployments', {
      metadata: { name: 'huge', annotations: dp({ 'plantmesh.dev/description': 'x'.repeat(200_000) }) },
    });
    api.apply('deployments', {
      metadata: { name: 'script', annotations: dp({ 'plantmesh.dev/description': 'nice <script>alert(1)</script>' }) },
    });
    api.apply('deployments', {
      metadata: { name: 'img', annotations: dp({ 'plantmesh.dev/title': '<img src=x onerror=alert(1)>' }) },
    });
    api.apply('deployments', {
      metadata: { name: 'json', annotations: dp({ 'plantmesh.dev/outputs': '["mqtt_topic:a", ' }) },
    });
    api.apply('deployments', {
      metadata: { name: 'kind', annotations: dp({ 'plantmesh.dev/outputs': 'file:/etc/passwd' }) },
    });
    api.apply('deployments', { metadata: { name: 'ctrl', annotations: dp({ 'plantmesh.dev/owner': 'a\u0000b' }) } });
    api.apply('deployments', {
      metadata: { name: 'badname', annotations: dp({ 'plantmesh.dev/product-name': '../../..' }) },
    });
    api.apply('configmaps', {
      metadata: { name: 'bad-doc', annotations: dp({ 'plantmesh.dev/document-key': 'product.yaml' }) },
      data: { 'product.yaml': 'kind: DataProduct\nid: [unclosed' },
    });
    api.apply('configmaps', {
      metadata: { name: 'no-key', annotations: dp({ 'plantmesh.dev/document-key': 'missing.yaml' }) },
      data: {},
    });
    // A name taken by a product registered by hand: not registered, logged.
    api.apply('deployments', { metadata: { name: 'hand-made', annotations: dp() } });
    api.apply('deployments', {
      metadata: { name: 'fine', annotations: dp({ 'plantmesh.dev/description': 'plain text' }) },
    });
    await startWatcher();
    await converges({ fine: [] }, 'only the sound object');
    const refused = lines.filter(
      (l) => l.msg === 'kubernetes: annotated object refused (it describes no product until its annotations are fixed)',
    );
    expect(Object.fromEntries(refused.map((l) => [l.object, l.annotation]))).toEqual({
      'plantmesh/Deployment/huge': 'plantmesh.dev/description',
      'plantmesh/Deployment/script': 'plantmesh.dev/description',
      'plantmesh/Deployment/img': 'plantmesh.dev/title',
      'plantmesh/Deployment/json': 'plantmesh.dev/outputs',
      'plantmesh/Deployment/kind': 'plantmesh.dev/outputs',
      'plantmesh/Deployment/ctrl': 'plantmesh.dev/owner',
      'plantmesh/Deployment/badname': 'plantmesh.dev/product-name',
      'plantmesh/ConfigMap/bad-doc': 'plantmesh.dev/document-key',
      'plantmesh/ConfigMap/no-key': 'plantmesh.dev/document-key',
    });
    expect(refused.find((l) => l.object === 'plantmesh/Deployment/json')?.problem).toMatch(/invalid JSON/);
    expect(refused.find((l) => l.object === 'plantmesh/Deployment/huge')?.problem).toMatch(/longer than 20000/);
    // Each refusal is logged once, not at every reconcile.
    await watcher?.reconcile();
    expect(lines.filter((l) => String(l.msg).startsWith('kubernetes: annotated object refused')).length).toBe(9);
    expect(lines.some((l) => l.msg === 'kubernetes: product not registered' && l.product === 'hand-made')).toBe(true);
    expect((await store.product('hand-made'))?.source).toBe('manual');
    // Fixed, it is taken.
    api.apply('deployments', {
      metadata: { name: 'script', annotations: dp({ 'plantmesh.dev/description': 'alert is fixed' }) },
    });
    await converges({ fine: [], script: [] }, 'a fixed object');
    expect(await registry.metrics()).toMatch(/plantmesh_catalog_kubernetes_refused_objects(\{[^}]*\})? 8\n/);
  });

  it('registers an ODCS contract and an ODPS product from ConfigMaps (one product: they name the same)', async () => {
    api = await new KubernetesStandIn().start();
    const fixtures = join(import.meta.dirname, '../standards/fixtures');
    const contract = readFileSync(join(fixtures, 'lims-heat-chemistry.odcs.yaml'), 'utf8');
    const product = readFileSync(join(fixtures, 'lims-heat-chemistry.odps.yaml'), 'utf8');
    api.apply('configmaps', {
      metadata: { name: 'lims-contract', annotations: dp({ 'plantmesh.dev/document-key': 'contract.yaml' }) },
      data: { 'contract.yaml': contract },
    });
    api.apply('configmaps', {
      metadata: { name: 'lims-product', annotations: dp({ 'plantmesh.dev/document-key': 'product.yaml' }) },
      data: { 'product.yaml': product },
    });
    await startWatcher();
    await converges(
      { heat_chemistry: ['input postgres_table:curated.heats', 'output postgres_table:lims.heat_chemistry'] },
      'the documents',
    );
    const table = await store.asset('postgres_table:lims.heat_chemistry');
    expect(table?.source).toBe('kubernetes');
    expect(table?.columns.slice(0, 2)).toMatchObject([
      { name: 'sample_id', type: 'character varying(20)', key: true },
      { name: 'heat_id', type: 'text' },
    ]);
    expect(await store.product('heat_chemistry')).toMatchObject({
      domain: 'quality',
      owner: 'a.novak@lab.example',
      freshnessObjectiveSeconds: 14_400,
      definedBy: 'kubernetes:plantmesh/ConfigMap/lims-contract,plantmesh/ConfigMap/lims-product',
    });
    api.remove('configmaps', 'lims-product');
    api.remove('configmaps', 'lims-contract');
    await converges({}, 'documents removed');
    expect(await store.asset('postgres_table:lims.heat_chemistry')).toBeUndefined();
  });

  it('is configured from KUBECONFIG outside a pod, in-cluster in one, and off without either', async () => {
    api = await new KubernetesStandIn().start();
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    const file = join(dir, 'config');
    writeFileSync(file, JSON.stringify(api.kubeconfig('plant-a')));
    const config = (env: Record<string, string>) => parseEnv(kubernetesEnv, env);
    expect(kubernetesConnection(config({}), {}, () => false)).toBeUndefined();
    expect(
      kubernetesConnection(config({ KUBECONFIG: file, KUBERNETES_WATCH: 'off' }), {}, () => false),
    ).toBeUndefined();
    const viaFile = kubernetesConnection(config({ KUBECONFIG: file }), {}, () => false);
    expect(viaFile).toMatchObject({ mode: 'kubeconfig', namespaces: ['plant-a'], server: api.url });
    expect(
      kubernetesConnection(config({ KUBECONFIG: file, KUBERNETES_NAMESPACES: 'a, b,a' }), {}, () => false)?.namespaces,
    ).toEqual(['a', 'b']);
    expect(
      kubernetesConnection(config({ KUBECONFIG: file, KUBERNETES_NAMESPACES: '*' }), {}, () => false)?.namespaces,
    ).toBe('*');
    expect(() => kubernetesConnection(config({ KUBERNETES_WATCH: 'in-cluster' }), {}, () => false)).toThrow(
      /no service-account token/,
    );
    expect(() => kubernetesConnection(config({ KUBERNETES_WATCH: 'kubeconfig' }), {}, () => false)).toThrow(
      /KUBECONFIG is not set/,
    );
    const inPod = kubernetesConnection(
      config({ KUBECONFIG: file }),
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      () => true,
    );
    expect(inPod?.mode).toBe('in-cluster');
    expect(() => config({ KUBERNETES_WATCH: 'maybe' })).toThrow(/KUBERNETES_WATCH/);

    // All namespaces through the cluster-wide paths.
    api.apply('deployments', { metadata: { name: 'here', namespace: 'plant-a', annotations: dp() } });
    api.apply('deployments', { metadata: { name: 'there', namespace: 'plant-b', annotations: dp() } });
    await startWatcher({ namespaces: '*' });
    await converges({ here: [], there: [] }, 'every namespace');
    expect((await store.product('there'))?.domain).toBe('plant-b');
    expect(api.requests.some((r) => r.startsWith('GET /apis/apps/v1/deployments?'))).toBe(true);
  });
});
