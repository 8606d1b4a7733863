/** A sensor series and its place in the ISA-95 hierarchy (api.series). */
export interface Series {
  seriesId: number;
  path: string;
  site: string | null;
  area: string | null;
  line: string | null;
  cell: string | null;
  tag: string | null;
  /** UNECE Recommendation 20 code, e.g. CEL, BAR, KWH. */
  unit: string | null;
  dataType: string;
  firstSeen: Date;
}

/** 0 good, 1 uncertain, 2 bad (OPC UA's three severities). */
export type Quality = 0 | 1 | 2;

export interface LatestValue {
  seriesId: number;
  path: string;
  unit: string | null;
  ts: Date;
  value: number | null;
  quality: Quality;
}

export interface Sample {
  ts: Date;
  value: number | null;
  quality: Quality;
}

/** Aggregates of one bucket of a series. */
export interface Bucket {
  bucket: Date;
  samples: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
}

export interface RawEvent {
  id: string;
  type: string | null;
  topic: string;
  source: string;
  receivedAt: Date;
  storedAt: Date;
  payload: Record<string, unknown>;
}

/** A curated data product (api.products). */
export interface Product {
  product: string;
  version: string;
  domain: string;
  owner: string;
  description: string;
  /** curated.<name> */
  tableName: string;
  key: string[];
  eventTime: string | null;
  sourceTopics: string[];
  rowSchema: Record<string, unknown>;
}

/** A KPI the business ETL computes (api.kpis). */
export interface Kpi {
  kpi: string;
  version: string;
  domain: string;
  owner: string;
  description: string;
  /** business.<name> */
  tableName: string;
  windowKind: 'hour' | 'day' | 'shift' | 'entity';
  key: string[] | null;
  inputs: string[];
  series: string[];
}

/** A time range [from, to): Dates or ISO 8601 strings. */
export interface TimeRange {
  from: Date | string;
  to: Date | string;
}

/** What every call takes: a signal that cancels it. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A column of a curated product's or a KPI's table. */
export interface TableColumn {
  kind: 'curated' | 'kpi';
  /** The product's or KPI's name. */
  name: string;
  /** curated.<name> or business.<name> */
  table: string;
  column: string;
  /** PostgreSQL's name of its type, e.g. numeric, timestamp with time zone. */
  type: string;
  nullable: boolean;
  comment: string | null;
}
