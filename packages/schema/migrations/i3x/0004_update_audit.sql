-- i3x: the audit trail of updates through the I3X API (PUT /objects/value and /objects/history;
-- docs/adr/0018-i3x-updates-and-audit.md): one row per value written, with who wrote it, when, the element,
-- the value before and the value written. Written in the same transaction as the value when the i3x and the
-- metrics stores share a database (the default). The API may add rows, never change or remove them.
set local role plantmesh_i3x_owner;

create table i3x.update_audit (
  id              bigint      generated always as identity primary key,
  changed_at      timestamptz not null default now(),
  -- Who: an API key (its name) or a bearer token (its subject), and the principal's stable id.
  principal_kind  text        not null check (principal_kind in ('api-key', 'token')),
  principal_id    text        not null,
  principal_name  text        not null,
  -- PUT /objects/value ('value') or PUT /objects/history ('history').
  operation       text        not null check (operation in ('value', 'history')),
  element_id      text        not null,
  -- The timestamp of the record written.
  record_ts       timestamptz not null,
  -- The value before, as a VQT: for 'value' the element's last known value, for 'history' the record at
  -- record_ts that was replaced; null when there was none.
  old_value       jsonb,
  -- The value written, as a VQT.
  new_value       jsonb       not null,
  -- Whether the value written is now the element's last known value (a newer one may be there already).
  became_current  boolean     not null
);
create index update_audit_element on i3x.update_audit (element_id, changed_at);
create index update_audit_changed_at on i3x.update_audit using brin (changed_at);

-- Who wrote what is no reader's business; the owner (an administrator) reads it.
revoke all on i3x.update_audit from plantmesh_reader;

-- Nobody changes the trail, the owner included, except by dropping it: rows are added, never changed.
create function i3x.refuse_audit_change() returns trigger
language plpgsql as $$
begin
  raise exception 'the I3X update audit trail is append-only' using errcode = '42501';
end $$;
create trigger update_audit_append_only before update or delete on i3x.update_audit
  for each statement execute function i3x.refuse_audit_change();

reset role;

grant insert on i3x.update_audit to plantmesh_i3x_server;
