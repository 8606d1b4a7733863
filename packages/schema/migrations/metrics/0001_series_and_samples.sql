-- metrics: sensor time series. series names each stream once; samples holds the values; latest keeps
-- the last known value per series, so that reading it never scans samples.
select plantmesh.ensure_store('metrics');
set local role plantmesh_metrics_owner;

create table metrics.series (
  id          integer     generated always as identity primary key,
  -- The topic path: site/area/line/cell/tag (ISA-95 style).
  path        text        not null unique,
  -- UNECE Recommendation 20 common code (e.g. CEL, BAR) or the symbol the publisher sent.
  unit        text,
  data_type   text        not null default 'double',
  first_seen  timestamptz not null default now()
);

create table metrics.latest (
  series_id  integer          primary key references metrics.series (id),
  ts         timestamptz      not null,
  value      double precision,
  -- 0 good, 1 uncertain, 2 bad (OPC UA's three severities).
  quality    smallint         not null default 0
);

reset role;

-- samples: a TimescaleDB hypertable (compressed after 7 days, dropped after 400) where the extension
-- can be created, else native daily range partitions with a BRIN index on ts. Both paths have the
-- same columns and the same (series_id, ts) index, so readers and writers do not care which it is.
do $$
declare
  use_timescale boolean := false;
begin
  if exists (select from pg_available_extensions where name = 'timescaledb') then
    begin
      create extension if not exists timescaledb;
      use_timescale := true;
    exception when others then
      raise notice 'metrics.samples: timescaledb is available but cannot be created (%); using native partitions', sqlerrm;
    end;
  end if;

  set local role plantmesh_metrics_owner;
  if use_timescale then
    create table metrics.samples (
      ts         timestamptz      not null,
      series_id  integer          not null,
      value      double precision,
      quality    smallint         not null default 0
    );
    perform create_hypertable('metrics.samples', 'ts', chunk_time_interval => interval '1 day');
    create index samples_series_ts on metrics.samples (series_id, ts desc);
    alter table metrics.samples set (
      timescaledb.compress,
      timescaledb.compress_segmentby = 'series_id',
      timescaledb.compress_orderby = 'ts'
    );
    reset role;
    -- TimescaleDB runs a policy as the table's owner, which therefore needs LOGIN; it has no
    -- password, so nobody can authenticate as it over the network.
    alter role plantmesh_metrics_owner login;
    perform add_compression_policy('metrics.samples', interval '7 days');
    perform add_retention_policy('metrics.samples', interval '400 days');
    comment on table metrics.samples is 'storage: timescaledb hypertable, 1 day chunks, compressed after 7 days, retained 400 days';
    raise notice 'metrics.samples: TimescaleDB hypertable, compression after 7 days, retention 400 days';
  else
    create table metrics.samples (
      ts         timestamptz      not null,
      series_id  integer          not null,
      value      double precision,
      quality    smallint         not null default 0
    ) partition by range (ts);
    -- Rows outside every daily partition land here rather than being refused.
    create table metrics.samples_default partition of metrics.samples default;
    create index samples_ts_brin on metrics.samples using brin (ts);
    create index samples_series_ts on metrics.samples (series_id, ts desc);
    reset role;
    comment on table metrics.samples is 'storage: native daily range partitions, BRIN on ts; see metrics.create_partitions and metrics.drop_partitions';
    raise notice 'metrics.samples: native daily range partitions with BRIN on ts (timescaledb not available)';
  end if;
end $$;

-- Native partitions are made ahead of time and dropped when old; a writer or a maintenance job calls
-- these. With TimescaleDB they do nothing: the extension manages its chunks and policies. They run as
-- the store's owner (security definer), so a writer needs no DDL rights of its own.
create function metrics.create_partitions(until_day date) returns integer
language plpgsql security definer set search_path = pg_catalog, metrics as $$
declare
  day date := current_date - 1;
  created integer := 0;
begin
  if exists (select from pg_extension where extname = 'timescaledb') then
    return 0;
  end if;
  while day <= until_day loop
    if to_regclass(format('metrics.samples_%s', to_char(day, 'YYYYMMDD'))) is null then
      execute format('create table metrics.%I partition of metrics.samples for values from (%L) to (%L)',
                     'samples_' || to_char(day, 'YYYYMMDD'), day, day + 1);
      created := created + 1;
    end if;
    day := day + 1;
  end loop;
  return created;
end $$;

create function metrics.drop_partitions(older_than date) returns integer
language plpgsql security definer set search_path = pg_catalog, metrics as $$
declare
  part record;
  dropped integer := 0;
begin
  for part in
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'metrics.samples'::regclass and c.relname ~ '^samples_[0-9]{8}$'
      and to_date(substring(c.relname from 9), 'YYYYMMDD') < older_than
  loop
    execute format('drop table metrics.%I', part.relname);
    dropped := dropped + 1;
  end loop;
  return dropped;
end $$;

alter function metrics.create_partitions(date) owner to plantmesh_metrics_owner;
alter function metrics.drop_partitions(date) owner to plantmesh_metrics_owner;
select metrics.create_partitions(current_date + 7);

select plantmesh.ensure_role('plantmesh_metrics_writer');
grant usage on schema metrics to plantmesh_metrics_writer;
grant select, insert on metrics.series, metrics.samples to plantmesh_metrics_writer;
grant select, insert, update on metrics.latest to plantmesh_metrics_writer;
grant execute on function metrics.create_partitions(date) to plantmesh_metrics_writer;
