export { businessEnv, shippedKpis } from './config.js';
export {
  type KpiColumn,
  type KpiDefinition,
  loadKpiDefinition,
  readKpiDefinition,
  type WindowKind,
  windowColumns,
  windowedSql,
} from './definition.js';
export { CompiledKpi, type KpiWindow } from './kpi.js';
export { createKpiMetrics, type KpiMetrics } from './metrics.js';
export { applyKpi, curatedRegistry, registryProblems } from './registry.js';
export { entityKeysSql, pathToEntity } from './relationships.js';
export { RollupMaintainer, type RollupOptions } from './rollups.js';
export { addKpiColumnDdl, kpiTableDdl, windowColumnsOf } from './table.js';
export {
  type BusinessStores,
  KpiCache,
  type MarkResult,
  markSampleWindows,
  markWindows,
  type RecomputeResult,
  recomputeWindows,
} from './windows.js';
export { KpiWorker, type KpiWorkerOptions } from './worker.js';
