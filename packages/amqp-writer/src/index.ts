export { BatchConsumer, type BatchOptions } from './batch-consumer.js';
export { parseStreams, type WriterStream, writerEnv, writerStreams } from './config.js';
export { DeadLetterWriter } from './dead-letter-writer.js';
export { type EventBatch, EventWriter } from './event-writer.js';
export { createWriterMetrics, type WriterMetrics } from './metrics.js';
export { headerText, messageQuarantineEntry } from './quarantine-store.js';
export { SampleWriter } from './sample-writer.js';
export type { StreamWriter, WriteResult } from './stream-writer.js';
