-- metrics: rollups of samples per minute and per hour (count, sum, min, max, first, last per series and
-- bucket), read through the views metrics.samples_1m and metrics.samples_1h; and the change log of samples,
-- one row per committed write, from which the ETL learns what late or corrected samples touched
-- (docs/adr/0011-sample-rollups.md).
--
-- With TimescaleDB the views are continuous aggregates (real-time: materialized buckets plus the newest
-- samples aggregated on read), refreshed by TimescaleDB's policies. Without it they are ordinary views over
-- tables that metrics.refresh_rollups() fills, called by the business ETL: buckets are materialized once
-- they are closed, buckets that a late write touched are computed again, and the view adds the buckets not
-- yet materialized from the samples on read. Both give the same rows.
select plantmesh.ensure_store('metrics');
set local role plantmesh_metrics_owner;

-- What each committed write of samples covered. The transaction id orders the rows so that no reader
-- skips a late commit (as raw.events, docs/adr/0009-etl-delivery.md).
create table metrics.sample_changes (
  id          bigint      generated always as identity primary key,
  txid        xid8        not null default pg_current_xact_id(),
  ts_from     timestamptz not null,
  ts_to       timestamptz not null,
  samples     integer     not null,
  changed_at  timestamptz not null default now(),
  check (ts_from <= ts_to)
);
create index sample_changes_txid_id on metrics.sample_changes (txid, id);

-- How far the rollups have read the change log, and below which bucket they are materialized.
create table metrics.rollup_state (
  singleton           boolean     primary key default true check (singleton),
  txid                xid8        not null default '0',
  id                  bigint      not null default 0,
  materialized_until  timestamptz,
  refreshed_at        timestamptz
);
insert into metrics.rollup_state default values;

-- Buckets start at TimescaleDB's time_bucket origin, whatever the session's time zone.
create function metrics.bucket(width interval, ts timestamptz) returns timestamptz
language sql immutable parallel safe
return date_bin(width, ts, timestamptz '2000-01-03 00:00:00+00');

-- Whether a series path matches any of the MQTT topic filters (+ one level, # the rest): how KPI
-- definitions and readers choose series.
create function metrics.path_matches(path text, filters text[]) returns boolean
language sql immutable parallel safe
return exists (
  select from unnest(filters) as f(filter)
  where f.filter = '#' or path ~ ('^' || replace(replace(
    regexp_replace(f.filter, '([.^$*?()\[\]{}|\\])', '\\\1', 'g'), '+', '[^/]*'), '/#', '(/.*)?') || '$')
);

-- How much the counters among the series matching the filters (energy meters in kWh, produced units)
-- rose in [t_from, t_to): per series, its last reading in the span minus its last reading before the
-- span (at most lookback before it; else its first reading in the span). A counter that was reset
-- (a meter replaced) gives a negative increase for that span.
create function metrics.counter_increase(filters text[], t_from timestamptz, t_to timestamptz,
                                         lookback interval default '1 hour')
returns table (series_id integer, increase double precision)
language sql stable parallel safe as $$
  select m.id, last_in.value - coalesce(before.value, first_in.value)
  from metrics.series m
  cross join lateral (
    select s.value from metrics.samples s
    where s.series_id = m.id and s.ts >= t_from and s.ts < t_to order by s.ts desc limit 1
  ) last_in
  left join lateral (
    select s.value from metrics.samples s
    where s.series_id = m.id and s.ts < t_from and s.ts >= t_from - lookback order by s.ts desc limit 1
  ) before on true
  left join lateral (
    select s.value from metrics.samples s
    where s.series_id = m.id and s.ts >= t_from and s.ts < t_to order by s.ts limit 1
  ) first_in on true
  where metrics.path_matches(m.path, filters)
$$;

reset role;

do $$
begin
  set local role plantmesh_metrics_owner;
  if exists (select from pg_extension where extname = 'timescaledb') then
    create materialized view metrics.samples_1m
      with (timescaledb.continuous, timescaledb.materialized_only = false) as
      select series_id, time_bucket(interval '1 minute', ts) as bucket, count(value) as samples,
             sum(value) as sum, min(value) as min, max(value) as max,
             first(value, ts) as first, last(value, ts) as last
      from metrics.samples group by series_id, time_bucket(interval '1 minute', ts)
      with no data;
    create materialized view metrics.samples_1h
      with (timescaledb.continuous, timescaledb.materialized_only = false) as
      select series_id, time_bucket(interval '1 hour', bucket) as bucket, sum(samples)::bigint as samples,
             sum(sum) as sum, min(min) as min, max(max) as max,
             first(first, bucket) as first, last(last, bucket) as last
      from metrics.samples_1m group by series_id, time_bucket(interval '1 hour', bucket)
      with no data;
    reset role;
    -- Late samples up to 30 days old are refreshed by the policies; older corrections need a manual
    -- refresh_continuous_aggregate (the samples themselves are dropped after 400 days, the rollups kept).
    perform add_continuous_aggregate_policy('metrics.samples_1m', start_offset => interval '30 days',
      end_offset => interval '1 minute', schedule_interval => interval '1 minute');
    perform add_continuous_aggregate_policy('metrics.samples_1h', start_offset => interval '30 days',
      end_offset => interval '1 hour', schedule_interval => interval '10 minutes');
    comment on view metrics.samples_1m is 'rollup per series and minute: timescaledb continuous aggregate (real-time)';
    comment on view metrics.samples_1h is 'rollup per series and hour: timescaledb continuous aggregate on samples_1m (real-time)';
    raise notice 'metrics rollups: TimescaleDB continuous aggregates samples_1m and samples_1h';
  else
    create table metrics.rollup_1m (
      series_id  integer          not null,
      bucket     timestamptz      not null,
      samples    bigint           not null,
      sum        double precision,
      min        double precision,
      max        double precision,
      first      double precision,
      last       double precision,
      primary key (series_id, bucket)
    );
    create index rollup_1m_bucket on metrics.rollup_1m (bucket);
    create table metrics.rollup_1h (like metrics.rollup_1m including all);

    create view metrics.samples_1m as
      select r.series_id, r.bucket, r.samples, r.sum, r.min, r.max, r.first, r.last
      from metrics.rollup_1m r
      where r.bucket < (select coalesce(materialized_until, '-infinity') from metrics.rollup_state)
      union all
      select s.series_id, metrics.bucket('1 minute', s.ts), count(s.value), sum(s.value), min(s.value),
             max(s.value), (array_agg(s.value order by s.ts))[1], (array_agg(s.value order by s.ts desc))[1]
      from metrics.samples s
      where s.ts >= (select coalesce(materialized_until, '-infinity') from metrics.rollup_state)
      group by 1, 2;
    create view metrics.samples_1h as
      select r.series_id, r.bucket, r.samples, r.sum, r.min, r.max, r.first, r.last
      from metrics.rollup_1h r
      where r.bucket < (select coalesce(metrics.bucket('1 hour', materialized_until), '-infinity') from metrics.rollup_state)
      union all
      select m.series_id, metrics.bucket('1 hour', m.bucket), sum(m.samples)::bigint, sum(m.sum), min(m.min),
             max(m.max), (array_agg(m.first order by m.bucket))[1], (array_agg(m.last order by m.bucket desc))[1]
      from metrics.samples_1m m
      where m.bucket >= (select coalesce(metrics.bucket('1 hour', materialized_until), '-infinity') from metrics.rollup_state)
      group by 1, 2;
    reset role;
    comment on view metrics.samples_1m is 'rollup per series and minute: metrics.rollup_1m, filled by metrics.refresh_rollups(), plus the newest samples on read';
    comment on view metrics.samples_1h is 'rollup per series and hour: metrics.rollup_1h, filled by metrics.refresh_rollups(), plus the newest minutes on read';
    raise notice 'metrics rollups: tables filled by metrics.refresh_rollups() (timescaledb not available)';
  end if;
end $$;

-- Without TimescaleDB: reads the next changes of samples below the commit frontier, and materializes
-- the minute buckets they touched below the materialized point, plus the buckets closed since the last
-- call (at most max_span of them at once); then the hours above those minutes. One caller at a time
-- (others return busy). With TimescaleDB only the change-log position moves: its policies refresh.
create function metrics.refresh_rollups(max_changes integer default 1000, max_span interval default '1 hour',
                                        grace interval default '5 seconds')
returns table (busy boolean, changes integer, minutes integer, hours integer, more boolean)
language plpgsql security definer set search_path = pg_catalog, metrics as $$
declare
  -- Read before anything takes a transaction id, so that this one does not hold it back.
  frontier xid8 := pg_snapshot_xmin(pg_current_snapshot());
  state metrics.rollup_state;
  last_txid xid8;
  last_id bigint;
  taken integer;
  old_until timestamptz;
  new_until timestamptz;
  dirty tstzmultirange;
  dirty_hours tstzmultirange;
begin
  if not pg_try_advisory_xact_lock(1886221682, 0) then -- "pmrr"
    return query select true, 0, 0, 0, false;
    return;
  end if;
  select * into state from metrics.rollup_state;
  select count(*)::int, (array_agg(c.txid order by c.txid desc, c.id desc))[1],
         (array_agg(c.id order by c.txid desc, c.id desc))[1]
    into taken, last_txid, last_id
    from (select c.txid, c.id from metrics.sample_changes c
          where (c.txid, c.id) > (state.txid, state.id) and c.txid < frontier
          order by c.txid, c.id limit max_changes) c;

  if exists (select from pg_extension where extname = 'timescaledb') then
    minutes := 0;
    hours := 0;
  else
    -- The first call starts at the oldest sample (none: now): nothing is materialized before it.
    old_until := coalesce(state.materialized_until, (select metrics.bucket('1 minute', min(ts)) from metrics.samples),
                          metrics.bucket('1 minute', now() - grace));
    new_until := greatest(old_until, least(metrics.bucket('1 minute', now() - grace),
                                           metrics.bucket('1 minute', old_until + max_span)));
    -- Buckets written below the materialized point, and the buckets closed since the last call.
    select coalesce(range_agg(r), '{}') into dirty from (
      select tstzrange(metrics.bucket('1 minute', c.ts_from),
                       least(metrics.bucket('1 minute', c.ts_to) + interval '1 minute', old_until)) as r
      from metrics.sample_changes c
      where (c.txid, c.id) > (state.txid, state.id) and c.txid < frontier and c.ts_from < old_until
        and (last_txid is null or (c.txid, c.id) <= (last_txid, last_id))
      union all
      select tstzrange(old_until, new_until)
    ) spans;
    delete from metrics.rollup_1m m using unnest(dirty) r where m.bucket >= lower(r) and m.bucket < upper(r);
    insert into metrics.rollup_1m (series_id, bucket, samples, sum, min, max, first, last)
      select s.series_id, metrics.bucket('1 minute', s.ts), count(s.value), sum(s.value), min(s.value),
             max(s.value), (array_agg(s.value order by s.ts))[1], (array_agg(s.value order by s.ts desc))[1]
      from unnest(dirty) r join metrics.samples s on s.ts >= lower(r) and s.ts < upper(r)
      group by 1, 2;
    get diagnostics minutes = row_count;

    -- Whole hours only: the hours of the dirty minutes below the materialized hour, and those closed now.
    select coalesce(range_agg(h), '{}') into dirty_hours from (
      select tstzrange(metrics.bucket('1 hour', lower(r)),
                       least(metrics.bucket('1 hour', upper(r) - interval '1 microsecond') + interval '1 hour',
                             metrics.bucket('1 hour', old_until))) as h
      from unnest(dirty) r where lower(r) < metrics.bucket('1 hour', old_until)
      union all
      select tstzrange(metrics.bucket('1 hour', old_until), metrics.bucket('1 hour', new_until))
    ) spans;
    delete from metrics.rollup_1h m using unnest(dirty_hours) r where m.bucket >= lower(r) and m.bucket < upper(r);
    insert into metrics.rollup_1h (series_id, bucket, samples, sum, min, max, first, last)
      select m.series_id, metrics.bucket('1 hour', m.bucket), sum(m.samples)::bigint, sum(m.sum), min(m.min),
             max(m.max), (array_agg(m.first order by m.bucket))[1], (array_agg(m.last order by m.bucket desc))[1]
      from unnest(dirty_hours) r join metrics.rollup_1m m on m.bucket >= lower(r) and m.bucket < upper(r)
      group by 1, 2;
    get diagnostics hours = row_count;
  end if;

  update metrics.rollup_state set
    txid = case when taken = max_changes then last_txid else greatest(frontier, state.txid) end,
    id = case when taken = max_changes then last_id else 0 end,
    materialized_until = new_until,
    refreshed_at = now();
  return query select false, taken, minutes, hours,
    taken = max_changes or new_until < metrics.bucket('1 minute', now() - grace);
end $$;

-- Forgets the changes every reader has passed: those below keep (the oldest position of the other
-- readers, the KPIs) and below the rollups' own position.
create function metrics.prune_sample_changes(keep xid8) returns integer
language sql security definer set search_path = pg_catalog, metrics as $$
  with gone as (
    delete from metrics.sample_changes
    where txid < least(keep, (select txid from metrics.rollup_state)) returning 1
  )
  select count(*)::int from gone
$$;

alter function metrics.refresh_rollups(integer, interval, interval) owner to plantmesh_metrics_owner;
alter function metrics.prune_sample_changes(xid8) owner to plantmesh_metrics_owner;
revoke execute on function metrics.refresh_rollups(integer, interval, interval) from public;
revoke execute on function metrics.prune_sample_changes(xid8) from public;

-- The writer logs what it wrote; the role that maintains the rollups (the business ETL) reads the log,
-- refreshes and prunes. plantmesh_reader reads the views and the log.
grant insert on metrics.sample_changes to plantmesh_metrics_writer;
select plantmesh.ensure_role('plantmesh_metrics_rollup');
grant plantmesh_reader to plantmesh_metrics_rollup;
grant execute on function metrics.refresh_rollups(integer, interval, interval) to plantmesh_metrics_rollup;
grant execute on function metrics.prune_sample_changes(xid8) to plantmesh_metrics_rollup;
