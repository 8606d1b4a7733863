-- Helpers every store's migrations use; applied once to each database that holds a store.

-- Creates a store: its schema, owned by a NOLOGIN owner role, readable by plantmesh_reader (the role
-- that SDK users and dashboards are granted). Roles are cluster-wide, so each is created only when
-- missing: several databases of one server may hold stores.
create or replace function plantmesh.ensure_store(store text) returns void
language plpgsql as $$
declare
  owner_role text := 'plantmesh_' || store || '_owner';
begin
  if not exists (select from pg_roles where rolname = owner_role) then
    execute format('create role %I nologin', owner_role);
  end if;
  if not exists (select from pg_roles where rolname = 'plantmesh_reader') then
    create role plantmesh_reader nologin;
  end if;
  -- The migrating role must be able to act as the owner (a superuser always can).
  execute format('grant %I to current_user', owner_role);
  execute format('create schema if not exists %I authorization %I', store, owner_role);
  execute format('grant usage on schema %I to plantmesh_reader', store);
  execute format('alter default privileges for role %I in schema %I grant select on tables to plantmesh_reader',
                 owner_role, store);
end $$;

-- Creates a NOLOGIN role that a service's login user is granted, for the least privileges it needs.
create or replace function plantmesh.ensure_role(role_name text) returns void
language plpgsql as $$
begin
  if not exists (select from pg_roles where rolname = role_name) then
    execute format('create role %I nologin', role_name);
  end if;
end $$;
