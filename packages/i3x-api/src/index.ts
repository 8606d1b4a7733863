export { i3xEnv } from './config.js';
export { bulk, failure, I3xError, notFound, ok, Truncation } from './envelope.js';
export { ModelReader, type ResolvedObject } from './model.js';
export { buildServer, defaultLimits, type I3xLimits, type I3xServerOptions } from './server.js';
export { ModelSync, type ModelSyncOptions, storePlatformOnce } from './sync.js';
export { utcSql } from './time.js';
export { type CurrentValue, type History, sampleVqt, ValueReader, type Vqt } from './values.js';
