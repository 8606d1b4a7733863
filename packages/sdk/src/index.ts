export { type ConnectOptions, Plantmesh, type StreamOptions } from './client.js';
export { PlantmeshError, type PlantmeshErrorCode } from './errors.js';
export { type ExportFormat, type ExportOptions, type ExportSummary, exportCurated, exportSamples } from './export.js';
export { generateRowTypes } from './generate.js';
export type { LiveOptions, LiveSample } from './live.js';
export type {
  Bucket,
  CallOptions,
  Kpi,
  LatestValue,
  Product,
  Quality,
  RawEvent,
  Sample,
  Series,
  TableColumn,
  TimeRange,
  WriteResult,
} from './types.js';
