-- i3x: the I3X API's keys (docs/adr/0015-i3x-api-identities.md). A key is shown once, when
-- `plantmesh keys create` makes it; only its SHA-256 is kept (a key is 256 random bits, so a fast hash is
-- enough: there is nothing to guess). Revoking keeps the row, for the record; the name is free again.
set local role plantmesh_i3x_owner;

create table i3x.api_keys (
  id            bigint      generated always as identity primary key,
  name          text        not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  -- sha256 of the key's UTF-8 text, computed by the client that made it (the key never reaches the server).
  key_hash      bytea       not null unique check (length(key_hash) = 32),
  -- The key's first characters, to tell keys apart in a listing; not enough to use it.
  key_prefix    text        not null,
  scopes        text[]      not null check (
                              cardinality(scopes) > 0 and scopes <@ array['read', 'write', 'subscribe']::text[]
                            ),
  created_at    timestamptz not null default now(),
  created_by    text        not null default session_user,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
-- One live key per name; revoked ones stay as they were.
create unique index api_keys_live_name on i3x.api_keys (name) where revoked_at is null;

-- Every API replica forgets what it cached of a key the moment it is revoked or changed.
create function i3x.notify_api_key_change() returns trigger
language plpgsql as $$
begin
  perform pg_notify('plantmesh_i3x_api_keys', old.name);
  return null;
end $$;
create trigger api_keys_changed after update on i3x.api_keys for each row
  when (old.revoked_at is distinct from new.revoked_at or old.scopes is distinct from new.scopes
        or old.key_hash is distinct from new.key_hash or old.name is distinct from new.name)
  execute function i3x.notify_api_key_change();
create trigger api_keys_deleted after delete on i3x.api_keys
  for each row execute function i3x.notify_api_key_change();

-- Keys are no reader's business (their hashes are useless, but so is reading them).
revoke all on i3x.api_keys from plantmesh_reader;

reset role;

-- What the API server needs of its own store: look keys up and note when each was last used. Its login
-- (serviceLogins 'i3x-api') is granted this; keys are made and revoked by `plantmesh keys` as an
-- administrator (or a login of the store's owner role), never by the API.
select plantmesh.ensure_role('plantmesh_i3x_server');
grant usage on schema i3x to plantmesh_i3x_server;
grant select (id, name, key_hash, scopes, revoked_at, last_used_at), update (last_used_at)
  on i3x.api_keys to plantmesh_i3x_server;
