/** A sensor series and its place in the ISA-95 hierarchy (api.series). */
export interface Series {
  /** The series' id in the store (joins with other api views). */
  seriesId: number;
  /** Its MQTT topic path: site/area/line/cell/tag. */
  path: string;
  /** The path's first level. */
  site: string | null;
  /** The path's second level. */
  area: string | null;
  /** The path's third level. */
  line: string | null;
  /** The path's fourth level. */
  cell: string | null;
  /** The path's last level: what is measured. */
  tag: string | null;
  /** UNECE Recommendation 20 code, e.g. CEL, BAR, KWH. */
  unit: string | null;
  /** The type of its values (double). */
  dataType: string;
  /** When its first sample was stored. */
  firstSeen: Date;
}

/** 0 good, 1 uncertain, 2 bad (OPC UA's three severities). */
export type Quality = 0 | 1 | 2;

/** A series' last known value (api.latest). */
export interface LatestValue {
  /** The series' id in the store. */
  seriesId: number;
  /** The series' path. */
  path: string;
  /** UNECE Recommendation 20 code. */
  unit: string | null;
  /** When the value was measured. */
  ts: Date;
  /** The value; null when the sensor sent none. */
  value: number | null;
  /** How far the value can be trusted. */
  quality: Quality;
}

/** One sample of a series. */
export interface Sample {
  /** When it was measured. */
  ts: Date;
  /** The value; null when the sensor sent none. */
  value: number | null;
  /** How far the value can be trusted. */
  quality: Quality;
}

/** Aggregates of one bucket of a series. */
export interface Bucket {
  /** The bucket's start (buckets start at 2000-01-03 00:00 UTC, as TimescaleDB's time_bucket). */
  bucket: Date;
  /** Samples with a value in the bucket. */
  samples: number;
  /** Their mean. */
  avg: number | null;
  /** Their least value. */
  min: number | null;
  /** Their greatest value. */
  max: number | null;
  /** The value of the bucket's first sample. */
  first: number | null;
  /** The value of the bucket's last sample. */
  last: number | null;
}

/** A raw event as stored (api.events). */
export interface RawEvent {
  /** Its own id, or the hash of its content. */
  id: string;
  /** The payload's "type". */
  type: string | null;
  /** The MQTT topic it came on. */
  topic: string;
  /** Which reader or application wrote it (events, sensors, sdk:LOGIN). */
  source: string;
  /** When the reader received it. */
  receivedAt: Date;
  /** When the writer stored it. */
  storedAt: Date;
  /** The event as published. */
  payload: Record<string, unknown>;
}

/** A curated data product (api.products). */
export interface Product {
  /** Its name. */
  product: string;
  /** The version of its definition applied now. */
  version: string;
  /** The business domain it belongs to. */
  domain: string;
  /** Who answers for it. */
  owner: string;
  /** What it holds. */
  description: string;
  /** curated.<name> */
  tableName: string;
  /** The columns that tell its rows apart. */
  key: string[];
  /** The column of each row's time, if it has one. */
  eventTime: string | null;
  /** The MQTT topic filters of the raw events it is made from. */
  sourceTopics: string[];
  /** The JSON Schema of a row. */
  rowSchema: Record<string, unknown>;
}

/** A KPI the business ETL computes (api.kpis). */
export interface Kpi {
  /** Its name. */
  kpi: string;
  /** The version of its definition applied now. */
  version: string;
  /** The business domain it belongs to. */
  domain: string;
  /** Who answers for it. */
  owner: string;
  /** What it measures. */
  description: string;
  /** business.<name> */
  tableName: string;
  /** Its windows: hours, days, shifts, or one per entity (e.g. per heat). */
  windowKind: 'hour' | 'day' | 'shift' | 'entity';
  /** The columns that tell a window's rows apart, if it has several. */
  key: string[] | null;
  /** The curated products it is computed from. */
  inputs: string[];
  /** The sensor series it is computed from, as MQTT topic filters. */
  series: string[];
}

/** A time range [from, to): Dates or ISO 8601 strings. */
export interface TimeRange {
  /** The first instant in the range. */
  from: Date | string;
  /** The first instant after it. */
  to: Date | string;
}

/** What every call takes: a signal that cancels it. */
export interface CallOptions {
  /** Aborting it cancels the call, on the server too. */
  signal?: AbortSignal;
}

/** A column of a curated product's or a KPI's table. */
export interface TableColumn {
  /** Whose table it is. */
  kind: 'curated' | 'kpi';
  /** The product's or KPI's name. */
  name: string;
  /** curated.<name> or business.<name> */
  table: string;
  /** The column's name. */
  column: string;
  /** PostgreSQL's name of its type, e.g. numeric, timestamp with time zone. */
  type: string;
  /** Whether it may be null. */
  nullable: boolean;
  /** Its comment in the database (a unit, a description). */
  comment: string | null;
}

/** What writeResult did. */
export interface WriteResult {
  /** The event's id: the payload's own, or the hash of its content. */
  id: string;
  /** False when an event with this id was stored before (a retried write). */
  stored: boolean;
}
