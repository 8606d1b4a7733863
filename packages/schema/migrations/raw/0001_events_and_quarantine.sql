-- raw: plant events exactly as they arrived, and what could not be stored or refined, with the reason.
select plantmesh.ensure_store('raw');
set local role plantmesh_raw_owner;

create table raw.events (
  -- The event's id (its own, or a content hash given by the reader): a second copy is ignored.
  id           text        primary key,
  -- Arrival order, for incremental readers (the curated ETL's watermark).
  seq          bigint      generated always as identity unique,
  topic        text        not null,
  -- Which reader profile or application wrote it.
  source       text        not null,
  received_at  timestamptz not null,
  stored_at    timestamptz not null default now(),
  payload      jsonb       not null,
  headers      jsonb       not null default '{}',
  -- W3C traceparent of the message that carried it, so a row leads back to its trace.
  traceparent  text
);
create index events_topic_received_at on raw.events (topic, received_at);

create table raw.quarantine (
  id              bigint      generated always as identity primary key,
  quarantined_at  timestamptz not null default now(),
  -- The stage that refused it: mqtt-reader, amqp-writer, etl-curated, ...
  stage           text        not null,
  source          text,
  topic           text,
  reason          text        not null,
  -- The bytes as received: a payload that is not UTF-8 or not JSON must survive as it was.
  payload         bytea       not null,
  headers         jsonb       not null default '{}',
  replayed_at     timestamptz
);
create index quarantine_unreplayed on raw.quarantine (quarantined_at) where replayed_at is null;

reset role;
select plantmesh.ensure_role('plantmesh_raw_writer');
grant usage on schema raw to plantmesh_raw_writer;
grant select, insert on raw.events, raw.quarantine to plantmesh_raw_writer;
grant update (replayed_at) on raw.quarantine to plantmesh_raw_writer;
