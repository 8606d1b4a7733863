export { catalogEnv } from './config.js';
export {
  type DiscoveredStore,
  type DiscoveryOptions,
  discover,
  discoveredStores,
  fingerprint,
  type Snapshot,
  shortName,
  topicMatches,
} from './discovery.js';
export { type HttpApi, RemoteOpenApi } from './http-apis.js';
export { CatalogMetrics, DiscoveryLoop, type DiscoveryLoopOptions } from './loop.js';
export * from './model.js';
export { openApiDocument, registrationSchema } from './openapi.js';
export { buildServer, type CatalogServerOptions } from './server.js';
export {
  CatalogStore,
  freshnessOf,
  ProductConflictError,
  type ProductFilter,
  type ReconcileResult,
  type SearchHit,
  searchQuery,
} from './store.js';
