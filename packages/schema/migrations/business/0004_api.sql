-- The business part of the stable SQL interface (docs/adr/0013-stable-sql-interface.md): the KPIs the
-- business ETL computes. Their tables (business.<table>) are part of the interface: a KPI definition
-- changes them only additively within its major version (docs/adr/0010-business-etl.md).
grant usage, create on schema api to plantmesh_business_owner;
set local role plantmesh_business_owner;

create view api.kpis as
  select d.kpi, d.version, d.domain, d.owner, d.description, 'business.' || d.table_name as table_name,
         d.definition -> 'window' ->> 'kind' as window_kind, d.definition -> 'key' as key, d.inputs, d.series,
         d.definition -> 'kpi' -> 'iso22400' as iso22400, d.applied_at
  from business.kpi_definitions d;
comment on view api.kpis is 'KPIs: their table (business.<name>), window kind, key, curated inputs, series and ISO 22400 elements';

reset role;

grant select on api.kpis to plantmesh_reader;
