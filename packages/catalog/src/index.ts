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
export {
  type AssetChanges,
  type CatalogChange,
  type CatalogEvent,
  CatalogEventRelay,
  type CatalogEventType,
  catalogEventSchema,
  catalogExchange,
  type EventRelayOptions,
  maxAssetIds,
  recordCatalogEvents,
  routingKeyOf,
} from './events.js';
export { type HttpApi, RemoteOpenApi } from './http-apis.js';
export { CatalogMetrics, DiscoveryLoop, type DiscoveryLoopOptions } from './loop.js';
export * from './model.js';
export { openApiDocument, registrationSchema } from './openapi.js';
export { buildServer, type CatalogServerOptions } from './server.js';
export {
  CatalogStore,
  type CatalogStoreOptions,
  freshnessOf,
  ProductConflictError,
  type ProductFilter,
  type ReconcileResult,
  type SearchHit,
  searchQuery,
} from './store.js';
