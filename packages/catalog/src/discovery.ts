/**
 * Discovery: what the catalog knows, found without data entry — the stores' tables and views from
 * PostgreSQL's own catalogs (columns, types, comments, row counts, the newest data timestamp read from the
 * data itself), the data products and lineage from the ETL registries (curated definitions: raw topics ->
 * curated columns; KPI definitions: curated tables and sensor series -> KPI tables), the MQTT topics seen
 * (raw.events topics, metrics.series paths), the RabbitMQ topology of ingestion and the live stream, the
 * I3X namespaces and product types of the information model. Pure reading: the result is a snapshot that
 * the store reconciles (store.ts).
 */
import { createHash } from 'node:crypto';
import { ingest, quoteIdentifier } from '@plantmesh/core';
import type { KpiDefinition } from '@plantmesh/etl-business';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import { liveExchange } from '@plantmesh/live-stream';
import type pg from 'pg';
import type { HttpApi } from './http-apis.js';
import {
  type Access,
  type Asset,
  type AssetKind,
  assetId,
  type CatalogColumn,
  type LineageEdge,
  type Port,
  type Product,
} from './model.js';

/** The stores discovery reads, each with its pool (several may be the same pool). */
export type DiscoveredStore = 'raw' | 'metrics' | 'curated' | 'business';
export const discoveredStores: readonly DiscoveredStore[] = ['raw', 'metrics', 'curated', 'business'];

export interface DiscoveryOptions {
  pools: Record<DiscoveredStore, pg.Pool>;
  /** Tables with at most this many rows (by PostgreSQL's estimate) are counted exactly. */
  exactCountLimit?: number;
  /** How long one count or newest-timestamp query may take before its estimate is kept. */
  queryTimeoutMs?: number;
  /** The MQTT filters the readers subscribe to, per broker (their MQTT_TOPICS). */
  readerTopics?: { events: string[]; sensors: string[] };
  /** Freshness objectives (seconds) where a definition says none. */
  freshness?: { curated: number; store: number };
  /** Where clients reach things, for the access snippets. */
  endpoints?: { i3xUrl?: string; catalogUrl?: string; databaseUrlVariable?: string };
  /** HTTP APIs the catalog lists (its own, the I3X API's) with their OpenAPI documents, or what finds them. */
  httpApis?: HttpApi[] | (() => Promise<HttpApi[]>);
}

/** What one discovery round found. */
export interface Snapshot {
  assets: Asset[];
  access: Access[];
  products: Product[];
  edges: LineageEdge[];
}

const id = assetId;
const tableId = (store: string, relation: string) => id('postgres_table', `${store}.${relation}`);
const topicAsset = (broker: string, topic: string) => id('mqtt_topic', `${broker}:${topic}`);

/** The short name the store keeps for exact matches: the relation, the topic, the last segment of a URI. */
export function shortName(kind: AssetKind, name: string): string {
  if (kind === 'postgres_table' || kind === 'postgres_view') return name.slice(name.indexOf('.') + 1);
  if (kind === 'mqtt_topic') return name.slice(name.indexOf(':') + 1);
  return name;
}

/** A hash of what an asset says (not its counts nor freshness), to tell a changed asset from a seen one. */
export function fingerprint(asset: Asset): string {
  const { rowCount: _r, rowCountExact: _e, newestDataAt: _n, seenAt: _s, changedAt: _c, ...said } = asset;
  return createHash('sha256').update(JSON.stringify(said)).digest('hex').slice(0, 32);
}

/** A relation's name as SQL needs it: plain where it can be, quoted where it must (upper case, spaces, quotes). */
function sqlName(asset: Asset): string {
  const part = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdentifier(name));
  return `${part(asset.properties.schema as string)}.${part(asset.properties.relation as string)}`;
}

/** `unit: KGM` in a column comment (as the ETLs write them). */
const unitInComment = /(?:^|;\s*)unit:\s*([A-Z0-9]{1,6})\b/;

/** MQTT filter matching, as the broker does it (`+` one level, a last `#` the parent and everything below). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#' && i === f.length - 1) return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

interface RelationRow {
  oid: number;
  relname: string;
  relkind: string;
  comment: string | null;
  estimate: string;
}

interface ColumnRow {
  attrelid: number;
  name: string;
  type: string;
  nullable: boolean;
  position: number;
  comment: string | null;
  key: boolean;
  indexed: boolean;
}

/** Runs a query with a statement timeout; undefined when it took too long or failed. */
async function bounded<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  timeoutMs: number,
  sql: string,
  params: unknown[] = [],
): Promise<R[] | undefined> {
  const client = await pool.connect();
  try {
    await client.query('begin read only');
    await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const { rows } = await client.query<R>(sql, params);
    await client.query('commit');
    return rows;
  } catch {
    await client.query('rollback').catch(() => {});
    return undefined;
  } finally {
    client.release();
  }
}

/**
 * One value per key, each from a one-value query, asked in batches of `chunk` as one statement
 * (`select key, (query) union all ...`) under one time limit. A batch that fails (a table not readable, a
 * query too slow) is asked again query by query, so one bad table costs only its own value (absent).
 */
async function scalars<T>(
  pool: pg.Pool,
  timeoutMs: number,
  queries: Array<{ key: string; sql: string }>,
  chunk = 200,
): Promise<Map<string, T | null>> {
  const values = new Map<string, T | null>();
  for (let from = 0; from < queries.length; from += chunk) {
    const batch = queries.slice(from, from + chunk);
    const sql = batch.map((query, index) => `select ${index} as i, (${query.sql}) as v`).join('\nunion all\n');
    const rows = await bounded<{ i: number; v: T | null }>(pool, timeoutMs, sql);
    if (rows) {
      for (const row of rows) values.set((batch[row.i] as { key: string }).key, row.v);
      continue;
    }
    for (const query of batch) {
      const one = await bounded<{ v: T | null }>(pool, timeoutMs, `select (${query.sql}) as v`);
      if (one?.[0]) values.set(query.key, one[0].v);
    }
  }
  return values;
}

/** What the ETL definitions say about a table: its event time column and its columns' units and sources. */
interface TableHints {
  timeColumn?: string;
  /** A query on the table's own store that answers its newest data timestamp (instead of max(timeColumn)). */
  newestSql?: string;
  units: Map<string, string>;
  descriptions: Map<string, string>;
}

async function relationsOf(pool: pg.Pool, store: string): Promise<{ relations: RelationRow[]; columns: ColumnRow[] }> {
  const { rows: relations } = await pool.query<RelationRow>(
    `with recursive family(root, oid) as (
       select c.oid, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
       union all
       select f.root, i.inhrelid from family f join pg_inherits i on i.inhparent = f.oid
     )
     select c.oid::int as oid, c.relname, c.relkind::text as relkind, obj_description(c.oid, 'pg_class') as comment,
            (select coalesce(sum(greatest(k.reltuples, 0)), 0) from family f join pg_class k on k.oid = f.oid
              where f.root = c.oid)::bigint::text as estimate
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
     order by c.relname`,
    [store],
  );
  const { rows: columns } = await pool.query<ColumnRow>(
    `select a.attrelid::int as attrelid, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            not a.attnotnull as nullable, a.attnum::int as position, col_description(a.attrelid, a.attnum) as comment,
            exists (select from pg_index i where i.indrelid = a.attrelid and i.indisprimary
                    and a.attnum = any (i.indkey::int2[])) as key,
            exists (select from pg_index i where i.indrelid = a.attrelid and i.indkey[0] = a.attnum) as indexed
     from pg_attribute a
     where a.attrelid = any ($1::oid[]) and a.attnum > 0 and not a.attisdropped
     order by a.attrelid, a.attnum`,
    [relations.map((relation) => relation.oid)],
  );
  return { relations, columns };
}

/** Reads the tables and views of one store into assets, with counts and freshness from the data. */
async function discoverStore(
  pool: pg.Pool,
  store: DiscoveredStore,
  hints: Map<string, TableHints>,
  options: Required<Pick<DiscoveryOptions, 'exactCountLimit' | 'queryTimeoutMs'>>,
): Promise<Asset[]> {
  const { relations, columns } = await relationsOf(pool, store);
  const byRelation = new Map<number, ColumnRow[]>();
  for (const column of columns) {
    const list = byRelation.get(column.attrelid) ?? [];
    list.push(column);
    byRelation.set(column.attrelid, list);
  }
  // First the row counts (exact for small tables), then the newest data timestamps, each as a few batched
  // statements rather than a round trip per table (10,000 tables are 10,000 statements otherwise).
  const plans = relations.map((relation) => {
    const qualified = `${store}.${relation.relname}`;
    const view = relation.relkind === 'v';
    const estimate = Number(relation.estimate);
    return {
      relation,
      qualified,
      hint: hints.get(qualified),
      view,
      table: `${quoteIdentifier(store)}.${quoteIdentifier(relation.relname)}`,
      rows: byRelation.get(relation.oid) ?? [],
      estimate,
      rowCount: view ? undefined : estimate,
      rowCountExact: view ? undefined : false,
      timeColumn: undefined as string | undefined,
      newestDataAt: undefined as string | undefined,
    };
  });
  const counts = await scalars<string>(
    pool,
    options.queryTimeoutMs,
    plans
      .filter((plan) => !plan.view && plan.estimate <= options.exactCountLimit)
      .map((plan) => ({ key: plan.qualified, sql: `select count(*) from ${plan.table}` })),
  );
  for (const plan of plans) {
    const counted = counts.get(plan.qualified);
    if (counted !== undefined && counted !== null) {
      plan.rowCount = Number(counted);
      plan.rowCountExact = true;
    }
  }
  // The newest data timestamp, read from the data: the definition's event time, else a timestamp column
  // an index leads with (cheap), else any timestamp column of a small table. Views only where a hint says.
  const newestQueries: Array<{ key: string; sql: string }> = [];
  for (const plan of plans) {
    const timestamps = plan.rows.filter((row) => row.type === 'timestamp with time zone');
    const small = plan.rowCountExact === true;
    plan.timeColumn =
      plan.hint?.timeColumn ??
      (timestamps.find((row) => row.indexed) ?? (small || plan.view ? timestamps[0] : undefined))?.name;
    const sql =
      plan.hint?.newestSql ??
      (plan.timeColumn ? `select max(${quoteIdentifier(plan.timeColumn)}) from ${plan.table}` : undefined);
    if (sql && !(plan.view && !plan.hint)) newestQueries.push({ key: plan.qualified, sql });
  }
  const newest = await scalars<Date>(pool, options.queryTimeoutMs, newestQueries);
  const assets: Asset[] = [];
  for (const plan of plans) {
    const t = newest.get(plan.qualified);
    const newestDataAt = t ? new Date(t).toISOString() : undefined;
    const catalogColumns: CatalogColumn[] = plan.rows.map((row) => {
      const unit = plan.hint?.units.get(row.name) ?? unitInComment.exec(row.comment ?? '')?.[1];
      const description =
        plan.hint?.descriptions.get(row.name) ?? row.comment?.replace(unitInComment, '').replace(/;\s*$/, '').trim();
      return {
        name: row.name,
        type: row.type,
        nullable: row.nullable,
        position: row.position,
        ...(unit ? { unit } : {}),
        ...(description ? { description } : {}),
        ...(row.key ? { key: true } : {}),
      };
    });
    const kind: AssetKind = plan.view ? 'postgres_view' : 'postgres_table';
    assets.push({
      id: id(kind, plan.qualified),
      kind,
      name: plan.qualified,
      ...(plan.relation.comment ? { description: plan.relation.comment } : {}),
      tags: [store, ...(plan.relation.relkind === 'm' ? ['materialized'] : [])],
      source: 'discovered',
      columns: catalogColumns,
      ...(plan.rowCount === undefined ? {} : { rowCount: plan.rowCount, rowCountExact: plan.rowCountExact }),
      ...(newestDataAt ? { newestDataAt } : {}),
      properties: {
        store,
        schema: store,
        relation: plan.relation.relname,
        ...(plan.timeColumn ? { timeColumn: plan.timeColumn } : {}),
      },
    });
  }
  return assets;
}

interface Registries {
  curated: Array<{ product: string; version: string; table_name: string; definition: CuratedDefinition }>;
  kpis: Array<{ kpi: string; version: string; table_name: string; definition: KpiDefinition }>;
}

async function readRegistries(pools: DiscoveryOptions['pools']): Promise<Registries> {
  const exists = async (pool: pg.Pool, table: string) =>
    (await pool.query<{ t: string | null }>('select to_regclass($1)::text as t', [table])).rows[0]?.t != null;
  const curated = (await exists(pools.curated, 'curated.definitions'))
    ? (
        await pools.curated.query<Registries['curated'][number]>(
          'select product, version, table_name, definition from curated.definitions order by product',
        )
      ).rows
    : [];
  const kpis = (await exists(pools.business, 'business.kpi_definitions'))
    ? (
        await pools.business.query<Registries['kpis'][number]>(
          'select kpi, version, table_name, definition from business.kpi_definitions order by kpi',
        )
      ).rows
    : [];
  return { curated, kpis };
}

/** A KPI table's freshness objective: one window and a margin (entity windows: a day). */
function kpiObjective(definition: KpiDefinition): number {
  const hour = 3_600;
  switch (definition.window.kind) {
    case 'hour':
      return 2 * hour;
    case 'day':
      return 26 * hour;
    case 'shift': {
      const starts = (definition.window.shifts ?? []).map((shift) => {
        const [h = 0, m = 0] = shift.start.split(':').map(Number);
        return h * 60 + m;
      });
      const lengths = starts.map((start, i) => {
        const next = starts[(i + 1) % starts.length] as number;
        return (next - start + 24 * 60) % (24 * 60) || 24 * 60;
      });
      return Math.max(8 * 60, ...lengths) * 60 + hour;
    }
    default:
      return 24 * hour;
  }
}

/** Discovers everything; one consistent picture of the mesh as it is now. */
export async function discover(options: DiscoveryOptions): Promise<Snapshot> {
  const limits = {
    exactCountLimit: options.exactCountLimit ?? 200_000,
    queryTimeoutMs: options.queryTimeoutMs ?? 5_000,
  };
  const freshness = options.freshness ?? { curated: 3_600, store: 900 };
  const readers = options.readerTopics ?? { events: ['#'], sensors: ['#'] };
  const databaseUrl = options.endpoints?.databaseUrlVariable ?? 'PLANTMESH_URL';
  const registries = await readRegistries(options.pools);

  // What the definitions say about their tables.
  const hints = new Map<string, TableHints>();
  for (const { table_name, definition } of registries.curated) {
    hints.set(`curated.${table_name}`, {
      timeColumn: definition.eventTime,
      units: new Map(definition.columns.flatMap((c) => (c.unit ? [[c.name, c.unit] as const] : []))),
      descriptions: new Map(
        definition.columns.flatMap((c) => (c.description ? [[c.name, c.description] as const] : [])),
      ),
    });
  }
  for (const { table_name, definition } of registries.kpis) {
    hints.set(`business.${table_name}`, {
      timeColumn: definition.window.kind === 'entity' ? '_computed_at' : 'window_start',
      units: new Map(definition.columns.flatMap((c) => (c.unit ? [[c.name, c.unit] as const] : []))),
      descriptions: new Map(
        definition.columns.flatMap((c) => (c.description ? [[c.name, c.description] as const] : [])),
      ),
    });
  }
  // The newest sample is in metrics.latest (one row per series), the newest event at the end of raw.events' seq.
  hints.set('metrics.samples', {
    newestSql: 'select max(ts) as t from metrics.latest',
    units: new Map(),
    descriptions: new Map(),
  });
  hints.set('raw.events', {
    newestSql: 'select received_at as t from raw.events order by seq desc limit 1',
    units: new Map(),
    descriptions: new Map(),
  });

  const assets: Asset[] = [];
  for (const store of discoveredStores) {
    assets.push(...(await discoverStore(options.pools[store], store, hints, limits)));
  }
  const known = new Set(assets.map((asset) => asset.id));
  const edges: LineageEdge[] = [];
  const access: Access[] = [];
  const products: Product[] = [];
  const addAsset = (asset: Asset) => {
    if (known.has(asset.id)) return;
    known.add(asset.id);
    assets.push(asset);
  };
  const edge = (e: Omit<LineageEdge, 'source'>) => {
    if (known.has(e.from) && known.has(e.to)) edges.push({ ...e, source: 'discovered' });
  };

  // RabbitMQ: ingestion's exchange and queues, the dead letters and the live stream (core's topology).
  const amqp: Array<[AssetKind, string, string, Record<string, unknown>]> = [
    [
      'amqp_exchange',
      ingest.exchange,
      'Where the MQTT readers publish events and sample batches',
      { exchangeType: 'direct' },
    ],
    [
      'amqp_exchange',
      ingest.deadLetterExchange,
      'Payloads refused by a reader or the writer, with the reason',
      { exchangeType: 'fanout' },
    ],
    [
      'amqp_exchange',
      liveExchange,
      'The samples the writer has committed, one message per parent path (routing key from it)',
      { exchangeType: 'topic' },
    ],
    [
      'amqp_queue',
      ingest.queues.events,
      'Events waiting for the writer (no loss, quorum queue)',
      { queueType: 'quorum', bindings: [{ exchange: ingest.exchange, routingKey: ingest.routingKeys.events }] },
    ],
    [
      'amqp_queue',
      ingest.queues.samples,
      'Sample batches waiting for the writer (quorum queue, oldest dropped when full)',
      { queueType: 'quorum', bindings: [{ exchange: ingest.exchange, routingKey: ingest.routingKeys.samples }] },
    ],
    [
      'amqp_queue',
      ingest.queues.deadLetter,
      'Dead letters waiting for the quarantine',
      { queueType: 'quorum', bindings: [{ exchange: ingest.deadLetterExchange, routingKey: '' }] },
    ],
  ];
  for (const [kind, name, description, properties] of amqp) {
    addAsset({
      id: id(kind, name),
      kind,
      name,
      description,
      tags: ['rabbitmq'],
      source: 'discovered',
      columns: [],
      properties,
    });
    access.push({
      assetId: id(kind, name),
      kind: 'amqp',
      snippet:
        kind === 'amqp_exchange' && name === liveExchange
          ? `for await (const sample of sdk.live('plant1/#')) { /* ... */ }`
          : `rabbitmqadmin list ${kind === 'amqp_queue' ? 'queues' : 'exchanges'} name | grep '${name}'`,
    });
  }
  const q = (name: string) => id('amqp_queue', name);
  const x = (name: string) => id('amqp_exchange', name);
  edge({ from: x(ingest.exchange), to: q(ingest.queues.events), relation: 'feeds', via: 'rabbitmq' });
  edge({ from: x(ingest.exchange), to: q(ingest.queues.samples), relation: 'feeds', via: 'rabbitmq' });
  edge({ from: x(ingest.deadLetterExchange), to: q(ingest.queues.deadLetter), relation: 'feeds', via: 'rabbitmq' });
  edge({ from: q(ingest.queues.events), to: tableId('raw', 'events'), relation: 'ingests', via: 'amqp-writer' });
  edge({ from: q(ingest.queues.samples), to: tableId('metrics', 'samples'), relation: 'ingests', via: 'amqp-writer' });
  edge({
    from: q(ingest.queues.deadLetter),
    to: tableId('raw', 'quarantine'),
    relation: 'ingests',
    via: 'amqp-writer',
  });
  edge({ from: tableId('metrics', 'samples'), to: x(liveExchange), relation: 'feeds', via: 'amqp-writer' });

  // MQTT: the readers' filters, the topics seen in raw.events and the sensor series.
  const filterAsset = (broker: 'events' | 'sensors', filter: string, description: string) => {
    const assetIdOf = topicAsset(broker, filter);
    addAsset({
      id: assetIdOf,
      kind: 'mqtt_topic',
      name: `${broker}:${filter}`,
      description,
      tags: ['mqtt', broker, 'filter'],
      source: 'discovered',
      columns: [],
      properties: { broker, topic: filter, filter: true },
    });
    access.push({
      assetId: assetIdOf,
      kind: 'mqtt',
      snippet: `mosquitto_sub -h <${broker}-broker> -u <user> -P <password> -t '${filter}' -v`,
    });
    return assetIdOf;
  };
  const readerFilters: Record<'events' | 'sensors', string[]> = { events: [], sensors: [] };
  for (const broker of ['events', 'sensors'] as const) {
    for (const filter of readers[broker]) {
      const assetIdOf = filterAsset(broker, filter, `What the ${broker} reader subscribes to (MQTT_TOPICS)`);
      readerFilters[broker].push(filter);
      edge({ from: assetIdOf, to: x(ingest.exchange), relation: 'ingests', via: `mqtt-reader/${broker}` });
    }
  }
  const seen: Array<{
    broker: 'events' | 'sensors';
    topic: string;
    count?: number;
    newest?: Date | null;
    unit?: string | null;
    dataType?: string;
  }> = [];
  const rawEstimate = assets.find((a) => a.id === tableId('raw', 'events'));
  if (rawEstimate) {
    const exact = (rawEstimate.rowCount ?? 0) <= limits.exactCountLimit;
    const rows = await bounded<{ topic: string; n: string | null; newest: Date | null }>(
      options.pools.raw,
      limits.queryTimeoutMs * 4,
      exact
        ? 'select topic, count(*)::text as n, max(received_at) as newest from raw.events group by topic order by topic'
        : `with recursive t(topic) as (
             select min(topic) from raw.events
             union all
             select (select min(e.topic) from raw.events e where e.topic > t.topic) from t where t.topic is not null
           )
           select topic, null as n, (select max(received_at) from raw.events e where e.topic = t.topic) as newest
           from t where topic is not null`,
    );
    for (const row of rows ?? [])
      seen.push({ broker: 'events', topic: row.topic, ...(row.n ? { count: Number(row.n) } : {}), newest: row.newest });
  }
  if (assets.some((a) => a.id === tableId('metrics', 'series'))) {
    const { rows } = await options.pools.metrics.query<{
      path: string;
      unit: string | null;
      data_type: string;
      newest: Date | null;
    }>(
      `select s.path, s.unit, s.data_type, l.ts as newest
       from metrics.series s left join metrics.latest l on l.series_id = s.id order by s.path`,
    );
    for (const row of rows)
      seen.push({ broker: 'sensors', topic: row.path, unit: row.unit, dataType: row.data_type, newest: row.newest });
  }
  const seenIds: Array<{ id: string; broker: 'events' | 'sensors'; topic: string }> = [];
  for (const topic of seen) {
    const assetIdOf = topicAsset(topic.broker, topic.topic);
    addAsset({
      id: assetIdOf,
      kind: 'mqtt_topic',
      name: `${topic.broker}:${topic.topic}`,
      description:
        topic.broker === 'events'
          ? 'Events published on this topic, stored in raw.events'
          : `Sensor series${topic.unit ? ` in ${topic.unit}` : ''}, stored in metrics.samples`,
      tags: ['mqtt', topic.broker, ...(topic.unit ? [topic.unit] : [])],
      source: 'discovered',
      columns: [],
      ...(topic.count === undefined ? {} : { rowCount: topic.count, rowCountExact: true }),
      ...(topic.newest ? { newestDataAt: new Date(topic.newest).toISOString() } : {}),
      properties: {
        broker: topic.broker,
        topic: topic.topic,
        filter: false,
        ...(topic.unit ? { unit: topic.unit } : {}),
        ...(topic.dataType ? { dataType: topic.dataType } : {}),
      },
    });
    seenIds.push({ id: assetIdOf, broker: topic.broker, topic: topic.topic });
    access.push(
      topic.broker === 'sensors'
        ? {
            assetId: assetIdOf,
            kind: 'sdk',
            snippet: `for await (const sample of sdk.samples('${topic.topic}', { from, to })) { /* ... */ }`,
            role: 'plantmesh_reader',
          }
        : {
            assetId: assetIdOf,
            kind: 'sql',
            snippet: `select * from api.events where topic = '${topic.topic.replaceAll("'", "''")}' order by received_at desc limit 10`,
            role: 'plantmesh_reader',
          },
    );
    for (const filter of readerFilters[topic.broker]) {
      if (topicMatches(filter, topic.topic)) {
        edge({ from: assetIdOf, to: topicAsset(topic.broker, filter), relation: 'matches' });
      }
    }
  }

  // Every table and view: how to read it.
  for (const asset of assets) {
    if (asset.kind !== 'postgres_table' && asset.kind !== 'postgres_view') continue;
    access.push({
      assetId: asset.id,
      kind: 'psql',
      snippet: `psql "$${databaseUrl}" -c '${`select * from ${sqlName(asset)} limit 10`.replaceAll("'", "'\\''")}'`,
      role: 'plantmesh_reader',
    });
  }

  // The information model: namespaces and the product types the I3X API serves.
  const i3xUrl = options.endpoints?.i3xUrl;
  const productTypes = new Map<string, string>();
  if (assets.some((a) => a.id === tableId('curated', 'model_namespaces'))) {
    const { rows: namespaces } = await options.pools.curated.query<{
      uri: string;
      display_name: string;
      version: string | null;
    }>('select uri, display_name, version from curated.model_namespaces order by uri');
    for (const ns of namespaces) {
      const assetIdOf = id('i3x_namespace', ns.uri);
      addAsset({
        id: assetIdOf,
        kind: 'i3x_namespace',
        name: ns.uri,
        description: `I3X namespace ${ns.display_name}${ns.version ? ` ${ns.version}` : ''}`,
        tags: ['i3x'],
        source: 'discovered',
        columns: [],
        properties: { namespaceUri: ns.uri, displayName: ns.display_name },
      });
      if (i3xUrl)
        access.push({
          assetId: assetIdOf,
          kind: 'i3x',
          snippet: `curl -H "Authorization: Bearer $I3X_KEY" '${i3xUrl}/v1/objecttypes?namespaceUri=${encodeURIComponent(ns.uri)}'`,
        });
    }
    const { rows: types } = await options.pools.curated.query<{
      element_id: string;
      display_name: string;
      namespace_uri: string;
      product: string;
      description: string | null;
    }>(
      `select element_id, display_name, namespace_uri, source_type_id as product, description
       from curated.model_object_types where element_id like 'plantmesh:product:%' order by element_id`,
    );
    for (const type of types) {
      const assetIdOf = id('i3x_type', type.element_id);
      addAsset({
        id: assetIdOf,
        kind: 'i3x_type',
        name: type.element_id,
        description: type.description ?? `I3X object type ${type.display_name}`,
        tags: ['i3x'],
        source: 'discovered',
        columns: [],
        properties: { elementId: type.element_id, namespaceUri: type.namespace_uri },
      });
      productTypes.set(type.product, assetIdOf);
      edge({ from: assetIdOf, to: id('i3x_namespace', type.namespace_uri), relation: 'feeds' });
      if (i3xUrl)
        access.push({
          assetId: assetIdOf,
          kind: 'i3x',
          snippet: `curl -H "Authorization: Bearer $I3X_KEY" '${i3xUrl}/v1/objects?typeElementId=${encodeURIComponent(type.element_id)}'`,
        });
    }
  }

  // HTTP APIs with their OpenAPI documents.
  const httpApis = typeof options.httpApis === 'function' ? await options.httpApis() : (options.httpApis ?? []);
  for (const api of httpApis) {
    const assetIdOf = id('http_api', api.name);
    addAsset({
      id: assetIdOf,
      kind: 'http_api',
      name: api.name,
      description: api.description,
      tags: ['http', 'openapi'],
      source: 'discovered',
      columns: [],
      properties: { baseUrl: api.baseUrl, ...(api.openapi ? { openapi: api.openapi } : {}) },
    });
    access.push({ assetId: assetIdOf, kind: 'http', snippet: `curl '${api.baseUrl}/openapi.json'` });
  }

  // The stores' own products: events as they arrived, and the sensor samples.
  const ports = (outputs: string[], inputs: string[]): Port[] => [
    ...outputs.filter((a) => known.has(a)).map((assetIdOf) => ({ assetId: assetIdOf, direction: 'output' as const })),
    ...inputs.filter((a) => known.has(a)).map((assetIdOf) => ({ assetId: assetIdOf, direction: 'input' as const })),
  ];
  if (known.has(tableId('raw', 'events'))) {
    products.push({
      name: 'raw-events',
      title: 'Raw plant events',
      domain: 'platform',
      owner: 'platform-team',
      description:
        'Every event the plant published over MQTT, exactly as it arrived (JSON payload, topic, arrival time), stored once; refused payloads in the quarantine with the reason',
      tags: ['raw', 'events', 'mqtt'],
      status: 'active',
      source: 'discovered',
      freshnessObjectiveSeconds: freshness.store,
      definedBy: 'store:raw',
      ports: ports(
        [tableId('raw', 'events'), tableId('raw', 'quarantine')],
        readerFilters.events.map((f) => topicAsset('events', f)),
      ),
    });
    access.push({
      assetId: tableId('raw', 'events'),
      kind: 'sdk',
      snippet: "for await (const event of sdk.events({ type: 'heat.finished', from, to })) { /* ... */ }",
      role: 'plantmesh_reader',
    });
  }
  if (known.has(tableId('metrics', 'samples'))) {
    products.push({
      name: 'sensor-samples',
      title: 'Sensor samples',
      domain: 'platform',
      owner: 'platform-team',
      description:
        'Sensor time series of the plant: each series (site/area/line/cell/tag path, unit), its samples with quality, and its last known value',
      tags: ['metrics', 'sensors', 'time series', 'mqtt'],
      status: 'active',
      source: 'discovered',
      freshnessObjectiveSeconds: freshness.store,
      definedBy: 'store:metrics',
      ports: ports(
        [tableId('metrics', 'samples'), tableId('metrics', 'series'), tableId('metrics', 'latest'), x(liveExchange)],
        readerFilters.sensors.map((f) => topicAsset('sensors', f)),
      ),
    });
    access.push({
      assetId: tableId('metrics', 'samples'),
      kind: 'sdk',
      snippet:
        "const series = await sdk.findSeries('plant1/#');\nfor await (const sample of sdk.samples(series[0].path, { from, to })) { /* ... */ }",
      role: 'plantmesh_reader',
    });
  }

  // Curated products: raw topics -> curated columns, per column where the definition maps a payload path.
  for (const { product, version, table_name, definition } of registries.curated) {
    const table = tableId('curated', table_name);
    const via = `etl-curated/${product}@${version}`;
    const filters = definition.source.topics.map((filter) =>
      filterAsset('events', filter, `Events the curated product ${product} is made from`),
    );
    for (const filter of filters) {
      edge({ from: filter, to: table, relation: 'curates', via });
      for (const column of definition.columns) {
        edge({ from: filter, fromField: column.from, to: table, toField: column.name, relation: 'curates', via });
      }
    }
    for (const topic of seenIds) {
      if (topic.broker !== 'events') continue;
      for (const filter of definition.source.topics) {
        if (topicMatches(filter, topic.topic))
          edge({ from: topic.id, to: topicAsset('events', filter), relation: 'matches' });
      }
    }
    edge({ from: tableId('raw', 'events'), to: table, relation: 'curates', via });
    const typeAsset = productTypes.get(product);
    if (typeAsset) edge({ from: table, to: typeAsset, relation: 'feeds', via: 'i3x-api' });
    access.push({
      assetId: table,
      kind: 'sdk',
      snippet: `for await (const row of sdk.curated('${product}', { from, to })) { /* ... */ }`,
      role: 'plantmesh_reader',
    });
    products.push({
      name: product,
      domain: definition.product.domain,
      owner: definition.product.owner,
      description: definition.product.description,
      tags: [definition.product.domain, 'curated'],
      status: 'active',
      source: 'discovered',
      version,
      freshnessObjectiveSeconds: freshness.curated,
      definedBy: `curated:${product}@${version}`,
      ports: ports([table, ...(typeAsset ? [typeAsset] : [])], [...filters, tableId('raw', 'events')]),
    });
  }

  // KPIs: curated tables and sensor series -> KPI tables.
  const curatedTables = new Map(registries.curated.map((entry) => [entry.product, entry.table_name]));
  for (const { kpi, version, table_name, definition } of registries.kpis) {
    const table = tableId('business', table_name);
    const via = `etl-business/${kpi}@${version}`;
    const inputs = definition.inputs.flatMap((input) => {
      const name = curatedTables.get(input);
      return name ? [tableId('curated', name)] : [];
    });
    for (const input of inputs) edge({ from: input, to: table, relation: 'computes', via });
    const seriesFilters = (definition.series ?? []).map((filter) =>
      filterAsset('sensors', filter, `Sensor series the KPI ${kpi} is computed from`),
    );
    for (const [index, filter] of seriesFilters.entries()) {
      edge({ from: filter, to: table, relation: 'computes', via });
      for (const topic of seenIds) {
        if (topic.broker === 'sensors' && topicMatches(definition.series?.[index] as string, topic.topic)) {
          edge({ from: topic.id, to: filter, relation: 'matches' });
        }
      }
    }
    if (seriesFilters.length > 0) edge({ from: tableId('metrics', 'samples'), to: table, relation: 'computes', via });
    access.push({
      assetId: table,
      kind: 'sdk',
      snippet: `for await (const row of sdk.kpiRows('${kpi}', { from, to })) { /* ... */ }`,
      role: 'plantmesh_reader',
    });
    products.push({
      name: kpi,
      ...(definition.kpi.iso22400 ? { title: `${definition.kpi.iso22400.name} (ISO 22400-2)` } : {}),
      domain: definition.kpi.domain,
      owner: definition.kpi.owner,
      description: definition.kpi.description,
      tags: [definition.kpi.domain, 'kpi', definition.window.kind, ...(definition.kpi.iso22400 ? ['iso22400'] : [])],
      status: 'active',
      source: 'discovered',
      version,
      freshnessObjectiveSeconds: kpiObjective(definition),
      definedBy: `kpi:${kpi}@${version}`,
      ports: ports(
        [table],
        [...inputs, ...seriesFilters, ...(seriesFilters.length ? [tableId('metrics', 'samples')] : [])],
      ),
    });
  }

  // One access entry per asset and kind, one edge per pair of fields.
  const accessSeen = new Set<string>();
  const edgeSeen = new Set<string>();
  return {
    assets,
    access: access.filter((a) => {
      const key = `${a.assetId}\n${a.kind}`;
      if (!known.has(a.assetId) || accessSeen.has(key)) return false;
      accessSeen.add(key);
      return true;
    }),
    products,
    edges: edges.filter((e) => {
      const key = `${e.from}\n${e.to}\n${e.fromField ?? ''}\n${e.toField ?? ''}`;
      if (edgeSeen.has(key)) return false;
      edgeSeen.add(key);
      return true;
    }),
  };
}
