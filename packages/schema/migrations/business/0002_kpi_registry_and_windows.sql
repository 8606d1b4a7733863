-- business: the registry of KPI definitions, how far each has read the curated change log, and the KPI
-- windows waiting to be recomputed (docs/adr/0010-business-etl.md).
set local role plantmesh_business_owner;

create table business.kpi_definitions (
  kpi          text        primary key,
  version      text        not null,
  table_name   text        not null unique,
  domain       text        not null,
  owner        text        not null,
  description  text        not null,
  -- Lineage: the curated products this KPI is computed from.
  inputs       text[]      not null,
  definition   jsonb       not null,
  file         text,
  applied_at   timestamptz not null default now()
);

create table business.kpi_definition_versions (
  kpi         text        not null,
  version     text        not null,
  definition  jsonb       not null,
  applied_at  timestamptz not null default now(),
  primary key (kpi, version)
);

-- The position in curated.changes up to which a KPI has marked the windows its inputs touched.
create table business.watermarks (
  kpi         text        primary key references business.kpi_definitions (kpi) on delete cascade,
  txid        xid8        not null default '0',
  seq         bigint      not null default 0,
  changes     bigint      not null default 0,
  updated_at  timestamptz not null default now()
);

-- Windows to recompute: appended by the marking, deleted by the recompute that took them. A window
-- marked again while it is recomputed keeps its new mark and is recomputed once more.
create table business.dirty_windows (
  id            bigint      generated always as identity primary key,
  kpi           text        not null references business.kpi_definitions (kpi) on delete cascade,
  window_start  timestamptz,
  window_end    timestamptz,
  -- A shift's name, for shift windows.
  label         text,
  -- The entity's key, for per-entity windows.
  entity        text,
  -- When the oldest curated change behind this mark was committed: the KPI's freshness counts from it.
  changed_at    timestamptz,
  marked_at     timestamptz not null default now()
);
create index dirty_windows_kpi on business.dirty_windows (kpi, id);

-- The windows a span of time [t_from, t_to) overlaps (for an instant, t_to = t_from: the window it is in):
-- hours or days of the plant's time zone, or shifts of its calendar (shift start times as intervals after
-- local midnight, in order; a shift ends where the next one starts).
create function business.time_windows(t_from timestamptz, t_to timestamptz, kind text, zone text,
                                      shift_starts interval[], shift_names text[])
returns table (window_start timestamptz, window_end timestamptz, label text)
language sql stable parallel safe as $$
  with bounds as (
    select (t_from at time zone zone) as local_from, (greatest(t_to, t_from) at time zone zone) as local_to
  ), candidates as (
    select hour as local_start, hour + interval '1 hour' as local_end, null::text as name
    from bounds, generate_series(date_trunc('hour', local_from), local_to, interval '1 hour') as hour
    where kind = 'hour'
    union all
    select day, day + interval '1 day', null
    from bounds, generate_series(date_trunc('day', local_from), local_to, interval '1 day') as day
    where kind = 'day'
    union all
    select shift.local_start, shift.local_end, shift.name
    from (
      select day + shift_starts[i] as local_start,
             lead(day + shift_starts[i]) over (order by day + shift_starts[i]) as local_end,
             shift_names[i] as name
      from bounds,
           generate_series(date_trunc('day', local_from) - interval '1 day',
                           date_trunc('day', local_to) + interval '1 day', interval '1 day') as day,
           generate_subscripts(shift_starts, 1) as i
      where kind = 'shift'
    ) as shift
    where shift.local_end is not null
  )
  select local_start at time zone zone, local_end at time zone zone, name
  from candidates, bounds
  where local_end > local_from and (local_start < local_to or local_start <= local_from)
$$;

reset role;

