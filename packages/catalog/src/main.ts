import { AmqpClient, catalogExchange, checkIngestTopology, connectPostgres, runService } from '@plantmesh/core';
import { storeUrls } from '@plantmesh/schema';
import { catalogEnv } from './config.js';
import { type DiscoveredStore, discoveredStores } from './discovery.js';
import { CatalogEventRelay } from './events.js';
import { type HttpApi, RemoteOpenApi } from './http-apis.js';
import { KubernetesWatcher, kubernetesConnection, kubernetesEnv } from './kubernetes/index.js';
import { CatalogMetrics, DiscoveryLoop } from './loop.js';
import { openApiDocument } from './openapi.js';
import { buildServer } from './server.js';
import { CatalogStore } from './store.js';

await runService(
  {
    name: 'catalog',
    packageJson: new URL('../package.json', import.meta.url),
    env: { ...catalogEnv, ...kubernetesEnv },
  },
  async (runtime) => {
    const { config, log, metrics, shutdown, version } = runtime;
    const urls = storeUrls(config, [...discoveredStores, 'catalog']);
    // One pool per distinct database: stores that share one share a pool.
    const byUrl = new Map<string, Awaited<ReturnType<typeof connectPostgres>>>();
    for (const store of ['catalog', ...discoveredStores] as const) {
      if (!byUrl.has(urls[store]))
        byUrl.set(urls[store], await connectPostgres(runtime, urls[store], `postgres-${store}`));
    }
    const pool = (store: DiscoveredStore | 'catalog') =>
      byUrl.get(urls[store])?.pool as NonNullable<ReturnType<typeof byUrl.get>>['pool'];
    await byUrl.get(urls.catalog)?.waitForTables(['catalog.assets', 'catalog.products'], shutdown.signal);

    const publicUrl = config.CATALOG_PUBLIC_URL ?? `http://127.0.0.1:${config.CATALOG_PORT}`;
    // Registration events (ADR 0021): every change records its event in the outbox in its own transaction;
    // the relay publishes them on plantmesh.catalog with confirms. RabbitMQ away does not make the catalog
    // unready: the outbox keeps the events until it is back.
    let relay: CatalogEventRelay | undefined;
    const store = new CatalogStore(pool('catalog'), {
      events: config.AMQP_URL !== undefined,
      onEvents: () => relay?.wake(),
    });
    if (config.AMQP_URL) {
      const amqp = new AmqpClient({
        url: config.AMQP_URL,
        log,
        metrics,
        // Declared by the administrator (plantmesh migrate); the catalog's user may only publish there.
        setup: (channel) => checkIngestTopology(channel, { exchanges: [catalogExchange] }),
      });
      amqp
        .start()
        .catch((error) => log.warn({ err: error }, 'amqp: cannot connect; catalog events wait in the outbox'));
      shutdown.add('amqp', () => amqp.close());
      relay = new CatalogEventRelay({
        pool: pool('catalog'),
        amqp,
        log,
        publicUrl,
        pollMs: config.CATALOG_EVENTS_POLL_MS,
        stateIntervalMs: config.CATALOG_EVENTS_STATE_INTERVAL_MS,
        maxPending: config.CATALOG_EVENTS_MAX_PENDING,
        registry: metrics,
      });
      relay.start();
      const started = relay;
      shutdown.add('events', () => started.stop());
      log.info({ exchange: catalogExchange }, 'publishing registration events');
    } else {
      log.info('AMQP_URL is not set: no registration events');
    }
    const catalogMetrics = new CatalogMetrics(metrics);
    const i3xUrl = config.I3X_URL?.replace(/\/$/, '');
    const i3x = i3xUrl
      ? new RemoteOpenApi(
          {
            name: 'plantmesh-i3x',
            description: "CESMII's I3X 1.0 API over the information model, values and history",
            baseUrl: `${i3xUrl}/v1`,
          },
          `${i3xUrl}/v1/openapi.json`,
          config.I3X_API_KEY ? { 'x-api-key': config.I3X_API_KEY } : {},
        )
      : undefined;
    const ownApi: HttpApi = {
      name: 'plantmesh-catalog',
      description: 'The data-product catalog: products, assets, search and lineage',
      baseUrl: `${publicUrl.replace(/\/$/, '')}/v1`,
      openapi: openApiDocument(version, `${publicUrl.replace(/\/$/, '')}/v1`),
    };
    let i3xFailure: string | undefined;
    const httpApis = async (): Promise<HttpApi[]> => {
      if (!i3x) return [ownApi];
      const api = await i3x.get();
      if (i3x.failure && i3x.failure !== i3xFailure)
        log.warn({ reason: i3x.failure }, "the I3X API's OpenAPI document cannot be fetched");
      i3xFailure = i3x.failure;
      return [ownApi, api];
    };
    const topics = (list: string) =>
      list
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    const loop = new DiscoveryLoop({
      store,
      log,
      metrics: catalogMetrics,
      intervalMs: config.DISCOVERY_INTERVAL_MS,
      discovery: {
        pools: { raw: pool('raw'), metrics: pool('metrics'), curated: pool('curated'), business: pool('business') },
        exactCountLimit: config.EXACT_COUNT_LIMIT,
        queryTimeoutMs: config.DISCOVERY_QUERY_TIMEOUT_MS,
        readerTopics: { events: topics(config.EVENTS_READER_TOPICS), sensors: topics(config.SENSORS_READER_TOPICS) },
        freshness: { curated: config.CURATED_FRESHNESS_SECONDS, store: config.STORE_FRESHNESS_SECONDS },
        endpoints: {
          ...(i3xUrl ? { i3xUrl } : {}),
          catalogUrl: publicUrl,
          databaseUrlVariable: config.ACCESS_DATABASE_URL_VARIABLE,
        },
        httpApis,
      },
    });
    // The first round before serving: a catalog that answers is a filled one. A failure is retried by the loop.
    await loop.round().catch(() => undefined);
    loop.start();
    shutdown.add('discovery', () => loop.stop());

    // Annotated Services, Deployments and ConfigMaps (ADR 0019): in a pod with a token, or with KUBECONFIG.
    const kubernetes = kubernetesConnection(config);
    if (kubernetes) {
      const watcher = new KubernetesWatcher({
        kubeConfig: kubernetes.kubeConfig,
        namespaces: kubernetes.namespaces,
        store,
        log,
        registry: metrics,
        defaultFreshnessSeconds: config.REGISTERED_FRESHNESS_SECONDS,
        resyncMs: config.KUBERNETES_RESYNC_MS,
        onChange: () => void loop.refreshGauges().catch(() => undefined),
      });
      watcher.start();
      shutdown.add('kubernetes', () => watcher.stop());
      const { mode, server, namespaces } = kubernetes;
      log.info({ mode, server, namespaces }, 'watching Kubernetes for annotated data products');
      // Serve once the cluster's products are in (a cluster that does not answer delays the start 10 s, no more).
      if (!(await watcher.waitForSync(10_000)))
        log.warn('the Kubernetes API has not been listed yet; serving without it');
    } else {
      log.info('the Kubernetes watcher is off (no service-account token, no KUBECONFIG, or KUBERNETES_WATCH=off)');
    }

    const app = await buildServer({
      store,
      log,
      version,
      registry: metrics,
      maxBodyBytes: config.MAX_BODY_BYTES,
      defaultFreshnessSeconds: config.REGISTERED_FRESHNESS_SECONDS,
      publicUrl,
      ...(config.REGISTRATION_TOKEN ? { registrationToken: config.REGISTRATION_TOKEN } : {}),
      onChange: () => void loop.refreshGauges().catch(() => undefined),
    });
    if (!config.REGISTRATION_TOKEN) log.warn('REGISTRATION_TOKEN is not set: registration through the API is off');
    await app.listen({ host: config.CATALOG_HOST, port: config.CATALOG_PORT });
    // Registered last, so that it stops first: no new requests, those in flight finish.
    shutdown.add('http', () => app.close());
    log.info({ host: config.CATALOG_HOST, port: config.CATALOG_PORT }, 'serving the catalog at /v1');
  },
);
