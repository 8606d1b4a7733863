-- The registry of curated data products: which definition version made which table, the JSON Schema of
-- its rows and its lineage (raw topics -> table). The curated ETL writes it when it applies a
-- definition; the catalog and the I3X API read it (docs/adr/0008-curated-definition-format.md).
set local role plantmesh_curated_owner;

create table curated.definitions (
  product        text        primary key,
  version        text        not null,
  table_name     text        not null unique,
  domain         text        not null,
  owner          text        not null,
  description    text        not null,
  -- Lineage: the raw topics (MQTT filters) this product is made from.
  source_topics  text[]      not null,
  -- The definition as applied, and the JSON Schema (2020-12) of a row of its table.
  definition     jsonb       not null,
  row_schema     jsonb       not null,
  file           text,
  applied_at     timestamptz not null default now()
);

-- Every version ever applied, for lineage of older rows (_definition_version) and for audit.
create table curated.definition_versions (
  product     text        not null,
  version     text        not null,
  table_name  text        not null,
  definition  jsonb       not null,
  applied_at  timestamptz not null default now(),
  primary key (product, version)
);

reset role;
