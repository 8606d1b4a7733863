import { connectPostgres, runService } from '@plantmesh/core';
import { storeUrls } from '@plantmesh/schema';
import { etlEnv } from './config.js';
import { parseDefinition } from './definition.js';
import { DefinitionsFolder } from './definitions-folder.js';
import { createEtlMetrics } from './metrics.js';
import { applyDefinition } from './registry.js';
import { CuratedWorker } from './worker.js';

await runService(
  { name: 'etl-curated', packageJson: new URL('../package.json', import.meta.url), env: etlEnv },
  async (runtime) => {
    const { config, log, metrics, shutdown } = runtime;
    const urls = storeUrls(config, ['raw', 'curated']);
    const stores = {
      raw: await connectPostgres(runtime, urls.raw, 'postgres-raw'),
      curated: await connectPostgres(runtime, urls.curated, 'postgres-curated'),
    };
    await stores.raw.waitForTables(['raw.events', 'raw.quarantine'], shutdown.signal);
    await stores.curated.waitForTables(['curated.definitions', 'curated.watermarks'], shutdown.signal);

    const etlMetrics = createEtlMetrics(metrics);
    const folder = new DefinitionsFolder(
      config.DEFINITIONS_DIR,
      async (text, file) => {
        const definition = parseDefinition(text, file);
        const client = await stores.curated.pool.connect();
        try {
          const outcome = await applyDefinition(client, definition, file);
          return { name: definition.product.name, version: definition.product.version, outcome };
        } finally {
          client.release();
        }
      },
      log,
      (file) => etlMetrics.definitionErrors.inc({ file }),
    );
    await folder.start(config.RESCAN_MS);
    shutdown.add('definitions', () => folder.stop());

    const worker = new CuratedWorker(stores, {
      batchSize: config.BATCH_SIZE,
      pollMs: config.POLL_MS,
      log,
      metrics: etlMetrics,
    });
    worker.start();
    shutdown.add('worker', () => worker.stop());
    log.info({ definitions: config.DEFINITIONS_DIR }, 'curating');
  },
);
