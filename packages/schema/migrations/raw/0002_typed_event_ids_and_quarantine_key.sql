-- raw: an event's key keeps the JSON type of its id, and the quarantine keeps one row per refused message
-- (docs/adr/0005-ingestion-delivery.md).
set local role plantmesh_raw_owner;

-- 'string' or 'integer' for the event's own id, 'hash' for the content hash given to one without: the
-- number 7 and the text "7" are two events.
alter table raw.events add column id_type text not null default 'string'
  constraint events_id_type check (id_type in ('string', 'integer', 'hash'));
-- Rows stored before: hashes are recognisable, and so is an integer in the default id field.
update raw.events set id_type = 'hash' where id ~ '^sha256:[0-9a-f]{64}$';
update raw.events set id_type = 'integer' where jsonb_typeof(payload -> 'id') = 'number' and payload ->> 'id' = id;
alter table raw.events drop constraint events_pkey, add primary key (id, id_type);

-- Derived from the refused message (stage, topic, MQTT user properties, payload), so that a dead letter
-- delivered twice is kept once; a replay carries a marker, so that its own refusal is a new row.
alter table raw.quarantine add column key bytea;
update raw.quarantine set key = sha256(convert_to('row ' || id, 'UTF8'));
alter table raw.quarantine alter column key set not null;
create unique index quarantine_key on raw.quarantine (key);

reset role;
