-- metrics: values written by the I3X API (PUT /objects/value and /objects/history), into the same tables as
-- the values that come in over MQTT, by the same rules (docs/adr/0018-i3x-updates-and-audit.md):
-- - a written sample creates or replaces the record of its series at its timestamp (the guide's history
--   update: "the timestamp identifies which historical record to create or replace");
-- - metrics.latest is the newest sample by timestamp, whichever path it came by: a written value becomes the
--   last known value only if it is not older than the one there (at the same timestamp it replaces it, as a
--   correction of that record), and a later MQTT sample moves it on (the writer's own rule);
-- - every write is logged in metrics.sample_changes, so the rollups and the KPIs recompute what it touched.
-- One security-definer function does it: the API's login may call it and nothing else of the store's writes.

create function metrics.write_samples(writes jsonb)
returns table (ord integer, replaced_value double precision, replaced_quality smallint, had_record boolean,
               latest_ts timestamptz, latest_value double precision, latest_quality smallint, became_latest boolean)
language plpgsql security definer set search_path = pg_catalog, metrics as $$
declare
  w record;
  old_record record;
  old_latest record;
  moved boolean;
begin
  if jsonb_typeof(writes) is distinct from 'array' then
    raise exception 'writes must be a JSON array of {series_id, ts, value, quality}' using errcode = '22023';
  end if;
  -- The rows of metrics.latest this call may move, locked in series order first, as the writer does, so
  -- that a write and an ingest batch cannot deadlock.
  perform 1 from metrics.latest l
   where l.series_id in (select (e ->> 'series_id')::integer from jsonb_array_elements(writes) e)
   order by l.series_id for update;
  for w in
    select x.ord::integer as ord, (x.e ->> 'series_id')::integer as series_id, (x.e ->> 'ts')::timestamptz as ts,
           (x.e ->> 'value')::double precision as value, coalesce((x.e ->> 'quality')::smallint, 0) as quality
      from jsonb_array_elements(writes) with ordinality as x(e, ord)
     order by x.ord
  loop
    if w.quality not in (0, 1, 2) then
      raise exception 'quality must be 0 (good), 1 (uncertain) or 2 (bad), got %', w.quality using errcode = '22023';
    end if;
    if w.ts is null or w.series_id is null then
      raise exception 'series_id and ts are required' using errcode = '22023';
    end if;
    select s.value, s.quality into old_record from metrics.samples s
     where s.series_id = w.series_id and s.ts = w.ts order by s.value nulls last limit 1;
    had_record := found;
    select l.ts, l.value, l.quality into old_latest from metrics.latest l where l.series_id = w.series_id;
    delete from metrics.samples s where s.series_id = w.series_id and s.ts = w.ts;
    insert into metrics.samples (ts, series_id, value, quality) values (w.ts, w.series_id, w.value, w.quality);
    insert into metrics.latest as l (series_id, ts, value, quality) values (w.series_id, w.ts, w.value, w.quality)
      on conflict (series_id) do update set ts = excluded.ts, value = excluded.value, quality = excluded.quality
      where l.ts <= excluded.ts;
    get diagnostics moved = row_count;
    ord := w.ord;
    replaced_value := case when had_record then old_record.value end;
    replaced_quality := case when had_record then old_record.quality end;
    latest_ts := old_latest.ts;
    latest_value := old_latest.value;
    latest_quality := old_latest.quality;
    became_latest := moved;
    return next;
  end loop;
  insert into metrics.sample_changes (ts_from, ts_to, samples)
    select min((e ->> 'ts')::timestamptz), max((e ->> 'ts')::timestamptz), count(*)
      from jsonb_array_elements(writes) e having count(*) > 0;
end $$;
alter function metrics.write_samples(jsonb) owner to plantmesh_metrics_owner;
revoke all on function metrics.write_samples(jsonb) from public;

-- The I3X API's role on the metrics store: a reader that may write samples through metrics.write_samples only.
select plantmesh.ensure_role('plantmesh_metrics_editor');
grant plantmesh_reader to plantmesh_metrics_editor;
grant execute on function metrics.write_samples(jsonb) to plantmesh_metrics_editor;
