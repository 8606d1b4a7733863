/**
 * The catalog's model: data products, the assets they expose or consume (one asset model, a kind per
 * asset type), how to reach each asset, and lineage edges between assets (column-level where a
 * definition says which source path feeds which column). The store (catalog schema), the discovery, the
 * REST API and the open-standards documents (src/standards) all speak these types.
 */

/** Where a product or asset entry came from; discovery replaces only what it discovered itself. */
export const entrySources = ['discovered', 'kubernetes', 'manual'] as const;
export type EntrySource = (typeof entrySources)[number];

/** A product's life cycle (ODPS's statuses, lower-case). */
export const productStatuses = ['proposed', 'draft', 'active', 'deprecated', 'retired'] as const;
export type ProductStatus = (typeof productStatuses)[number];

/** The kinds of asset the catalog knows. */
export const assetKinds = [
  'postgres_table',
  'postgres_view',
  'mqtt_topic',
  'amqp_exchange',
  'amqp_queue',
  'i3x_namespace',
  'i3x_type',
  'http_api',
] as const;
export type AssetKind = (typeof assetKinds)[number];

/** A column of a PostgreSQL table or view. */
export interface CatalogColumn {
  name: string;
  /** As PostgreSQL formats it (`format_type`): `text`, `numeric`, `timestamp with time zone`, ... */
  type: string;
  nullable: boolean;
  /** 1-based, as in the table. */
  position: number;
  /** UNECE Rec. 20 code of the stored value, where known (definitions, column comments, series). */
  unit?: string;
  description?: string;
  /** Part of the table's primary key. */
  key?: boolean;
}

/** Kind-specific facts of an asset. */
export interface AssetProperties {
  /** postgres: the store (raw, metrics, curated, business, catalog, i3x), schema and relation name. */
  store?: string;
  schema?: string;
  relation?: string;
  /** mqtt: which broker (events, sensors) and whether the name is a filter with wildcards. */
  broker?: string;
  filter?: boolean;
  /** mqtt: the sensor series' unit (metrics.series). */
  unit?: string;
  /** amqp: exchange type, queue type, bindings. */
  exchangeType?: string;
  queueType?: string;
  bindings?: Array<{ exchange: string; routingKey: string }>;
  /** i3x: the namespace URI, the type's ElementId. */
  namespaceUri?: string;
  elementId?: string;
  /** http_api: the base URL and the OpenAPI document. */
  baseUrl?: string;
  openapi?: Record<string, unknown>;
  [extra: string]: unknown;
}

/**
 * One thing the mesh holds or moves: a table, a topic, an exchange, a type, an API. Identified by
 * `id` = `<kind>:<name>` (see assetId), stable across discoveries.
 */
export interface Asset {
  id: string;
  kind: AssetKind;
  /** Qualified name: `curated.heats`, `plant1/caster/strand1/events/heat.finished`, `plantmesh.ingest`. */
  name: string;
  description?: string;
  tags: string[];
  source: EntrySource;
  columns: CatalogColumn[];
  /** Rows (tables) or messages stored (topics); exact when small, PostgreSQL's estimate when large. */
  rowCount?: number;
  rowCountExact?: boolean;
  /** The newest data timestamp found in the data itself (event time, sample time, arrival), not metadata time. */
  newestDataAt?: string;
  properties: AssetProperties;
  /** When discovery (or registration) last updated it (what it says, its counts or freshness), and when what it says last changed. */
  seenAt?: string;
  changedAt?: string;
}

export type PortDirection = 'input' | 'output';

/** A product's port: an asset it reads (input) or serves (output). */
export interface Port {
  assetId: string;
  direction: PortDirection;
  /** Free text: what the port is for. */
  description?: string;
}

export const accessKinds = ['sdk', 'psql', 'sql', 'i3x', 'http', 'mqtt', 'amqp'] as const;
export type AccessKind = (typeof accessKinds)[number];

/** How to reach an asset: a copy-ready snippet, and the database role (or broker user) that grants read. */
export interface Access {
  assetId: string;
  kind: AccessKind;
  snippet: string;
  /** The role a reader needs (`plantmesh_reader`), when access is granted by role. */
  role?: string;
}

/** A data product: what a team publishes to the mesh, with its ports. */
export interface Product {
  /** Unique, lower-case: `heats`, `tonnage_cast_per_shift`, `raw-events`. */
  name: string;
  title?: string;
  domain: string;
  owner: string;
  description: string;
  tags: string[];
  status: ProductStatus;
  source: EntrySource;
  version?: string;
  /** How old the newest data of its output may be before the product counts as stale (seconds). */
  freshnessObjectiveSeconds: number;
  /** What made it: `curated:heats@1.0.0`, `kpi:heat_yield@1.0.0`, `store:raw`, or a manual note. */
  definedBy?: string;
  ports: Port[];
  createdAt?: string;
  updatedAt?: string;
}

/** A lineage edge between two assets, with the fields (payload path, column) where known. */
export interface LineageEdge {
  from: string;
  to: string;
  /** A JSON Pointer into a payload, a column name, or absent for the whole asset. */
  fromField?: string;
  toField?: string;
  /** How: ingests (broker -> store), matches (topic -> filter), curates (definition), computes (KPI). */
  relation: 'ingests' | 'matches' | 'curates' | 'computes' | 'feeds';
  /** The job that makes it happen: `etl-curated/heats@1.0.0`, `etl-business/heat_yield@1.0.0`, `amqp-writer`. */
  via?: string;
  source: EntrySource;
}

/** A product as the API answers it: its ports resolved to their assets, with access snippets. */
export interface ProductDetail extends Product {
  assets: Asset[];
  access: Access[];
  /** Age of the newest data of its outputs, in seconds, and whether it meets the objective. */
  freshness: { newestDataAt?: string; ageSeconds?: number; objectiveSeconds: number; fresh: boolean | null };
}

/** A lineage graph around assets: nodes and the edges between them. */
export interface LineageGraph {
  nodes: Array<Pick<Asset, 'id' | 'kind' | 'name'> & { products: string[]; depth: number }>;
  edges: LineageEdge[];
}

/** The id of an asset of a kind and name. */
export function assetId(kind: AssetKind, name: string): string {
  return `${kind}:${name}`;
}

/** The kind and name of an asset id. */
export function parseAssetId(id: string): { kind: AssetKind; name: string } | undefined {
  const at = id.indexOf(':');
  const kind = id.slice(0, at) as AssetKind;
  if (at < 1 || !assetKinds.includes(kind)) return undefined;
  return { kind, name: id.slice(at + 1) };
}
