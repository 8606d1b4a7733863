/**
 * The catalog process (packages/catalog/src/main.ts) with KUBECONFIG naming a stand-in of the Kubernetes API
 * (its list/watch protocol; no cluster runs here), logged in as its own login: the annotated objects are
 * products of source kubernetes by the time it is ready, follow the objects, cannot be changed through the
 * API, the watcher's gauges are on the ops port, and SIGTERM stops it cleanly with its watches open.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '@plantmesh/schema';
import { freePort, type ManagedProcess, PostgresServer, startServiceProcess, waitFor } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesStandIn } from '../../packages/catalog/test/kubernetes/stand-in.js';

const entry = join(import.meta.dirname, '../../packages/catalog/src/main.ts');
const TOKEN = 'a-registration-token-for-the-kubernetes-test';
const dp = (extra: Record<string, string> = {}) => ({ 'plantmesh.dev/data-product': 'true', ...extra });

describe('catalog service watching Kubernetes', () => {
  let server: PostgresServer;
  let kube: KubernetesStandIn;
  let catalog: ManagedProcess;
  let api: string;
  let ops: string;
  const dir = mkdtempSync(join(tmpdir(), 'catalog-kubernetes-'));

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    const password = generatePassword();
    await migrate(
      storeUrls({ DATABASE_URL: server.url }, stores),
      createLogger({ service: 'test', version: '0', level: 'silent' }),
      { catalog: password },
    );
    kube = await new KubernetesStandIn().start();
    kube.apply('deployments', {
      metadata: {
        name: 'furnace-twin',
        annotations: dp({ 'plantmesh.dev/domain': 'models', 'plantmesh.dev/owner': 'twins@plant.local' }),
      },
    });
    kube.apply('services', {
      metadata: { name: 'furnace-twin', annotations: dp({ 'plantmesh.dev/openapi-path': '/openapi.json' }) },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    kube.apply('services', { metadata: { name: 'unrelated' }, spec: { ports: [{ port: 80 }] } });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify(kube.kubeconfig('plantmesh')));
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    catalog = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: serviceUrl(server.url, 'catalog', password),
        CATALOG_HOST: '127.0.0.1',
        CATALOG_PORT: String(apiPort),
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        REGISTRATION_TOKEN: TOKEN,
        KUBECONFIG: kubeconfig,
        KUBERNETES_RESYNC_MS: '2000',
      },
      logFile: join(dir, 'catalog.log'),
    });
    api = `http://127.0.0.1:${apiPort}/v1`;
    ops = `http://127.0.0.1:${opsPort}`;
    await waitFor('catalog ready', async () => {
      if (!catalog.alive) throw new Error(`catalog exited:\n${catalog.tail()}`);
      return (await fetch(`${ops}/readyz`).catch(() => undefined))?.status === 200;
    });
  });

  afterAll(async () => {
    await catalog?.stop('SIGKILL');
    await kube?.stop();
    await server?.destroy();
  });

  const kubernetesProducts = async () => {
    const body = (await (await fetch(`${api}/products?source=kubernetes`)).json()) as {
      products: Array<{ name: string; ports: Array<{ assetId: string }> }>;
    };
    return body.products;
  };

  it('holds the annotated products once ready, and follows the objects', async () => {
    await waitFor('the first reconcile', async () => (await kubernetesProducts()).length === 1, 10_000);
    const [twin] = await kubernetesProducts();
    expect(twin).toMatchObject({
      name: 'furnace-twin',
      domain: 'models',
      owner: 'twins@plant.local',
      source: 'kubernetes',
      ports: [{ assetId: 'http_api:plantmesh/furnace-twin', direction: 'output' }],
    });
    kube.apply('configmaps', { metadata: { name: 'soft-sensor', annotations: dp() }, data: {} });
    await waitFor('an added product', async () => (await kubernetesProducts()).length === 2, 10_000);
    kube.remove('configmaps', 'soft-sensor');
    await waitFor('a removed product', async () => (await kubernetesProducts()).length === 1, 10_000);
  });

  it('refuses to change a Kubernetes product through the API', async () => {
    const response = await fetch(`${api}/products/furnace-twin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'x', owner: 'y', ports: [] }),
    });
    expect(response.status).toBe(409);
  });

  it('exports the watcher gauges, and stops cleanly on SIGTERM with its watches open', async () => {
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_catalog_kubernetes_synced\{[^}]*\} 1/);
    expect(metrics).toMatch(/plantmesh_catalog_kubernetes_objects\{kind="Service"[^}]*\} 2/);
    expect(kube.openWatches).toBe(3);
    expect(await catalog.stop('SIGTERM')).toBe(0);
  });
});
