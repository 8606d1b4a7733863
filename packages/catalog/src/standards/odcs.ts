/**
 * Data contracts in the Open Data Contract Standard (ODCS v3.1.0, Bitol): one per output port of a
 * product that is a PostgreSQL table or view, with its columns (logical and physical types, units as
 * custom properties, the primary key), quality rules, the freshness objective as an SLA, the server and
 * the roles that grant access.
 */
import { unitCodes } from '@plantmesh/etl-curated';
import type { Access, Asset, CatalogColumn, LineageEdge, Product } from '../model.js';
import { odcsApiVersion } from './schemas.js';

/** Where the PostgreSQL stores are reached (one database by default, one schema per store). */
export interface PostgresServerInfo {
  host: string;
  port: number;
  database: string;
  environment?: string;
}

export interface ContractOptions {
  postgres: PostgresServerInfo;
  /** Lineage into the asset: a column fed from a payload field says so (transformSourceObjects, transformLogic). */
  edges?: readonly LineageEdge[];
  /** Access entries of the asset; their roles become the contract's roles. */
  access?: readonly Access[];
  /** The role that grants read access when no access entry names one. */
  readerRole?: string;
}

/** An ODCS document, as a plain object (what the published schema validates). */
export type OdcsContract = Record<string, unknown> & { id: string; schema: Array<Record<string, unknown>> };

/**
 * The id of the contract of an asset: stable, so that products and lineage can refer to it. A table
 * registered from a contract keeps that contract's id.
 */
export function contractId(asset: Pick<Asset, 'name'> & { properties?: Asset['properties'] }): string {
  const registered = asset.properties?.contractId;
  return typeof registered === 'string' && registered ? registered : `urn:plantmesh:contract:${asset.name}`;
}

/** The ODCS logical type of a PostgreSQL type (as format_type names it). */
export function logicalType(type: string): { logicalType: string; logicalTypeOptions?: Record<string, unknown> } {
  if (type.endsWith('[]')) return { logicalType: 'array' };
  if (['text', 'xid8', 'uuid', 'bytea', 'name'].includes(type) || /^(character|varchar|char)/.test(type)) {
    return { logicalType: 'string' };
  }
  if (['integer', 'bigint', 'smallint'].includes(type)) {
    return { logicalType: 'integer', logicalTypeOptions: { format: type === 'bigint' ? 'i64' : 'i32' } };
  }
  if (type === 'double precision') return { logicalType: 'number', logicalTypeOptions: { format: 'f64' } };
  if (type === 'real') return { logicalType: 'number', logicalTypeOptions: { format: 'f32' } };
  if (type.startsWith('numeric')) return { logicalType: 'number' };
  if (type === 'boolean') return { logicalType: 'boolean' };
  if (type === 'date') return { logicalType: 'date' };
  if (type.startsWith('timestamp')) {
    return { logicalType: 'timestamp', logicalTypeOptions: { timezone: type.includes('with time zone') } };
  }
  if (type.startsWith('time')) return { logicalType: 'time' };
  if (type === 'jsonb' || type === 'json') return { logicalType: 'object' };
  return { logicalType: 'string' };
}

const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);

function property(column: CatalogColumn, keyPosition: number, asset: Asset, edges: readonly LineageEdge[]) {
  const unit = column.unit ? unitCodes[column.unit] : undefined;
  const feeding = edges.filter((edge) => edge.to === asset.id && edge.toField === column.name && edge.fromField);
  return {
    name: column.name,
    physicalName: column.name,
    physicalType: column.type,
    ...logicalType(column.type),
    required: !column.nullable,
    ...(keyPosition > 0 ? { primaryKey: true, primaryKeyPosition: keyPosition } : {}),
    ...(column.description ? { description: column.description } : {}),
    ...(feeding.length > 0
      ? {
          transformSourceObjects: [...new Set(feeding.map((edge) => edge.from.slice(edge.from.indexOf(':') + 1)))],
          transformLogic: [...new Set(feeding.map((edge) => `payload ${edge.fromField}`))].join('; '),
        }
      : {}),
    ...(column.unit
      ? {
          customProperties: [
            {
              property: 'unit',
              value: column.unit,
              description: `UNECE Recommendation 20 common code${unit ? ` (${unit.name})` : ''}`,
            },
          ],
        }
      : {}),
  };
}

/**
 * The data contract of one output port (a PostgreSQL table or view) of a product. The freshness
 * objective is the SLA's `latency` on the asset's event-time column (seconds), checked by a timeliness
 * rule; the primary key is checked for duplicates; curated tables say that every row passed its
 * payload schema.
 */
export function dataContract(product: Product, asset: Asset, options: ContractOptions): OdcsContract {
  if (asset.kind !== 'postgres_table' && asset.kind !== 'postgres_view') {
    throw new Error(`${asset.id}: a data contract describes a PostgreSQL table or view`);
  }
  const store = asset.properties.store ?? asset.properties.schema ?? asset.name.split('.')[0] ?? 'public';
  const relation = asset.properties.relation ?? asset.name.slice(asset.name.indexOf('.') + 1);
  const keys = asset.columns.filter((column) => column.key).map((column) => column.name);
  // The column discovery measures freshness by (a definition's event time, a KPI's window start).
  const eventTime = typeof asset.properties.timeColumn === 'string' ? asset.properties.timeColumn : undefined;
  const edges = options.edges ?? [];
  const table = `${quoteIdent(store)}.${quoteIdent(relation)}`;

  const quality: Array<Record<string, unknown>> = [
    {
      name: 'not_empty',
      description: 'The table holds data',
      dimension: 'completeness',
      metric: 'rowCount',
      mustBeGreaterThan: 0,
    },
  ];
  if (keys.length > 0) {
    quality.push({
      name: 'unique_key',
      description: `One row per ${keys.join(', ')}`,
      dimension: 'uniqueness',
      metric: 'duplicateValues',
      arguments: { properties: keys },
      mustBe: 0,
    });
  }
  if (eventTime) {
    quality.push({
      name: 'fresh',
      description: `The newest ${eventTime} is at most ${product.freshnessObjectiveSeconds} s old`,
      dimension: 'timeliness',
      type: 'sql',
      query: `select extract(epoch from now() - max(${quoteIdent(eventTime)})) from ${table}`,
      mustBeLessOrEqualTo: product.freshnessObjectiveSeconds,
      unit: 'seconds',
    });
  }
  if (store === 'curated') {
    quality.push({
      name: 'payload_schema',
      type: 'text',
      dimension: 'conformity',
      description:
        "Every row comes from a raw event that satisfied the definition's payload schema; events that did not are in raw.quarantine with the reason, never dropped",
    });
  }

  const roles = new Map<string, Record<string, unknown>>();
  for (const entry of options.access ?? []) {
    if (entry.assetId === asset.id && entry.role) {
      roles.set(entry.role, { role: entry.role, access: 'read', description: `Reads ${asset.name} (${entry.kind})` });
    }
  }
  const reader = options.readerRole ?? 'plantmesh_reader';
  if (roles.size === 0) {
    roles.set(reader, { role: reader, access: 'read', description: 'Reads every store (people, models, Grafana)' });
  }
  roles.set(`plantmesh_${store}_owner`, {
    role: `plantmesh_${store}_owner`,
    access: 'write',
    description: `Owns the ${store} store: the service that fills it writes as this role`,
  });

  const usage = (options.access ?? []).find((entry) => entry.assetId === asset.id && entry.kind === 'sql')?.snippet;
  const email = /^[^@\s]+@[^@\s]+$/.test(product.owner);
  return {
    apiVersion: odcsApiVersion,
    kind: 'DataContract',
    id: contractId(asset),
    name: asset.name,
    version: product.version ?? '1.0.0',
    status: product.status,
    domain: product.domain,
    dataProduct: product.name,
    tags: [...new Set([...product.tags, ...asset.tags])],
    description: {
      purpose: asset.description ?? product.description,
      usage: usage ?? `select * from ${table}`,
    },
    schema: [
      {
        name: relation,
        physicalName: `${store}.${relation}`,
        physicalType: asset.kind === 'postgres_view' ? 'view' : 'table',
        logicalType: 'object',
        ...(product.title ? { businessName: product.title } : {}),
        description: asset.description ?? product.description,
        ...(keys.length > 0 ? { dataGranularityDescription: `One row per ${keys.join(', ')}` } : {}),
        ...(asset.tags.length > 0 ? { tags: asset.tags } : {}),
        properties: asset.columns.map((column) => property(column, keys.indexOf(column.name) + 1, asset, edges)),
        quality,
      },
    ],
    servers: [
      {
        server: `plantmesh-${store}`,
        type: 'postgresql',
        description: `The ${store} store`,
        ...(options.postgres.environment ? { environment: options.postgres.environment } : {}),
        host: options.postgres.host,
        port: options.postgres.port,
        database: options.postgres.database,
        schema: store,
      },
    ],
    roles: [...roles.values()],
    slaProperties: [
      {
        property: 'latency',
        value: product.freshnessObjectiveSeconds,
        unit: 's',
        ...(eventTime ? { element: `${relation}.${eventTime}` } : {}),
        driver: 'operational',
        description: 'Freshness objective: the age of the newest data, measured from the data itself',
      },
    ],
    team: { name: product.owner, members: [{ username: product.owner, role: 'owner' }] },
    ...(email ? { support: [{ channel: 'owner', tool: 'email', url: `mailto:${product.owner}` }] } : {}),
    ...(product.definedBy ? { customProperties: [{ property: 'definedBy', value: product.definedBy }] } : {}),
    ...(product.createdAt ? { contractCreatedTs: product.createdAt } : {}),
  };
}

/** The contracts of every output port of a product that is a PostgreSQL table or view. */
export function productContracts(
  product: Product,
  assets: ReadonlyMap<string, Asset>,
  options: ContractOptions,
): OdcsContract[] {
  return product.ports
    .filter((port) => port.direction === 'output')
    .map((port) => assets.get(port.assetId))
    .filter((asset): asset is Asset => asset?.kind === 'postgres_table' || asset?.kind === 'postgres_view')
    .map((asset) => dataContract(product, asset, options));
}
