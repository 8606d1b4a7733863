/**
 * The catalog store: reconciles a discovery snapshot (added, changed, removed — only what discovery itself
 * made; registered entries stay), registers products by hand, and answers the API's reads: products with
 * their ports, assets and access, full-text search (exact names first), and the lineage graph with a depth.
 * Large sets travel as one JSON parameter expanded in SQL (DESIGN.md: cheaper than big array literals).
 */
import { inTransaction } from '@plantmesh/core';
import type pg from 'pg';
import { fingerprint, type Snapshot, shortName } from './discovery.js';
import { type CatalogChange, recordCatalogEvents, someIds } from './events.js';
import type {
  Access,
  Asset,
  AssetKind,
  EntrySource,
  LineageEdge,
  LineageGraph,
  Port,
  Product,
  ProductDetail,
  ProductStatus,
} from './model.js';

export interface ReconcileResult {
  assets: number;
  added: number;
  changed: number;
  removed: number;
  products: number;
  edges: number;
}

interface AssetRow {
  id: string;
  kind: AssetKind;
  name: string;
  description: string | null;
  tags: string[];
  source: EntrySource;
  columns: Asset['columns'];
  row_count: string | null;
  row_count_exact: boolean | null;
  newest_data_at: Date | null;
  properties: Asset['properties'];
  seen_at: Date;
  changed_at: Date;
}

interface ProductRow {
  name: string;
  title: string | null;
  domain: string;
  owner: string;
  description: string;
  tags: string[];
  status: ProductStatus;
  source: EntrySource;
  version: string | null;
  freshness_objective_seconds: number;
  defined_by: string | null;
  created_at: Date;
  updated_at: Date;
  ports: Port[] | null;
}

const assetColumns =
  'a.id, a.kind, a.name, a.description, a.tags, a.source, a.columns, a.row_count::text as row_count, a.row_count_exact, a.newest_data_at, a.properties, a.seen_at, a.changed_at';

export function assetFromRow(row: AssetRow, withDocument = true): Asset {
  const properties = { ...row.properties };
  if (!withDocument) delete properties.openapi;
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    ...(row.description ? { description: row.description } : {}),
    tags: row.tags,
    source: row.source,
    columns: row.columns,
    ...(row.row_count === null ? {} : { rowCount: Number(row.row_count), rowCountExact: row.row_count_exact ?? false }),
    ...(row.newest_data_at ? { newestDataAt: row.newest_data_at.toISOString() } : {}),
    properties,
    seenAt: row.seen_at.toISOString(),
    changedAt: row.changed_at.toISOString(),
  };
}

function productFromRow(row: ProductRow): Product {
  return {
    name: row.name,
    ...(row.title ? { title: row.title } : {}),
    domain: row.domain,
    owner: row.owner,
    description: row.description,
    tags: row.tags,
    status: row.status,
    source: row.source,
    ...(row.version ? { version: row.version } : {}),
    freshnessObjectiveSeconds: row.freshness_objective_seconds,
    ...(row.defined_by ? { definedBy: row.defined_by } : {}),
    ports: (row.ports ?? []).map((port) => ({
      assetId: port.assetId,
      direction: port.direction,
      ...(port.description ? { description: port.description } : {}),
    })),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const productSelect = `
  select p.name, p.title, p.domain, p.owner, p.description, p.tags, p.status, p.source, p.version,
         p.freshness_objective_seconds, p.defined_by, p.created_at, p.updated_at,
         (select jsonb_agg(jsonb_build_object('assetId', o.asset_id, 'direction', o.direction, 'description', o.description)
                           order by o.direction desc, o.asset_id)
          from catalog.ports o where o.product = p.name) as ports
  from catalog.products p`;

/** A product's state of freshness: the newest data of its outputs against its objective. */
export function freshnessOf(
  objectiveSeconds: number,
  outputs: Array<Pick<Asset, 'newestDataAt'>>,
  now = Date.now(),
): ProductDetail['freshness'] {
  const newest = outputs
    .map((asset) => (asset.newestDataAt ? Date.parse(asset.newestDataAt) : Number.NaN))
    .filter((t) => !Number.isNaN(t))
    .reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(newest)) return { objectiveSeconds, fresh: null };
  const ageSeconds = Math.max(0, (now - newest) / 1000);
  return {
    newestDataAt: new Date(newest).toISOString(),
    ageSeconds: Math.round(ageSeconds * 1000) / 1000,
    objectiveSeconds,
    fresh: ageSeconds <= objectiveSeconds,
  };
}

export interface ProductFilter {
  domain?: string;
  owner?: string;
  tag?: string;
  status?: ProductStatus;
  source?: EntrySource;
  /** Products with a port on an asset of this kind. */
  kind?: AssetKind;
  limit?: number;
  offset?: number;
}

export interface SearchHit {
  type: 'product' | 'asset';
  id: string;
  name: string;
  kind?: AssetKind;
  description?: string;
  /** The products an asset is a port of. */
  products: string[];
  /** Columns whose name or description matched. */
  matchedColumns: string[];
  exact: boolean;
  rank: number;
}

/** A search text as a prefix query: every word (letters and digits) must appear, as a word or its start. */
export function searchQuery(text: string): string | undefined {
  const words = text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, 16);
  if (words.length === 0) return undefined;
  return words.map((word) => `${word}:*`).join(' & ');
}

export class ProductConflictError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 409 | 400 = 409,
  ) {
    super(message);
  }
}

export interface CatalogStoreOptions {
  /** Record registration events in the outbox at every change (ADR 0021). */
  events?: boolean;
  /** Called after a commit that recorded events (the relay is woken). */
  onEvents?: () => void;
}

export class CatalogStore {
  constructor(
    readonly pool: pg.Pool,
    private readonly options: CatalogStoreOptions = {},
  ) {}

  /**
   * Each change point records its registration events in its own transaction (ADR 0021), when events are on;
   * off (no AMQP_URL), nothing is written, so that an outbox no relay empties does not grow.
   */
  private async recordEvents(client: pg.ClientBase, changes: CatalogChange[]): Promise<void> {
    if (this.options.events && changes.length > 0) await recordCatalogEvents(client, changes);
  }

  /** Runs `work` in one transaction; after its commit, the relay learns of the events it recorded. */
  private async changing<R>(
    work: (client: pg.PoolClient) => Promise<{ value: R; events: readonly CatalogChange[] }>,
  ): Promise<R> {
    const { value, events } = await inTransaction(this.pool, work);
    if (this.options.events && events.length > 0) this.options.onEvents?.();
    return value;
  }

  /**
   * Makes the catalog what discovery found: discovered assets, access, products, ports and edges are
   * upserted, and those discovery made before but found no more are removed. Registered (manual,
   * kubernetes) entries are never touched. One transaction, one discovery at a time across replicas.
   */
  async reconcile(snapshot: Snapshot, startedAt = new Date()): Promise<ReconcileResult | undefined> {
    return this.changing(async (client) => {
      const locked = await client.query<{ ok: boolean }>(
        "select pg_try_advisory_xact_lock(hashtext('plantmesh catalog discovery')) as ok",
      );
      if (!locked.rows[0]?.ok) return { value: undefined, events: [] };
      const assets = snapshot.assets.map((asset) => ({
        id: asset.id,
        kind: asset.kind,
        name: asset.name,
        short_name: shortName(asset.kind, asset.name),
        description: asset.description ?? null,
        tags: asset.tags,
        columns: asset.columns,
        row_count: asset.rowCount ?? null,
        row_count_exact: asset.rowCountExact ?? null,
        newest_data_at: asset.newestDataAt ?? null,
        properties: asset.properties,
        fingerprint: fingerprint(asset),
      }));
      const upserted = await client.query<{ id: string; added: boolean; changed: boolean }>(
        `insert into catalog.assets as a (id, kind, name, short_name, description, tags, source, columns, row_count,
                                          row_count_exact, newest_data_at, properties, fingerprint)
         select id, kind, name, short_name, description, tags, 'discovered', columns, row_count, row_count_exact,
                newest_data_at, properties, fingerprint
         from jsonb_to_recordset($1::jsonb) as x(id text, kind text, name text, short_name text, description text,
              tags text[], columns jsonb, row_count bigint, row_count_exact boolean, newest_data_at timestamptz,
              properties jsonb, fingerprint text)
         on conflict (id) do update set
           description = excluded.description, tags = excluded.tags, columns = excluded.columns,
           short_name = excluded.short_name, row_count = excluded.row_count, row_count_exact = excluded.row_count_exact,
           newest_data_at = excluded.newest_data_at, properties = excluded.properties,
           fingerprint = excluded.fingerprint, seen_at = now(),
           changed_at = case when a.fingerprint is distinct from excluded.fingerprint then now() else a.changed_at end
         -- An asset as it was is not rewritten: 100,000 quiet topics cost no writes per round.
         where a.source = 'discovered'
           and (a.fingerprint, a.row_count, a.row_count_exact, a.newest_data_at)
               is distinct from (excluded.fingerprint, excluded.row_count, excluded.row_count_exact, excluded.newest_data_at)
         returning a.id, (xmax = 0) as added, (xmax <> 0 and changed_at = now()) as changed`,
        [JSON.stringify(assets)],
      );
      const ids = snapshot.assets.map((asset) => asset.id);
      // What was found, as analysed temporary tables: the removals below are anti-joins the planner hashes,
      // whatever the number of assets (a NOT IN over 100,000 rows is not).
      await client.query('create temporary table found_assets (id text primary key) on commit drop');
      await client.query('insert into found_assets select distinct unnest($1::text[])', [ids]);
      await client.query(
        `create temporary table found_access on commit drop as
         select * from jsonb_to_recordset($1::jsonb) as x(asset_id text, kind text)`,
        [JSON.stringify(snapshot.access.map((a) => ({ asset_id: a.assetId, kind: a.kind })))],
      );
      await client.query('analyze found_assets; analyze found_access');
      const removed = await client.query<{ id: string }>(
        `delete from catalog.assets a where a.source = 'discovered'
         and not exists (select from found_assets f where f.id = a.id)
         returning a.id`,
      );
      // Access snippets of discovered assets: as found now.
      await client.query(
        `delete from catalog.access c using catalog.assets a
         where a.id = c.asset_id and a.source = 'discovered'
           and not exists (select from found_access f where f.asset_id = c.asset_id and f.kind = c.kind)`,
      );
      await client.query(
        `insert into catalog.access as c (asset_id, kind, snippet, role)
         select x.asset_id, x.kind, x.snippet, x.role
         from jsonb_to_recordset($1::jsonb) as x(asset_id text, kind text, snippet text, role text)
         join catalog.assets a on a.id = x.asset_id and a.source = 'discovered'
         on conflict (asset_id, kind) do update set snippet = excluded.snippet, role = excluded.role
         where (c.snippet, c.role) is distinct from (excluded.snippet, excluded.role)`,
        [
          JSON.stringify(
            snapshot.access.map((a) => ({
              asset_id: a.assetId,
              kind: a.kind,
              snippet: a.snippet,
              role: a.role ?? null,
            })),
          ),
        ],
      );
      // Products and their ports.
      const products = snapshot.products.map((p) => ({
        name: p.name,
        title: p.title ?? null,
        domain: p.domain,
        owner: p.owner,
        description: p.description,
        tags: p.tags,
        status: p.status,
        version: p.version ?? null,
        freshness_objective_seconds: p.freshnessObjectiveSeconds,
        defined_by: p.definedBy ?? null,
      }));
      const productsUpserted = await client.query<{ name: string; domain: string; added: boolean }>(
        `insert into catalog.products as p (name, title, domain, owner, description, tags, status, source, version,
                                            freshness_objective_seconds, defined_by)
         select name, title, domain, owner, description, tags, status, 'discovered', version, freshness_objective_seconds, defined_by
         from jsonb_to_recordset($1::jsonb) as x(name text, title text, domain text, owner text, description text,
              tags text[], status text, version text, freshness_objective_seconds integer, defined_by text)
         on conflict (name) do update set title = excluded.title, domain = excluded.domain, owner = excluded.owner,
           description = excluded.description, tags = excluded.tags, status = excluded.status, version = excluded.version,
           freshness_objective_seconds = excluded.freshness_objective_seconds, defined_by = excluded.defined_by,
           updated_at = now()
         where p.source = 'discovered'
           and (p.title, p.domain, p.owner, p.description, p.tags, p.status, p.version, p.freshness_objective_seconds, p.defined_by)
               is distinct from (excluded.title, excluded.domain, excluded.owner, excluded.description, excluded.tags,
                                 excluded.status, excluded.version, excluded.freshness_objective_seconds, excluded.defined_by)
         returning p.name, p.domain, (xmax = 0) as added`,
        [JSON.stringify(products)],
      );
      const productsRemoved = await client.query<{ name: string; domain: string }>(
        "delete from catalog.products where source = 'discovered' and not (name = any ($1::text[])) returning name, domain",
        [snapshot.products.map((p) => p.name)],
      );
      const ports = snapshot.products.flatMap((p) =>
        p.ports.map((port) => ({ product: p.name, asset_id: port.assetId, direction: port.direction })),
      );
      await client.query(
        `create temporary table found_ports on commit drop as
         select * from jsonb_to_recordset($1::jsonb) as x(product text, asset_id text, direction text)`,
        [JSON.stringify(ports)],
      );
      await client.query('analyze found_ports');
      const portsRemoved = await client.query<{ product: string }>(
        `delete from catalog.ports o using catalog.products p
         where p.name = o.product and p.source = 'discovered'
           and not exists (select from found_ports f
                           where (f.product, f.asset_id, f.direction) = (o.product, o.asset_id, o.direction))
         returning o.product`,
      );
      const portsAdded = await client.query<{ product: string }>(
        `insert into catalog.ports (product, asset_id, direction)
         select x.product, x.asset_id, x.direction
         from jsonb_to_recordset($1::jsonb) as x(product text, asset_id text, direction text)
         join catalog.products p on p.name = x.product and p.source = 'discovered'
         join catalog.assets a on a.id = x.asset_id
         on conflict do nothing
         returning product`,
        [JSON.stringify(ports)],
      );
      // Lineage edges.
      const edges = snapshot.edges.map((e) => ({
        from_asset: e.from,
        from_field: e.fromField ?? '',
        to_asset: e.to,
        to_field: e.toField ?? '',
        relation: e.relation,
        via: e.via ?? null,
      }));
      await client.query(
        `create temporary table found_edges on commit drop as
         select * from jsonb_to_recordset($1::jsonb) as x(from_asset text, from_field text, to_asset text, to_field text, relation text, via text)`,
        [JSON.stringify(edges)],
      );
      await client.query('analyze found_edges');
      await client.query(
        `delete from catalog.lineage_edges e where e.source = 'discovered' and not exists (
           select from found_edges f where (f.from_asset, f.to_asset, f.from_field, f.to_field) = (e.from_asset, e.to_asset, e.from_field, e.to_field))`,
      );
      await client.query(
        `insert into catalog.lineage_edges as e (from_asset, from_field, to_asset, to_field, relation, via, source)
         select f.from_asset, f.from_field, f.to_asset, f.to_field, f.relation, f.via, 'discovered'
         from found_edges f
         where exists (select from catalog.assets where id = f.from_asset) and exists (select from catalog.assets where id = f.to_asset)
         on conflict (from_asset, to_asset, from_field, to_field) do update set relation = excluded.relation, via = excluded.via
         where e.source = 'discovered' and (e.relation, e.via) is distinct from (excluded.relation, excluded.via)`,
      );
      const result: ReconcileResult = {
        assets: snapshot.assets.length,
        added: upserted.rows.filter((row) => row.added).length,
        changed: upserted.rows.filter((row) => row.changed).length,
        removed: removed.rowCount ?? 0,
        products: snapshot.products.length,
        edges: snapshot.edges.length,
      };
      // Registration events: one per discovered product added, changed (its fields or its ports) or removed,
      // and the round's assets summarised in one event (100,000 new topics are one message, not 100,000).
      const events: CatalogChange[] = [];
      const productDomain = new Map(snapshot.products.map((p) => [p.name, p.domain]));
      const addedProducts = new Set(productsUpserted.rows.filter((r) => r.added).map((r) => r.name));
      const changedProducts = new Set([
        ...productsUpserted.rows.filter((r) => !r.added).map((r) => r.name),
        ...portsRemoved.rows.map((r) => r.product),
        ...portsAdded.rows.map((r) => r.product),
      ]);
      for (const name of [...addedProducts].sort())
        events.push({
          type: 'product.registered',
          source: 'discovered',
          product: { name, domain: productDomain.get(name) ?? '' },
        });
      for (const name of [...changedProducts].sort()) {
        if (addedProducts.has(name) || !productDomain.has(name)) continue;
        events.push({
          type: 'product.changed',
          source: 'discovered',
          product: { name, domain: productDomain.get(name) ?? '' },
        });
      }
      for (const row of [...productsRemoved.rows].sort((a, b) => a.name.localeCompare(b.name)))
        events.push({ type: 'product.removed', source: 'discovered', product: { name: row.name, domain: row.domain } });
      if (result.added || result.changed || result.removed) {
        const added = someIds(upserted.rows.filter((row) => row.added).map((row) => row.id));
        const changed = someIds(upserted.rows.filter((row) => row.changed).map((row) => row.id));
        const gone = someIds(removed.rows.map((row) => row.id));
        events.push({
          type: 'assets.changed',
          source: 'discovered',
          assets: {
            added: result.added,
            changed: result.changed,
            removed: result.removed,
            addedIds: added.ids,
            changedIds: changed.ids,
            removedIds: gone.ids,
            truncated: added.truncated || changed.truncated || gone.truncated,
          },
        });
      }
      await this.recordEvents(client, events);
      await client.query(
        `insert into catalog.discovery_runs (started_at, assets, added, changed, removed, products, edges)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [startedAt, result.assets, result.added, result.changed, result.removed, result.products, result.edges],
      );
      return { value: result, events };
    });
  }

  async listProducts(filter: ProductFilter = {}): Promise<{ products: Product[]; total: number }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.domain) add('p.domain = ?', filter.domain);
    if (filter.owner) add('p.owner = ?', filter.owner);
    if (filter.tag) add('? = any (p.tags)', filter.tag);
    if (filter.status) add('p.status = ?', filter.status);
    if (filter.source) add('p.source = ?', filter.source);
    if (filter.kind) {
      add(
        'exists (select from catalog.ports o join catalog.assets a on a.id = o.asset_id where o.product = p.name and a.kind = ?)',
        filter.kind,
      );
    }
    const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
    const total = await this.pool.query<{ n: string }>(
      `select count(*)::text as n from catalog.products p ${where}`,
      params,
    );
    const { rows } = await this.pool.query<ProductRow>(
      `${productSelect} ${where} order by p.name limit ${Math.min(filter.limit ?? 100, 1000)} offset ${Math.max(0, filter.offset ?? 0)}`,
      params,
    );
    return { products: rows.map(productFromRow), total: Number(total.rows[0]?.n ?? 0) };
  }

  async product(name: string): Promise<ProductDetail | undefined> {
    const { rows } = await this.pool.query<ProductRow>(`${productSelect} where p.name = $1`, [name]);
    const row = rows[0];
    if (!row) return undefined;
    const product = productFromRow(row);
    const ids = product.ports.map((port) => port.assetId);
    const assets = (
      await this.pool.query<AssetRow>(
        `select ${assetColumns} from catalog.assets a where a.id = any ($1::text[]) order by a.id`,
        [ids],
      )
    ).rows.map((r) => assetFromRow(r));
    const access = (
      await this.pool.query<{ asset_id: string; kind: Access['kind']; snippet: string; role: string | null }>(
        'select asset_id, kind, snippet, role from catalog.access where asset_id = any ($1::text[]) order by asset_id, kind',
        [ids],
      )
    ).rows.map((r) => ({ assetId: r.asset_id, kind: r.kind, snippet: r.snippet, ...(r.role ? { role: r.role } : {}) }));
    const outputs = new Set(product.ports.filter((port) => port.direction === 'output').map((port) => port.assetId));
    return {
      ...product,
      assets,
      access,
      freshness: freshnessOf(
        product.freshnessObjectiveSeconds,
        assets.filter((asset) => outputs.has(asset.id)),
      ),
    };
  }

  async asset(id: string): Promise<(Asset & { access: Access[]; products: string[] }) | undefined> {
    const { rows } = await this.pool.query<AssetRow>(`select ${assetColumns} from catalog.assets a where a.id = $1`, [
      id,
    ]);
    if (!rows[0]) return undefined;
    const access = (
      await this.pool.query<{ asset_id: string; kind: Access['kind']; snippet: string; role: string | null }>(
        'select asset_id, kind, snippet, role from catalog.access where asset_id = $1 order by kind',
        [id],
      )
    ).rows.map((r) => ({ assetId: r.asset_id, kind: r.kind, snippet: r.snippet, ...(r.role ? { role: r.role } : {}) }));
    const products = (
      await this.pool.query<{ product: string }>(
        'select distinct product from catalog.ports where asset_id = $1 order by product',
        [id],
      )
    ).rows.map((r) => r.product);
    return { ...assetFromRow(rows[0]), access, products };
  }

  async listAssets(
    filter: { kind?: AssetKind; limit?: number; offset?: number } = {},
  ): Promise<{ assets: Asset[]; total: number }> {
    const where = filter.kind ? 'where a.kind = $1' : '';
    const params = filter.kind ? [filter.kind] : [];
    const total = await this.pool.query<{ n: string }>(
      `select count(*)::text as n from catalog.assets a ${where}`,
      params,
    );
    const { rows } = await this.pool.query<AssetRow>(
      `select ${assetColumns} from catalog.assets a ${where} order by a.id limit ${Math.min(filter.limit ?? 100, 1000)} offset ${Math.max(0, filter.offset ?? 0)}`,
      params,
    );
    return { assets: rows.map((r) => assetFromRow(r, false)), total: Number(total.rows[0]?.n ?? 0) };
  }

  /**
   * Full-text search over products (name, title, tags, domain, owner, description) and assets (name and its
   * parts, tags, columns, descriptions, units): exact name matches first (the whole name, then the short
   * name: `heats` is curated.heats), then by weighted rank (names A, tags and columns B, descriptions C).
   */
  async search(text: string, options: { limit?: number; kind?: AssetKind | 'product' } = {}): Promise<SearchHit[]> {
    const query = searchQuery(text);
    const exact = text.trim().toLowerCase();
    if (!query && !exact) return [];
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const wantProducts = !options.kind || options.kind === 'product';
    const wantAssets = options.kind !== 'product';
    const { rows } = await this.pool.query<{
      type: 'product' | 'asset';
      id: string;
      name: string;
      kind: AssetKind | null;
      description: string | null;
      products: string[] | null;
      matched_columns: string[] | null;
      exactness: number;
      rank: number;
    }>(
      // The hits are ranked and cut to the limit first; what is only shown (the products of an asset, the
      // columns that matched) is computed for those alone, not for every match of a broad word.
      `with q as (select case when $1::text is null then null else to_tsquery('english', $1) end as query, $2::text as exact),
       hits as (
         select 'product' as type, p.name as id, p.name, null as kind, p.description,
                case when lower(p.name) = q.exact or lower(coalesce(p.title, '')) = q.exact then 2 else 0 end as exactness,
                coalesce(ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', p.search, q.query), 0) * 1.2 as rank
         from catalog.products p, q
         where $4 and (lower(p.name) = q.exact or lower(coalesce(p.title, '')) = q.exact or p.search @@ q.query)
         union all
         select 'asset', a.id, a.name, a.kind, a.description,
                case when lower(a.name) = q.exact then 2 when lower(a.short_name) = q.exact then 1 else 0 end,
                coalesce(ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', a.search, q.query), 0)
         from catalog.assets a, q
         where $5 and ($6::text is null or a.kind = $6)
           and (lower(a.name) = q.exact or lower(a.short_name) = q.exact or a.search @@ q.query)
         order by exactness desc, rank desc, type desc, name
         limit $3
       )
       select h.*,
              case when h.type = 'product' then array[h.id]
                   else (select array_agg(distinct o.product order by o.product) from catalog.ports o where o.asset_id = h.id)
              end as products,
              case when h.type = 'asset' then
                (select array_agg(c ->> 'name' order by (c ->> 'position')::int)
                 from catalog.assets a, jsonb_array_elements(a.columns) c
                 where a.id = h.id and q.query is not null
                   and to_tsvector('english', (c ->> 'name') || ' ' || replace(c ->> 'name', '_', ' ') || ' ' ||
                                              coalesce(c ->> 'description', '') || ' ' || coalesce(c ->> 'unit', '')) @@ q.query)
              end as matched_columns
       from hits h, q
       order by h.exactness desc, h.rank desc, h.type desc, h.name`,
      [
        query ?? null,
        exact,
        limit,
        wantProducts,
        wantAssets,
        options.kind && options.kind !== 'product' ? options.kind : null,
      ],
    );
    return rows.map((row) => ({
      type: row.type,
      id: row.id,
      name: row.name,
      ...(row.kind ? { kind: row.kind } : {}),
      ...(row.description ? { description: row.description } : {}),
      products: row.products ?? [],
      matchedColumns: row.matched_columns ?? [],
      exact: row.exactness > 0,
      rank: Number(row.rank),
    }));
  }

  /**
   * The lineage graph around a product's outputs (or one asset): upstream (what feeds it), downstream (what
   * it feeds) or both, to a depth; at most `maxNodes` nodes, nearest first, so a huge graph stays an answer.
   */
  async lineage(
    start: { product: string } | { asset: string },
    options: {
      direction?: 'upstream' | 'downstream' | 'both';
      depth?: number;
      maxNodes?: number;
      columns?: boolean;
    } = {},
  ): Promise<(LineageGraph & { truncated: boolean }) | undefined> {
    let roots: string[];
    if ('product' in start) {
      const { rows } = await this.pool.query<{ asset_id: string; direction: string }>(
        'select asset_id, direction from catalog.ports where product = $1',
        [start.product],
      );
      const exists = await this.pool.query('select from catalog.products where name = $1', [start.product]);
      if (exists.rowCount === 0) return undefined;
      const outputs = rows.filter((r) => r.direction === 'output').map((r) => r.asset_id);
      roots = outputs.length ? outputs : rows.map((r) => r.asset_id);
    } else {
      const exists = await this.pool.query('select from catalog.assets where id = $1', [start.asset]);
      if (exists.rowCount === 0) return undefined;
      roots = [start.asset];
    }
    const depth = Math.min(Math.max(options.depth ?? 1, 0), 50);
    const maxNodes = Math.min(Math.max(options.maxNodes ?? 2_000, 1), 20_000);
    const direction = options.direction ?? 'both';
    const walk = (up: boolean) =>
      this.pool.query<{ asset: string; depth: number }>(
        // Each step follows the edges' indexes (to_asset upstream, the key's from_asset downstream); `union`
        // drops the repeats that column-level edges make.
        `with recursive walk(asset, depth) as (
           select unnest($1::text[]), 0
           union
           select e.${up ? 'from_asset' : 'to_asset'}, w.depth + 1
           from walk w join catalog.lineage_edges e on e.${up ? 'to_asset' : 'from_asset'} = w.asset
           where w.depth < $2
         )
         select asset, min(depth)::int as depth from walk group by asset order by min(depth), asset limit $3`,
        [roots, depth, maxNodes + 1],
      );
    const found = new Map<string, number>();
    let truncated = false;
    for (const up of direction === 'both' ? [true, false] : [direction === 'upstream']) {
      const { rows } = await walk(up);
      if (rows.length > maxNodes) truncated = true;
      for (const row of rows.slice(0, maxNodes)) {
        const before = found.get(row.asset);
        found.set(row.asset, before === undefined ? row.depth : Math.min(before, row.depth));
      }
    }
    if (found.size > maxNodes) {
      truncated = true;
      const nearest = [...found.entries()].sort((a, b) => a[1] - b[1]).slice(0, maxNodes);
      found.clear();
      for (const [asset, d] of nearest) found.set(asset, d);
    }
    const ids = [...found.keys()];
    const nodes = (
      await this.pool.query<{ id: string; kind: AssetKind; name: string; products: string[] | null }>(
        `select a.id, a.kind, a.name,
                (select array_agg(distinct o.product order by o.product) from catalog.ports o where o.asset_id = a.id) as products
         from catalog.assets a where a.id = any ($1::text[]) order by a.id`,
        [ids],
      )
    ).rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      name: row.name,
      products: row.products ?? [],
      depth: found.get(row.id) ?? 0,
    }));
    const edges = (
      await this.pool.query<{
        from_asset: string;
        from_field: string;
        to_asset: string;
        to_field: string;
        relation: LineageEdge['relation'];
        via: string | null;
        source: EntrySource;
      }>(
        `select from_asset, from_field, to_asset, to_field, relation, via, source from catalog.lineage_edges
         where from_asset = any ($1::text[]) and to_asset = any ($1::text[]) ${options.columns === false ? "and from_field = '' and to_field = ''" : ''}
         order by from_asset, to_asset, from_field, to_field`,
        [ids],
      )
    ).rows.map((row) => ({
      from: row.from_asset,
      to: row.to_asset,
      ...(row.from_field ? { fromField: row.from_field } : {}),
      ...(row.to_field ? { toField: row.to_field } : {}),
      relation: row.relation,
      ...(row.via ? { via: row.via } : {}),
      source: row.source,
    }));
    return { nodes, edges, truncated };
  }

  /**
   * Registers (or replaces) a product by hand, with assets of its own where its ports name assets the
   * catalog does not know. A discovered product cannot be replaced: its definition says what it is.
   */
  async register(
    product: Omit<Product, 'source' | 'createdAt' | 'updatedAt'>,
    assets: Array<Omit<Asset, 'id' | 'source'>>,
    options: { create?: boolean; source?: EntrySource; document?: unknown } = {},
  ): Promise<'created' | 'replaced'> {
    const source = options.source ?? 'manual';
    return this.changing(async (client) => {
      const existing = await client.query<{ source: EntrySource }>(
        'select source from catalog.products where name = $1 for update',
        [product.name],
      );
      const before = existing.rows[0];
      if (before && options.create)
        throw new ProductConflictError(`product ${product.name} exists already (PUT replaces it)`);
      if (before && before.source !== source) {
        throw new ProductConflictError(
          `product ${product.name} is ${before.source}, not ${source}: it is changed where it comes from (its definition or annotation)`,
        );
      }
      // A registration that changes nothing (a registrar's resync, a PUT sent again) records no event.
      let changed = !before;
      for (const asset of assets) {
        const assetIdOf = `${asset.kind}:${asset.name}`;
        const taken = await client.query<{ source: EntrySource; fingerprint: string | null }>(
          'select source, fingerprint from catalog.assets where id = $1',
          [assetIdOf],
        );
        if (taken.rows[0] && taken.rows[0].source !== source) {
          throw new ProductConflictError(
            `asset ${assetIdOf} is ${taken.rows[0].source}; name it in a port instead of describing it`,
            409,
          );
        }
        const full: Asset = { ...asset, id: assetIdOf, source };
        if (taken.rows[0]?.fingerprint !== fingerprint(full)) changed = true;
        await client.query(
          `insert into catalog.assets (id, kind, name, short_name, description, tags, source, columns, properties, fingerprint, row_count, row_count_exact, newest_data_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           on conflict (id) do update set description = excluded.description, tags = excluded.tags, columns = excluded.columns,
             properties = excluded.properties, short_name = excluded.short_name, seen_at = now(),
             row_count = excluded.row_count, row_count_exact = excluded.row_count_exact, newest_data_at = excluded.newest_data_at,
             changed_at = case when catalog.assets.fingerprint is distinct from excluded.fingerprint then now() else catalog.assets.changed_at end,
             fingerprint = excluded.fingerprint`,
          [
            assetIdOf,
            asset.kind,
            asset.name,
            shortName(asset.kind, asset.name),
            asset.description ?? null,
            asset.tags,
            source,
            JSON.stringify(asset.columns),
            JSON.stringify(asset.properties),
            fingerprint(full),
            asset.rowCount ?? null,
            asset.rowCount === undefined ? null : (asset.rowCountExact ?? false),
            asset.newestDataAt ?? null,
          ],
        );
      }
      const missing = await client.query<{ id: string }>(
        'select x as id from unnest($1::text[]) x where not exists (select from catalog.assets where id = x)',
        [product.ports.map((port) => port.assetId)],
      );
      if (missing.rows.length > 0) {
        throw new ProductConflictError(
          `unknown assets in ports: ${missing.rows.map((r) => r.id).join(', ')} (describe them in "assets" or let discovery find them first)`,
          400,
        );
      }
      const values = [
        product.name,
        product.title ?? null,
        product.domain,
        product.owner,
        product.description,
        product.tags,
        product.status,
        source,
        product.version ?? null,
        product.freshnessObjectiveSeconds,
        product.definedBy ?? null,
        JSON.stringify(options.document ?? {}),
      ];
      const ports = JSON.stringify(product.ports.map((port) => ({ ...port, description: port.description ?? null })));
      if (before && !changed) {
        const { rows } = await client.query<{ same: boolean }>(
          `with wanted as (
             select distinct * from jsonb_to_recordset($13::jsonb) as x("assetId" text, direction text, description text)),
           held as (select asset_id, direction, description from catalog.ports where product = $1)
           select (p.title, p.domain, p.owner, p.description, p.tags, p.status, p.version,
                   p.freshness_objective_seconds, p.defined_by, p.document)
                    is not distinct from ($2, $3, $4, $5, $6::text[], $7, $9, $10::int, $11, $12::jsonb)
                  and not exists (select * from wanted except select * from held)
                  and not exists (select * from held except select * from wanted) as same
             from catalog.products p where p.name = $1 and p.source = $8`,
          [...values, ports],
        );
        changed = !rows[0]?.same;
      }
      if (!changed) return { value: 'replaced' as const, events: [] };
      await client.query(
        `insert into catalog.products (name, title, domain, owner, description, tags, status, source, version,
                                       freshness_objective_seconds, defined_by, document)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (name) do update set title = excluded.title, domain = excluded.domain, owner = excluded.owner,
           description = excluded.description, tags = excluded.tags, status = excluded.status, version = excluded.version,
           freshness_objective_seconds = excluded.freshness_objective_seconds, defined_by = excluded.defined_by,
           document = excluded.document, updated_at = now()`,
        values,
      );
      await client.query('delete from catalog.ports where product = $1', [product.name]);
      for (const port of product.ports) {
        await client.query(
          'insert into catalog.ports (product, asset_id, direction, description) values ($1, $2, $3, $4) on conflict do nothing',
          [product.name, port.assetId, port.direction, port.description ?? null],
        );
      }
      const events: CatalogChange[] = [
        {
          type: before ? 'product.changed' : 'product.registered',
          source,
          product: { name: product.name, domain: product.domain },
        },
      ];
      await this.recordEvents(client, events);
      return { value: before ? 'replaced' : 'created', events };
    });
  }

  /** Removes a registered product (and the assets registered with it that no other product uses). */
  async unregister(name: string, source: EntrySource = 'manual'): Promise<boolean> {
    return this.changing(async (client) => {
      const existing = await client.query<{ source: EntrySource; domain: string }>(
        'select source, domain from catalog.products where name = $1 for update',
        [name],
      );
      if (!existing.rows[0]) return { value: false, events: [] };
      if (existing.rows[0].source !== source) {
        throw new ProductConflictError(
          `product ${name} is ${existing.rows[0].source}: it goes when its definition goes`,
        );
      }
      const { rows } = await client.query<{ asset_id: string }>(
        'select asset_id from catalog.ports where product = $1',
        [name],
      );
      await client.query('delete from catalog.products where name = $1', [name]);
      await client.query(
        `delete from catalog.assets a where a.id = any ($1::text[]) and a.source = $2
           and not exists (select from catalog.ports o where o.asset_id = a.id)`,
        [rows.map((r) => r.asset_id), source],
      );
      const events: CatalogChange[] = [
        { type: 'product.removed', source, product: { name, domain: existing.rows[0].domain } },
      ];
      await this.recordEvents(client, events);
      return { value: true, events };
    });
  }

  /** Which of these assets the catalog holds, and where each came from (for a registrar that may only name some). */
  async assetSources(ids: readonly string[]): Promise<Map<string, EntrySource>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; source: EntrySource }>(
      'select id, source from catalog.assets where id = any ($1::text[])',
      [[...new Set(ids)]],
    );
    return new Map(rows.map((row) => [row.id, row.source]));
  }

  /**
   * For a registrar that knows the whole set of its products (the Kubernetes watcher): removes the products of
   * its source not in `keep`, and the assets of that source that no port uses any more (one registered with a
   * product that since dropped it). Returns the names removed. Other sources are never touched.
   */
  async retainProducts(source: Exclude<EntrySource, 'discovered'>, keep: readonly string[]): Promise<string[]> {
    return this.changing(async (client) => {
      const removed = await client.query<{ name: string; domain: string }>(
        'delete from catalog.products where source = $1 and not (name = any ($2::text[])) returning name, domain',
        [source, [...keep]],
      );
      await client.query(
        `delete from catalog.assets a where a.source = $1
           and not exists (select from catalog.ports o where o.asset_id = a.id)`,
        [source],
      );
      const events: CatalogChange[] = [...removed.rows]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((row) => ({ type: 'product.removed', source, product: { name: row.name, domain: row.domain } }));
      await this.recordEvents(client, events);
      return { value: removed.rows.map((row) => row.name).sort(), events };
    });
  }

  /** Each product's freshness and rows (its outputs), for the gauges. */
  async productStates(): Promise<
    Array<{ name: string; objectiveSeconds: number; newestDataAt: Date | null; rows: number | null }>
  > {
    const { rows } = await this.pool.query<{
      name: string;
      objective: number;
      newest: Date | null;
      rows: string | null;
    }>(
      `select p.name, p.freshness_objective_seconds as objective,
              max(a.newest_data_at) as newest,
              sum(a.row_count) filter (where a.kind in ('postgres_table', 'postgres_view'))::text as rows
       from catalog.products p
       left join catalog.ports o on o.product = p.name and o.direction = 'output'
       left join catalog.assets a on a.id = o.asset_id
       group by p.name order by p.name`,
    );
    return rows.map((row) => ({
      name: row.name,
      objectiveSeconds: row.objective,
      newestDataAt: row.newest,
      rows: row.rows === null ? null : Number(row.rows),
    }));
  }
}
