/**
 * The Kubernetes watcher: an informer (client-node's list-then-watch cache) per kind and namespace over
 * Services, Deployments and ConfigMaps, and a reconcile that makes the catalog's `kubernetes` products what
 * the annotated objects in those caches say (annotations.ts). Level-triggered: any event only schedules a
 * reconcile of the whole set, which also runs every resync period, so a missed or repeated event, a watch
 * that dropped or a relist after 410 Gone all end in the same catalog.
 *
 * What client-node's ListWatch does by itself (1.4): it lists, then watches from the list's resourceVersion;
 * a watch that ends cleanly is resumed from the last resourceVersion seen; a 410 (an HTTP answer or an ERROR
 * event with code 410) clears it, so the next start lists again, and objects gone from the new list are
 * deleted from the cache. Any other failure (a list that failed, a connection reset mid-stream, a 403) is
 * reported once and the informer stays stopped: here it is started again with backoff, from the last
 * resourceVersion (a 410 then leads to the relist).
 */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { backoffDelay, type Logger } from '@plantmesh/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import { assetId } from '../model.js';
import { type CatalogStore, ProductConflictError } from '../store.js';
import { type KubernetesProduct, productsFromObjects, type WatchedKind, type WatchedObject } from './annotations.js';

type Informer = ReturnType<typeof makeInformer<KubernetesObject>>;

export interface KubernetesWatcherOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch, or `*` for all. */
  namespaces: string[] | '*';
  store: CatalogStore;
  log: Logger;
  registry?: Registry;
  /** The objective of a product whose annotations name none. */
  defaultFreshnessSeconds: number;
  /** How often the caches are compared with the catalog without an event (default 60 s). */
  resyncMs?: number;
  /** How long events are gathered before a reconcile (default 250 ms). */
  debounceMs?: number;
  /** Backoff of a failed informer's restart. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Called after a reconcile changed the catalog. */
  onChange?: () => void;
}

export interface ReconcileOutcome {
  registered: string[];
  removed: string[];
  unchanged: number;
  /** Ports naming assets the catalog does not hold (yet): left out, tried again at the next reconcile. */
  pending: string[];
  refused: number;
  conflicts: string[];
}

interface Watched {
  kind: WatchedKind;
  namespace: string;
  informer: Informer;
  listed: boolean;
  failures: number;
  restart?: NodeJS.Timeout;
}

const paths: Record<WatchedKind, { group: string; resource: string }> = {
  Service: { group: '/api/v1', resource: 'services' },
  Deployment: { group: '/apis/apps/v1', resource: 'deployments' },
  ConfigMap: { group: '/api/v1', resource: 'configmaps' },
};

export class KubernetesWatcher {
  private readonly watched: Watched[] = [];
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** What was last registered per product (a fingerprint), to register only what changed. */
  private readonly applied = new Map<string, string>();
  /** Refusals already logged (object and resourceVersion), so that each is logged once. */
  private logged = new Set<string>();
  private readonly metrics: {
    objects: Gauge<'kind'>;
    products: Gauge;
    synced: Gauge;
    errors: Counter<'stage'>;
    lists: Counter<'kind'>;
    refused: Gauge;
  };
  private syncedWaiters: Array<() => void> = [];
  last: ReconcileOutcome | undefined;

  constructor(private readonly options: KubernetesWatcherOptions) {
    const registers = options.registry ? [options.registry] : [];
    const watched = () => this.watched;
    this.metrics = {
      objects: new Gauge({
        name: 'plantmesh_catalog_kubernetes_objects',
        help: 'Objects the Kubernetes watcher holds in its caches, by kind (annotated or not)',
        labelNames: ['kind'],
        registers,
        collect() {
          this.reset();
          for (const w of watched()) this.inc({ kind: w.kind }, w.informer.list().length);
        },
      }),
      products: new Gauge({
        name: 'plantmesh_catalog_kubernetes_products',
        help: 'Products the annotated Kubernetes objects describe',
        registers,
      }),
      refused: new Gauge({
        name: 'plantmesh_catalog_kubernetes_refused_objects',
        help: 'Annotated Kubernetes objects refused for their annotations (see the log for why)',
        registers,
      }),
      synced: new Gauge({
        name: 'plantmesh_catalog_kubernetes_synced',
        help: 'Whether every watched kind and namespace has been listed at least once (1) or not yet (0)',
        registers,
        collect: () => this.metrics.synced.set(this.synced ? 1 : 0),
      }),
      errors: new Counter({
        name: 'plantmesh_catalog_kubernetes_errors_total',
        help: 'Failures of the Kubernetes watcher by stage (watch: a list or watch failed; register: the catalog refused a product; reconcile: the catalog could not be reached)',
        labelNames: ['stage'],
        registers,
      }),
      lists: new Counter({
        name: 'plantmesh_catalog_kubernetes_lists_total',
        help: 'Full lists of a kind (the first, and each relist after 410 Gone)',
        labelNames: ['kind'],
        registers,
      }),
    };
  }

  /** Whether every informer has listed once: only then are products of vanished objects removed. */
  get synced(): boolean {
    return this.watched.length > 0 && this.watched.every((w) => w.listed);
  }

  /** Starts an informer per kind and namespace (a failed start is retried with backoff, never thrown). */
  start(): void {
    const { kubeConfig, namespaces } = this.options;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const list = (kind: WatchedKind, namespace: string): Promise<KubernetesListObject<KubernetesObject>> => {
      const all = namespace === '*';
      switch (kind) {
        case 'Service':
          return all ? core.listServiceForAllNamespaces() : core.listNamespacedService({ namespace });
        case 'Deployment':
          return all ? apps.listDeploymentForAllNamespaces() : apps.listNamespacedDeployment({ namespace });
        case 'ConfigMap':
          return all ? core.listConfigMapForAllNamespaces() : core.listNamespacedConfigMap({ namespace });
      }
    };
    for (const namespace of namespaces === '*' ? ['*'] : namespaces) {
      for (const kind of ['Service', 'Deployment', 'ConfigMap'] as const) {
        const { group, resource } = paths[kind];
        const path = namespace === '*' ? `${group}/${resource}` : `${group}/namespaces/${namespace}/${resource}`;
        const entry: Watched = { kind, namespace, listed: false, failures: 0 } as Watched;
        entry.informer = makeInformer<KubernetesObject>(kubeConfig, path, async () => {
          const result = await list(kind, namespace);
          this.metrics.lists.inc({ kind });
          // The cache takes the list's items right after this resolves; reconcile after that.
          setImmediate(() => {
            entry.listed = true;
            entry.failures = 0;
            this.schedule();
            if (this.synced) for (const wake of this.syncedWaiters.splice(0)) wake();
          });
          return result;
        });
        const changed = () => {
          entry.failures = 0;
          this.schedule();
        };
        entry.informer.on('add', changed);
        entry.informer.on('update', changed);
        entry.informer.on('delete', changed);
        entry.informer.on('error', (error: unknown) => this.failed(entry, path, error));
        this.watched.push(entry);
        entry.informer.start().catch((error: unknown) => this.failed(entry, path, error));
      }
    }
    this.resync = setInterval(() => this.schedule(0), this.options.resyncMs ?? 60_000);
    this.resync.unref?.();
  }

  /** Resolves once every informer has listed, or after `timeoutMs` (false then). */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.syncedWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private failed(entry: Watched, path: string, error: unknown): void {
    if (this.stopped) return;
    entry.failures += 1;
    this.metrics.errors.inc({ stage: 'watch' });
    const status =
      (error as { statusCode?: number; code?: number | string })?.statusCode ?? (error as { code?: unknown })?.code;
    const delay = backoffDelay(entry.failures, {
      initialMs: this.options.retry?.initialMs ?? 500,
      maxMs: this.options.retry?.maxMs ?? 30_000,
    });
    this.options.log.warn(
      { kind: entry.kind, namespace: entry.namespace, path, status, err: error, retryInMs: delay },
      'kubernetes: list or watch failed; restarting it (from the last resourceVersion, a relist if that is gone)',
    );
    clearTimeout(entry.restart);
    entry.restart = setTimeout(() => {
      if (this.stopped) return;
      entry.informer.start().catch((again: unknown) => this.failed(entry, path, again));
    }, delay);
  }

  /** Schedules a reconcile (events within the debounce time are gathered into one). */
  schedule(delay = this.options.debounceMs ?? 250): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.reconcile()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.metrics.errors.inc({ stage: 'reconcile' });
          this.options.log.warn(
            { err: error },
            'kubernetes: reconcile with the catalog failed; retried at the next event or resync',
          );
        })
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
    }, delay);
  }

  /** The annotated objects the caches hold now. */
  objects(): WatchedObject[] {
    return this.watched.flatMap((w) =>
      w.informer.list().map((object) => ({ ...(object as Omit<WatchedObject, 'kind'>), kind: w.kind })),
    );
  }

  /**
   * Makes the catalog's `kubernetes` products those the caches describe: each registered when it is new or
   * changed (or missing from the catalog), and, once every informer has listed, those no object describes any
   * more removed. Ports naming assets the catalog does not hold are left out until it does.
   */
  async reconcile(): Promise<ReconcileOutcome> {
    const { store, log } = this.options;
    const { products, refused } = productsFromObjects(this.objects(), {
      defaultFreshnessSeconds: this.options.defaultFreshnessSeconds,
    });
    const logged = new Set<string>();
    for (const refusal of refused) {
      const key = `${refusal.object}@${refusal.resourceVersion ?? ''}:${refusal.annotation}`;
      logged.add(key);
      if (!this.logged.has(key)) {
        this.metrics.errors.inc({ stage: 'annotation' });
        log.warn(
          refusal,
          'kubernetes: annotated object refused (it describes no product until its annotations are fixed)',
        );
      }
    }
    this.logged = logged;
    this.metrics.refused.set(refused.length);
    this.metrics.products.set(products.length);

    const ids = products.flatMap((p) => [...p.named, ...p.assets.map((a) => assetId(a.kind, a.name))]);
    const sources = await store.assetSources(ids);
    const existing = new Set<string>();
    for (let offset = 0; ; offset += 1_000) {
      const page = await store.listProducts({ source: 'kubernetes', limit: 1_000, offset });
      for (const product of page.products) existing.add(product.name);
      if (page.products.length < 1_000) break;
    }
    const outcome: ReconcileOutcome = {
      registered: [],
      removed: [],
      unchanged: 0,
      pending: [],
      refused: refused.length,
      conflicts: [],
    };
    for (const desired of products) {
      const resolved = this.resolve(desired, sources);
      outcome.pending.push(...resolved.pending);
      const fingerprint = JSON.stringify([resolved.product, resolved.assets]);
      if (existing.has(desired.product.name) && this.applied.get(desired.product.name) === fingerprint) {
        outcome.unchanged += 1;
        continue;
      }
      try {
        await store.register(resolved.product, resolved.assets, {
          source: 'kubernetes',
          ...(desired.document ? { document: desired.document } : {}),
        });
        this.applied.set(desired.product.name, fingerprint);
        outcome.registered.push(desired.product.name);
      } catch (error) {
        if (!(error instanceof ProductConflictError)) throw error;
        outcome.conflicts.push(desired.product.name);
        if (this.applied.get(desired.product.name) !== `conflict ${fingerprint}`) {
          this.metrics.errors.inc({ stage: 'register' });
          log.warn(
            { product: desired.product.name, objects: desired.objects, reason: error.message },
            'kubernetes: product not registered',
          );
        }
        this.applied.set(desired.product.name, `conflict ${fingerprint}`);
      }
    }
    if (this.synced) {
      outcome.removed = await store.retainProducts(
        'kubernetes',
        products.map((p) => p.product.name),
      );
      for (const name of outcome.removed) this.applied.delete(name);
    }
    if (outcome.registered.length || outcome.removed.length) {
      log.info(
        { registered: outcome.registered, removed: outcome.removed, pending: outcome.pending.length },
        'kubernetes: catalog products changed',
      );
      this.options.onChange?.();
    }
    this.last = outcome;
    return outcome;
  }

  /**
   * A product as it can be registered now: assets it describes that another source holds are named only;
   * ports to assets the catalog does not hold are left out (pending).
   */
  private resolve(
    desired: KubernetesProduct,
    sources: Map<string, string>,
  ): { product: KubernetesProduct['product']; assets: KubernetesProduct['assets']; pending: string[] } {
    const assets = desired.assets.filter((asset) => {
      const source = sources.get(assetId(asset.kind, asset.name));
      return source === undefined || source === 'kubernetes';
    });
    const described = new Set(assets.map((asset) => assetId(asset.kind, asset.name)));
    const pending: string[] = [];
    const ports = desired.product.ports.filter((port) => {
      const ok = described.has(port.assetId) || sources.has(port.assetId);
      if (!ok) pending.push(`${desired.product.name} -> ${port.assetId}`);
      return ok;
    });
    return { product: { ...desired.product, ports }, assets, pending };
  }

  /** Waits until no reconcile is scheduled or running. */
  async idle(): Promise<void> {
    while (this.timer || this.running) {
      await (this.running ?? new Promise((resolve) => setTimeout(resolve, 20)));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resync);
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watched) {
      clearTimeout(w.restart);
      await w.informer.stop();
    }
    await this.running;
  }
}
