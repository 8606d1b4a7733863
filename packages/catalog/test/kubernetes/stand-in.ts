/**
 * A stand-in of the Kubernetes API server's list/watch protocol for Services, Deployments and ConfigMaps (no
 * cluster runs here): lists with a resourceVersion, `?watch=true` streams of newline-delimited watch events
 * (ADDED, MODIFIED, DELETED, BOOKMARK) from a resourceVersion, and what a real server does when that
 * resourceVersion is compacted away — 410 Gone as an HTTP answer or as an ERROR event with code 410. Tests
 * can drop every open watch mid-stream, compact the history and fail the next lists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Resource = 'services' | 'deployments' | 'configmaps';
const kinds: Record<Resource, { kind: string; apiVersion: string; group: string }> = {
  services: { kind: 'Service', apiVersion: 'v1', group: '/api/v1' },
  deployments: { kind: 'Deployment', apiVersion: 'apps/v1', group: '/apis/apps/v1' },
  configmaps: { kind: 'ConfigMap', apiVersion: 'v1', group: '/api/v1' },
};

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as JSON
type K8sObject = Record<string, any> & {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string };
};

interface Event {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
}

interface OpenWatch {
  resource: Resource;
  namespace: string | undefined;
  response: ServerResponse;
}

export class KubernetesStandIn {
  private server: Server | undefined;
  private rv = 100;
  private readonly objects = new Map<string, K8sObject>();
  private readonly events: Event[] = [];
  /** Watches from a resourceVersion at or below this are answered 410 Gone. */
  private compactedTo = 0;
  private readonly watches = new Set<OpenWatch>();
  /** How a too-old resourceVersion is answered: an HTTP 410, or a 200 stream with one ERROR event. */
  expiredAs: 'http' | 'event' = 'http';
  /** The next N lists answer 500. */
  failLists = 0;
  /** 410 Gone answers given (HTTP answers and ERROR events). */
  expired = 0;
  /** Every request, `METHOD path?query`. */
  readonly requests: string[] = [];
  private uid = 0;

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo | null)?.port}`;
  }

  /** A kubeconfig (as an object for KubeConfig.loadFromOptions, or YAML-compatible JSON for a file). */
  kubeconfig(namespace = 'plantmesh') {
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'catalog', user: { token: 'stand-in-token' } }],
      contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'catalog', namespace } }],
      'current-context': 'stand-in',
    };
  }

  /** Creates or replaces an object (ADDED or MODIFIED), with a new resourceVersion. */
  apply(
    resource: Resource,
    object: Omit<K8sObject, 'metadata'> & {
      metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
    },
  ): K8sObject {
    const namespace = object.metadata.namespace ?? 'plantmesh';
    const key = `${resource}/${namespace}/${object.metadata.name}`;
    const before = this.objects.get(key);
    this.rv += 1;
    const stored: K8sObject = {
      apiVersion: kinds[resource].apiVersion,
      kind: kinds[resource].kind,
      ...structuredClone(object),
      metadata: {
        ...structuredClone(object.metadata),
        namespace,
        uid: before?.metadata.uid ?? `uid-${++this.uid}`,
        resourceVersion: String(this.rv),
      },
    };
    this.objects.set(key, stored);
    this.emit({ rv: this.rv, resource, type: before ? 'MODIFIED' : 'ADDED', object: stored });
    return stored;
  }

  remove(resource: Resource, name: string, namespace = 'plantmesh'): void {
    const key = `${resource}/${namespace}/${name}`;
    const before = this.objects.get(key);
    if (!before) return;
    this.objects.delete(key);
    this.rv += 1;
    this.emit({
      rv: this.rv,
      resource,
      type: 'DELETED',
      object: { ...before, metadata: { ...before.metadata, resourceVersion: String(this.rv) } },
    });
  }

  /** A BOOKMARK on every open watch, at the current resourceVersion. */
  bookmark(): void {
    for (const watch of this.watches) {
      this.write(watch, {
        type: 'BOOKMARK',
        object: {
          kind: kinds[watch.resource].kind,
          apiVersion: kinds[watch.resource].apiVersion,
          metadata: { resourceVersion: String(this.rv) },
        },
      });
    }
  }

  /** Closes every open watch mid-stream: half an event written, then the socket destroyed. */
  dropWatches(): number {
    const count = this.watches.size;
    for (const watch of this.watches) {
      watch.response.write('{"type":"MODIFIED","object":{"kind":');
      watch.response.socket?.destroy();
    }
    this.watches.clear();
    return count;
  }

  /** Forgets the history: every watch from an older resourceVersion is now 410 Gone (and open ones get it too). */
  compact(): void {
    this.compactedTo = this.rv;
    this.events.length = 0;
    for (const watch of this.watches) {
      this.expired += 1;
      this.write(watch, { type: 'ERROR', object: this.gone() });
      watch.response.end();
    }
    this.watches.clear();
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Lists served of a resource. */
  lists(resource: Resource): number {
    return this.requests.filter((r) => r.includes(`/${resource}`) && !r.includes('watch=true')).length;
  }

  async stop(): Promise<void> {
    for (const watch of this.watches) watch.response.socket?.destroy();
    this.watches.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private gone() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: compacted to ${this.compactedTo}`,
      reason: 'Expired',
      code: 410,
    };
  }

  private emit(event: Event): void {
    this.events.push(event);
    for (const watch of this.watches) {
      if (watch.resource !== event.resource) continue;
      if (watch.namespace && watch.namespace !== event.object.metadata.namespace) continue;
      this.write(watch, { type: event.type, object: event.object });
    }
  }

  private write(watch: OpenWatch, event: unknown): void {
    watch.response.write(`${JSON.stringify(event)}\n`);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    this.requests.push(`${request.method} ${url.pathname}${url.search}`);
    if (request.headers.authorization !== 'Bearer stand-in-token') {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 401, reason: 'Unauthorized' }));
      return;
    }
    const match = /^(\/api\/v1|\/apis\/apps\/v1)(?:\/namespaces\/([^/]+))?\/(services|deployments|configmaps)$/.exec(
      url.pathname,
    );
    const resource = match?.[3] as Resource | undefined;
    if (!match || !resource || kinds[resource].group !== match[1] || request.method !== 'GET') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound' }));
      return;
    }
    const namespace = match[2];
    const inScope = (object: K8sObject) => !namespace || object.metadata.namespace === namespace;
    if (url.searchParams.get('watch') !== 'true') {
      if (this.failLists > 0) {
        this.failLists -= 1;
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd is away' }));
        return;
      }
      const items = [...this.objects.entries()]
        .filter(([key, object]) => key.startsWith(`${resource}/`) && inScope(object))
        .map(([, object]) => {
          const { kind: _kind, apiVersion: _apiVersion, ...item } = object;
          return item;
        });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          kind: `${kinds[resource].kind}List`,
          apiVersion: kinds[resource].apiVersion,
          metadata: { resourceVersion: String(this.rv) },
          items,
        }),
      );
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') || 0);
    if (from > 0 && from < this.compactedTo) {
      this.expired += 1;
      if (this.expiredAs === 'http') {
        response.writeHead(410, { 'content-type': 'application/json' });
        response.end(JSON.stringify(this.gone()));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`${JSON.stringify({ type: 'ERROR', object: this.gone() })}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    const watch: OpenWatch = { resource, namespace, response };
    if (from === 0) {
      for (const [key, object] of this.objects) {
        if (key.startsWith(`${resource}/`) && inScope(object)) this.write(watch, { type: 'ADDED', object });
      }
    } else {
      for (const event of this.events) {
        if (event.rv > from && event.resource === resource && inScope(event.object))
          this.write(watch, { type: event.type, object: event.object });
      }
    }
    this.watches.add(watch);
    request.on('close', () => this.watches.delete(watch));
  }
}
