-- catalog: the data products of the mesh, the assets they expose and consume (one table, a kind per asset
-- type), their ports, how to reach each asset, and one lineage-edge table (asset or column level). Filled by
-- the catalog's discovery and by registration (docs/adr/0016-data-product-catalog.md).
set local role plantmesh_catalog_owner;

-- The text a search looks at: a name both whole and split at its separators (`curated.heats` is found by
-- `heats`, `plant1/caster/strand1/events/heat.finished` by `caster` or `heat`), weighted A; tags and the
-- names of columns B; the description C; the columns' descriptions and units D.
create function catalog.search_document(name text, title text, description text, tags text[], columns jsonb)
returns tsvector language sql immutable parallel safe as $$
  select setweight(to_tsvector('english', coalesce(name, '') || ' ' ||
                     regexp_replace(coalesce(name, ''), '[/._:+#=@-]+', ' ', 'g') || ' ' || coalesce(title, '')), 'A')
      || setweight(to_tsvector('english', array_to_string(coalesce(tags, '{}'), ' ') || ' ' ||
                     coalesce((select string_agg((c ->> 'name') || ' ' || replace(c ->> 'name', '_', ' '), ' ')
                               from jsonb_array_elements(coalesce(columns, '[]')) as c), '')), 'B')
      || setweight(to_tsvector('english', coalesce(description, '')), 'C')
      || setweight(to_tsvector('english',
                     coalesce((select string_agg(coalesce(c ->> 'description', '') || ' ' || coalesce(c ->> 'unit', ''), ' ')
                               from jsonb_array_elements(coalesce(columns, '[]')) as c), '')), 'D')
$$;

create table catalog.products (
  name          text        primary key check (name ~ '^[a-z0-9][a-z0-9_.-]{0,127}$'),
  title         text,
  domain        text        not null check (length(domain) between 1 and 200),
  owner         text        not null check (length(owner) between 1 and 200),
  description   text        not null default '' check (length(description) <= 20000),
  tags          text[]      not null default '{}',
  status        text        not null default 'active'
                check (status in ('proposed', 'draft', 'active', 'deprecated', 'retired')),
  source        text        not null check (source in ('discovered', 'kubernetes', 'manual')),
  version       text,
  -- How old the newest data of its outputs may be before the product is stale.
  freshness_objective_seconds integer not null default 3600 check (freshness_objective_seconds > 0),
  -- What made it: curated:<product>@<version>, kpi:<kpi>@<version>, store:<store>, or registration.
  defined_by    text,
  -- What was registered, as it came (an ODPS/ODCS document, the API's body), for the standards documents.
  document      jsonb       not null default '{}',
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  search        tsvector    generated always as (
                  catalog.search_document(name, title, description, tags || array[domain, owner], null)) stored
);
create index products_search on catalog.products using gin (search);
create index products_domain on catalog.products (domain);

create table catalog.assets (
  -- <kind>:<name>, stable across discoveries.
  id              text        primary key check (id = kind || ':' || name),
  kind            text        not null check (kind in ('postgres_table', 'postgres_view', 'mqtt_topic',
                    'amqp_exchange', 'amqp_queue', 'i3x_namespace', 'i3x_type', 'http_api')),
  name            text        not null check (length(name) between 1 and 1024),
  -- The name without its qualifier (`heats` of `curated.heats`, the topic of `events:<topic>`): an exact
  -- match on it ranks first in a search, as an exact match on the name does.
  short_name      text        not null,
  description     text        check (length(description) <= 20000),
  tags            text[]      not null default '{}',
  source          text        not null check (source in ('discovered', 'kubernetes', 'manual')),
  -- [{name, type, nullable, position, unit?, description?, key?}] for tables and views.
  columns         jsonb       not null default '[]' check (jsonb_typeof(columns) = 'array'),
  row_count       bigint,
  row_count_exact boolean,
  -- The newest data timestamp found in the data itself (not when the catalog looked).
  newest_data_at  timestamptz,
  properties      jsonb       not null default '{}' check (jsonb_typeof(properties) = 'object'),
  -- A hash of what the asset says (not its counts): changed_at moves only when it changes.
  fingerprint     text        not null default '',
  seen_at         timestamptz not null default now(),
  changed_at      timestamptz not null default now(),
  search          tsvector    generated always as (
                    catalog.search_document(name, null, description, tags, columns)) stored
);
create index assets_search on catalog.assets using gin (search);
create index assets_kind on catalog.assets (kind);
create index assets_lower_name on catalog.assets (lower(name));
create index assets_lower_short_name on catalog.assets (lower(short_name));

create table catalog.ports (
  product     text not null references catalog.products (name) on delete cascade,
  asset_id    text not null references catalog.assets (id) on delete cascade,
  direction   text not null check (direction in ('input', 'output')),
  description text,
  primary key (product, asset_id, direction)
);
create index ports_asset on catalog.ports (asset_id);

-- How to reach an asset: a copy-ready snippet per kind (sdk, psql, i3x, ...) and the role granting read.
create table catalog.access (
  asset_id  text not null references catalog.assets (id) on delete cascade,
  kind      text not null check (kind in ('sdk', 'psql', 'sql', 'i3x', 'http', 'mqtt', 'amqp')),
  snippet   text not null,
  role      text,
  primary key (asset_id, kind)
);

-- Lineage: an asset (or a field of it: a payload's JSON Pointer, a column) feeds another. '' = the whole asset.
create table catalog.lineage_edges (
  from_asset  text not null references catalog.assets (id) on delete cascade,
  from_field  text not null default '',
  to_asset    text not null references catalog.assets (id) on delete cascade,
  to_field    text not null default '',
  relation    text not null check (relation in ('ingests', 'matches', 'curates', 'computes', 'feeds')),
  via         text,
  source      text not null check (source in ('discovered', 'kubernetes', 'manual')),
  primary key (from_asset, to_asset, from_field, to_field)
);
create index lineage_edges_to on catalog.lineage_edges (to_asset);

-- What each discovery round did, for the ops port and the log.
create table catalog.discovery_runs (
  id           bigint      generated always as identity primary key,
  started_at   timestamptz not null,
  finished_at  timestamptz not null default now(),
  assets       integer     not null,
  added        integer     not null,
  changed      integer     not null,
  removed      integer     not null,
  products     integer     not null,
  edges        integer     not null
);

reset role;

-- The catalog service: reads every store (plantmesh_reader, granted on the other stores' servers) and
-- keeps its own (docs/adr/0007-identities-and-least-privilege.md).
select plantmesh.ensure_role('plantmesh_catalog_server');
grant usage on schema catalog to plantmesh_catalog_server;
grant select, insert, update, delete on catalog.products, catalog.assets, catalog.ports, catalog.access,
  catalog.lineage_edges, catalog.discovery_runs to plantmesh_catalog_server;
