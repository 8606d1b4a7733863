import { connectPostgres, runService } from '@plantmesh/core';
import { DefinitionError, DefinitionsFolder } from '@plantmesh/etl-curated';
import { storeUrls } from '@plantmesh/schema';
import { businessEnv } from './config.js';
import { readKpiDefinition } from './definition.js';
import { createKpiMetrics } from './metrics.js';
import { applyKpi, curatedRegistry, registryProblems } from './registry.js';
import { RollupMaintainer } from './rollups.js';
import { KpiWorker } from './worker.js';

await runService(
  { name: 'etl-business', packageJson: new URL('../package.json', import.meta.url), env: businessEnv },
  async (runtime) => {
    const { config, log, metrics, shutdown } = runtime;
    const urls = storeUrls(config, ['curated', 'business', 'metrics']);
    const stores = {
      curated: await connectPostgres(runtime, urls.curated, 'postgres-curated'),
      business: await connectPostgres(runtime, urls.business, 'postgres-business'),
      metrics: await connectPostgres(runtime, urls.metrics, 'postgres-metrics'),
    };
    await stores.curated.waitForTables(['curated.definitions', 'curated.changes'], shutdown.signal);
    await stores.business.waitForTables(['business.kpi_definitions', 'business.dirty_windows'], shutdown.signal);
    await stores.metrics.waitForTables(['metrics.sample_changes', 'metrics.rollup_state'], shutdown.signal);

    const kpiMetrics = createKpiMetrics(metrics);
    const folder = new DefinitionsFolder(
      config.KPI_DEFINITIONS_DIR,
      async (text, file) => {
        const { value: definition, at } = readKpiDefinition(text, file);
        const registry = await curatedRegistry(stores.curated.pool);
        const problems = registryProblems(definition, registry, at);
        // Missing inputs may be applied later by the curated ETL (both start together): tried again.
        if (problems.length > 0) throw new DefinitionError(problems, true);
        const entityKey = definition.window.entity ? registry.get(definition.window.entity)?.key[0] : undefined;
        const client = await stores.business.pool.connect();
        try {
          const outcome = await applyKpi(client, definition, entityKey, file);
          return { name: definition.kpi.name, version: definition.kpi.version, outcome };
        } finally {
          client.release();
        }
      },
      log,
      (file) => kpiMetrics.definitionErrors.inc({ file }),
    );
    await folder.start(config.RESCAN_MS);
    shutdown.add('definitions', () => folder.stop());

    const worker = new KpiWorker(stores, {
      changesPerBatch: config.CHANGES_PER_BATCH,
      windowsPerBatch: config.WINDOWS_PER_BATCH,
      pollMs: config.POLL_MS,
      log,
      metrics: kpiMetrics,
    });
    worker.start();
    shutdown.add('worker', () => worker.stop());
    const rollups = new RollupMaintainer(stores, {
      pollMs: config.ROLLUP_MS,
      pruneMs: config.PRUNE_MS,
      log,
      registry: metrics,
    });
    rollups.start();
    shutdown.add('rollups', () => rollups.stop());
    log.info({ definitions: config.KPI_DEFINITIONS_DIR }, 'computing KPIs');
  },
);
