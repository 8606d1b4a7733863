-- The curated part of the stable SQL interface (docs/adr/0013-stable-sql-interface.md): the data
-- products the curated ETL makes. Their tables (curated.<table>) are part of the interface: a
-- definition changes them only additively within its major version (docs/adr/0008-curated-definition-format.md).
grant usage, create on schema api to plantmesh_curated_owner;
set local role plantmesh_curated_owner;

create view api.products as
  select d.product, d.version, d.domain, d.owner, d.description, 'curated.' || d.table_name as table_name,
         d.definition -> 'key' as key, d.definition ->> 'eventTime' as event_time, d.source_topics,
         d.row_schema, d.applied_at
  from curated.definitions d;
comment on view api.products is 'Curated data products: their table (curated.<name>), key, event time, source topics and row JSON Schema';

reset role;

grant select on api.products to plantmesh_reader;
