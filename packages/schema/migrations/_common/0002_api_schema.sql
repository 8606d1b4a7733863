-- The stable SQL interface: schema api, versioned, for applications, models, Grafana and the SDK
-- (docs/adr/0013-stable-sql-interface.md). Each store's migrations add their part (views and functions
-- owned by the store's owner, so that they reach its tables); with every store in one database the
-- schema holds the whole interface. Internal tables may change; what api shows does not, within a major
-- version (packages/schema/api/signature.txt).
do $$
begin
  if not exists (select from pg_roles where rolname = 'plantmesh_api_owner') then
    create role plantmesh_api_owner nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'plantmesh_reader') then
    create role plantmesh_reader nologin;
  end if;
end $$;
grant plantmesh_api_owner to current_user;
create schema if not exists api authorization plantmesh_api_owner;
comment on schema api is 'plantmesh stable SQL interface, version 1';
grant usage on schema api to plantmesh_reader;

-- What a caller asked for is refused with a message saying what to do, and a SQLSTATE the SDK maps:
-- 22023 (invalid_parameter_value) for a bad argument, P0002 (no_data_found) for an unknown name.
create function api.check_range(t_from timestamptz, t_to timestamptz) returns boolean
language plpgsql immutable as $$
begin
  if t_from is null or t_to is null then
    raise exception 'a time range needs both ends' using errcode = '22023';
  end if;
  if t_from > t_to then
    raise exception 'the time range is reversed: % is after %', t_from, t_to using errcode = '22023',
      hint = 'give the start first';
  end if;
  return true;
end $$;
alter function api.check_range(timestamptz, timestamptz) owner to plantmesh_api_owner;
