import { connectPostgres, runService } from '@plantmesh/core';
import { storeUrls } from '@plantmesh/schema';
import { i3xEnv } from './config.js';
import { buildServer } from './server.js';
import { ModelSync, storePlatformOnce } from './sync.js';

await runService(
  { name: 'i3x-api', packageJson: new URL('../package.json', import.meta.url), env: i3xEnv },
  async (runtime) => {
    const { config, log, metrics, shutdown, version } = runtime;
    const urls = storeUrls(config, ['curated', 'metrics']);
    const curated = await connectPostgres(runtime, urls.curated, 'postgres-curated');
    const metricsStore =
      urls.metrics === urls.curated ? curated : await connectPostgres(runtime, urls.metrics, 'postgres-metrics');
    await curated.waitForTables(['curated.model_objects', 'curated.definitions'], shutdown.signal);
    await metricsStore.waitForTables(['metrics.series', 'metrics.latest', 'metrics.samples'], shutdown.signal);

    await storePlatformOnce(curated.pool);
    const sync = new ModelSync({
      curated: curated.pool,
      metrics: metricsStore.pool,
      plant: { uri: config.PLANT_NAMESPACE_URI, displayName: config.PLANT_NAMESPACE_NAME },
      log,
      intervalMs: config.MODEL_SYNC_MS,
    });
    await sync.round();

    const app = await buildServer({
      curated: curated.pool,
      metrics: metricsStore.pool,
      log,
      version,
      serverName: config.SERVER_NAME,
      registry: metrics,
      limits: {
        maxBodyBytes: config.MAX_BODY_BYTES,
        maxBulkItems: config.MAX_BULK_ITEMS,
        maxCompositionDepth: config.MAX_COMPOSITION_DEPTH,
        maxComponents: config.MAX_COMPONENTS,
        maxObjects: config.MAX_OBJECTS,
        maxHistoryValues: config.MAX_HISTORY_VALUES,
      },
    });
    sync.start();
    shutdown.add('model sync', () => sync.stop());
    await app.listen({ host: config.I3X_HOST, port: config.I3X_PORT });
    // Registered last, so that it stops first: no new requests, those in flight finish.
    shutdown.add('http', () => app.close());
    log.info({ host: config.I3X_HOST, port: config.I3X_PORT }, 'serving I3X 1.0 at /v1');
  },
);
