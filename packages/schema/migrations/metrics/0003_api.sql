-- The metrics part of the stable SQL interface (docs/adr/0013-stable-sql-interface.md): series and
-- their place in the equipment hierarchy, last values, sample ranges, bucketed aggregates.

-- Whether buckets of `width` and the range [t_from, t_to) fall on buckets of `unit` (so that a rollup
-- of that unit gives them whole).
create function api.divides(unit interval, width interval, t_from timestamptz, t_to timestamptz) returns boolean
language sql immutable parallel safe
return extract(epoch from width)::numeric % extract(epoch from unit)::numeric = 0
  and metrics.bucket(unit, t_from) = t_from and metrics.bucket(unit, t_to) = t_to;

create function api.check_width(width interval) returns boolean
language plpgsql immutable as $$
begin
  if width is null or width <= interval '0' or extract(month from width) <> 0 or extract(year from width) <> 0 then
    raise exception 'a bucket width must be a positive interval of days, hours, minutes or seconds (got %)', width
      using errcode = '22023';
  end if;
  return true;
end $$;
alter function api.divides(interval, interval, timestamptz, timestamptz) owner to plantmesh_api_owner;
alter function api.check_width(interval) owner to plantmesh_api_owner;

grant usage, create on schema api to plantmesh_metrics_owner;
set local role plantmesh_metrics_owner;

-- Every series, with the levels of its ISA-95 path (site/area/line/cell/tag; missing levels are null).
create view api.series as
  select s.id as series_id, s.path,
         nullif(split_part(s.path, '/', 1), '') as site,
         nullif(split_part(s.path, '/', 2), '') as area,
         nullif(split_part(s.path, '/', 3), '') as line,
         nullif(split_part(s.path, '/', 4), '') as cell,
         (regexp_match(s.path, '[^/]*$'))[1] as tag,
         s.unit, s.data_type, s.first_seen
  from metrics.series s;
comment on view api.series is 'Sensor series: path (site/area/line/cell/tag), its levels, UNECE unit code, data type';

-- The equipment hierarchy the series paths describe: one row per site, area, line and cell.
create view api.equipment as
  select distinct on (e.path) e.path, e.level, e.name, e.parent_path
  from api.series s,
       lateral (values
         (s.site, 'site', s.site, null::text),
         (concat_ws('/', s.site, s.area), 'area', s.area, s.site),
         (concat_ws('/', s.site, s.area, s.line), 'line', s.line, concat_ws('/', s.site, s.area)),
         (concat_ws('/', s.site, s.area, s.line, s.cell), 'cell', s.cell, concat_ws('/', s.site, s.area, s.line))
       ) as e(path, level, name, parent_path)
  where e.name is not null and s.cell is not null
  order by e.path;
comment on view api.equipment is 'The ISA-95 equipment hierarchy (site, area, line, cell) of the series paths';

create view api.latest as
  select s.id as series_id, s.path, s.unit, l.ts, l.value, l.quality
  from metrics.latest l join metrics.series s on s.id = l.series_id;
comment on view api.latest is 'The last known value of each series; quality 0 good, 1 uncertain, 2 bad';

-- The id of a series by its path, or an error naming it.
create function api.series_id(series text) returns integer
language plpgsql stable as $$
declare
  found integer;
begin
  select s.id into found from metrics.series s where s.path = series_id.series;
  if found is null then
    raise exception 'unknown series "%"', series using errcode = 'P0002',
      hint = 'api.find_series(pattern) lists the series; a path is site/area/line/cell/tag';
  end if;
  return found;
end $$;

-- Series whose path matches an MQTT topic filter (+ one level, # the rest), and of a unit if given.
create function api.find_series(pattern text default '#', unit text default null) returns setof api.series
language sql stable as $$
  select * from api.series s
  where metrics.path_matches(s.path, array[pattern]) and (find_series.unit is null or s.unit = find_series.unit)
  order by s.path
$$;

-- The samples of a series in [t_from, t_to), in time order. One SELECT, so that PostgreSQL inlines it
-- into the caller's query: a cursor over it streams.
create function api.samples(series text, t_from timestamptz, t_to timestamptz)
returns table (ts timestamptz, value double precision, quality smallint)
language sql stable as $$
  select s.ts, s.value, s.quality from metrics.samples s
  where s.series_id = api.series_id(series) and s.ts >= t_from and s.ts < t_to and api.check_range(t_from, t_to)
  order by s.ts
$$;

-- Aggregates of a series per bucket of `width` in [t_from, t_to): from the hourly or minutely rollups
-- when the width and the range fall on their buckets, from the samples otherwise; the same rows either
-- way. Buckets start at 2000-01-03 00:00 UTC (as TimescaleDB's time_bucket), whatever the time zone.
create function api.samples_bucketed(series text, t_from timestamptz, t_to timestamptz, width interval)
returns table (bucket timestamptz, samples bigint, avg double precision, min double precision,
               max double precision, first double precision, last double precision)
language sql stable as $$
  -- Each source's condition depends on the arguments only: PostgreSQL drops the sources it excludes
  -- when it plans, or before it runs them.
  with rows as (
    select h.bucket, h.samples, h.sum, h.min, h.max, h.first, h.last from metrics.samples_1h h
    where api.divides(interval '1 hour', width, t_from, t_to)
      and h.series_id = api.series_id(series) and h.bucket >= t_from and h.bucket < t_to
    union all
    select m.bucket, m.samples, m.sum, m.min, m.max, m.first, m.last from metrics.samples_1m m
    where not api.divides(interval '1 hour', width, t_from, t_to) and api.divides(interval '1 minute', width, t_from, t_to)
      and m.series_id = api.series_id(series) and m.bucket >= t_from and m.bucket < t_to
    union all
    select s.ts, (s.value is not null)::int, s.value, s.value, s.value, s.value, s.value from metrics.samples s
    where not api.divides(interval '1 minute', width, t_from, t_to)
      and s.series_id = api.series_id(series) and s.ts >= t_from and s.ts < t_to
  )
  select metrics.bucket(width, r.bucket) as bucket, sum(r.samples)::bigint, sum(r.sum) / nullif(sum(r.samples), 0),
         min(r.min), max(r.max), (array_agg(r.first order by r.bucket))[1], (array_agg(r.last order by r.bucket desc))[1]
  from rows r
  where api.check_range(t_from, t_to) and api.check_width(width)
  group by 1
  order by 1
$$;

reset role;

grant select on api.series, api.equipment, api.latest to plantmesh_reader;
