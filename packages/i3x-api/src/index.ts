export { ApiKeyStore, type ApiKeyStoreOptions, apiKeyPattern, hashApiKey } from './auth/api-keys.js';
export { type OidcOptions, OidcVerifier } from './auth/oidc.js';
export type { RateLimits } from './auth/plugin.js';
export { type Principal, type Scope, scopes } from './auth/principal.js';
export { i3xEnv } from './config.js';
export { bulk, failure, I3xError, notFound, ok, Truncation } from './envelope.js';
export { ModelReader, type ResolvedObject } from './model.js';
export { docsPage, publishedDocument, scopeOfTag } from './openapi.js';
export { buildServer, defaultLimits, defaultRateLimits, type I3xLimits, type I3xServerOptions } from './server.js';
export { LiveFeed, type LiveFeedOptions } from './subscriptions/feed.js';
export {
  defaultSubscriptionLimits,
  type SubscriptionLimits,
  SubscriptionStore,
  type SyncBatch,
} from './subscriptions/store.js';
export { StreamHub, type StreamHubOptions } from './subscriptions/streams.js';
export { ModelSync, type ModelSyncOptions, storePlatformOnce } from './sync.js';
export { utcSql } from './time.js';
export { type UpdateItem, type UpdateOperation, UpdateWriter } from './updates.js';
export { type CurrentValue, type History, sampleVqt, ValueReader, type Vqt } from './values.js';
