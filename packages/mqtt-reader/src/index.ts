export { Batcher } from './batcher.js';
export { defaultClientId, type ReaderProfile, readerEnv } from './config.js';
export { DeferredPubacks } from './deferred-pubacks.js';
export { createReaderMetrics, type ReaderMetrics } from './metrics.js';
export {
  type EventLimits,
  type Parsed,
  type ParsedEvent,
  parseEvent,
  parseSamples,
  type RefusalKind,
} from './parse.js';
export { Reader, type ReaderOptions } from './reader.js';
