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
export * from './model.js';
export {
  CatalogStore,
  freshnessOf,
  ProductConflictError,
  type ProductFilter,
  type ReconcileResult,
  type SearchHit,
  searchQuery,
} from './store.js';
