-- business: KPIs computed from sensor samples too. A KPI names its series by MQTT topic filters; the
-- windows that new or late samples touched are marked from metrics.sample_changes, which each KPI
-- reads up to its own position (docs/adr/0011-sample-rollups.md).
set local role plantmesh_business_owner;

-- Lineage: the series (topic filters) a KPI is computed from, beside its curated inputs.
alter table business.kpi_definitions add column series text[] not null default '{}';

alter table business.watermarks
  add column samples_txid xid8   not null default '0',
  add column samples_id   bigint not null default 0;

reset role;
