-- The raw part of the stable SQL interface (docs/adr/0013-stable-sql-interface.md): events by type and
-- time, and the one way a model or an application writes its results.
grant usage, create on schema api to plantmesh_raw_owner;
set local role plantmesh_raw_owner;

-- Arrival time ranges read block ranges of the table, not the whole of it (time-ordered appends keep a
-- BRIN index small and nearly free to maintain).
create index events_received_at_brin on raw.events using brin (received_at);

create view api.events as
  select e.id, e.payload ->> 'type' as type, e.topic, e.source, e.received_at, e.stored_at, e.payload
  from raw.events e;
comment on view api.events is 'Raw events as stored: id, type (the payload''s), MQTT topic, source, arrival, payload';

-- Events that arrived in [t_from, t_to), of one type (the payload's "type") if given, in arrival order.
create function api.events(type text default null, t_from timestamptz default '-infinity',
                           t_to timestamptz default 'infinity')
returns setof api.events
language sql stable as $$
  select * from api.events e
  where e.received_at >= t_from and e.received_at < t_to and api.check_range(t_from, t_to)
    and (events.type is null or e.type = events.type)
  order by e.received_at, e.id
$$;

-- Stores a model's result as a raw event with the envelope of an ingested one: its own "id" when the
-- payload has one, else the hash of its content, so that a retried write is stored once; the topic
-- <site>/models/<model>/events/<type> (type model.result unless the payload says otherwise), from where
-- the curated ETL takes it. Returns the event's id and whether this call stored it.
create function api.write_result(model text, payload jsonb, site text default 'plant1')
returns table (id text, stored boolean)
language plpgsql security definer set search_path = pg_catalog, raw as $$
declare
  event jsonb;
  event_id text;
  id_type text;
begin
  if model is null or model !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' then
    raise exception 'a model name is 1 to 100 letters, digits, dots, dashes or underscores (got "%")', model
      using errcode = '22023';
  end if;
  if site is null or site !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' then
    raise exception 'a site name is 1 to 100 letters, digits, dots, dashes or underscores (got "%")', site
      using errcode = '22023';
  end if;
  if payload is null or jsonb_typeof(payload) <> 'object' then
    raise exception 'a result is a JSON object' using errcode = '22023';
  end if;
  event := jsonb_build_object('type', 'model.result', 'occurredAt', to_jsonb(now()), 'model', model) || payload;
  if jsonb_typeof(event -> 'type') <> 'string' or event ->> 'type' !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' then
    raise exception 'a result''s "type" is 1 to 100 letters, digits, dots, dashes or underscores' using errcode = '22023';
  end if;
  if jsonb_typeof(payload -> 'id') in ('string', 'number') then
    event_id := payload ->> 'id';
    id_type := case jsonb_typeof(payload -> 'id') when 'number' then 'integer' else 'string' end;
  else
    event_id := 'sha256:' || encode(sha256(convert_to(payload::text, 'UTF8')), 'hex');
    id_type := 'hash';
  end if;
  insert into raw.events (id, id_type, topic, source, received_at, payload)
  values (event_id, id_type, format('%s/models/%s/events/%s', site, model, event ->> 'type'),
          'sdk:' || session_user, now(), event)
  on conflict do nothing;
  return query select event_id, found;
end $$;
comment on function api.write_result(text, jsonb, text) is
  'A model''s result into raw.events, as an ingested event (stored once per id); the curated ETL refines it';

reset role;

grant select on api.events to plantmesh_reader;
revoke execute on function api.write_result(text, jsonb, text) from public;
grant execute on function api.write_result(text, jsonb, text) to plantmesh_results_writer;
