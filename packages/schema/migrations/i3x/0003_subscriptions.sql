-- i3x: the I3X API's subscriptions (docs/adr/0015-i3x-api-identities.md, "Subscriptions"). Held here, not in
-- a process, so that a restart or another replica serves the same subscription, queue and sequence numbers.
-- Fed by the live stream: a replica stages what the writer committed for the series a subscription watches;
-- /sync bundles the staged updates into numbered batches kept until acknowledged; a stream takes them.
set local role plantmesh_i3x_owner;

create table i3x.subscriptions (
  subscription_id     text        primary key,
  client_id           text        not null,
  -- Who made it (an API key, a token's issuer and subject): no one else sees it, whatever the clientId.
  owner               text        not null,
  display_name        text        not null,
  created_at          timestamptz not null default now(),
  -- The last /sync or stream activity: a subscription idle for longer than the TTL is deleted.
  last_seen_at        timestamptz not null default now(),
  -- The next batch's sequence number (64-bit; the guide's unsigned range is never reached).
  next_sequence       bigint      not null default 1 check (next_sequence > 0),
  -- Updates dropped for overflow since the last /sync, reported there with a 206.
  dropped             bigint      not null default 0,
  -- The open SSE stream, if any: its token and the replica's last sign of life.
  stream_token        text,
  stream_seen_at      timestamptz
);
create index subscriptions_owner on i3x.subscriptions (owner, client_id);

-- The elements registered, with their maxDepth.
create table i3x.subscription_items (
  subscription_id  text not null references i3x.subscriptions on delete cascade,
  element_id       text not null,
  max_depth        integer not null check (max_depth >= 0),
  registered_at    timestamptz not null default now(),
  primary key (subscription_id, element_id)
);

-- The series a registered element watches (itself, or its components down to maxDepth), each with the
-- timestamp of the newest sample staged for it: a sample is staged once however many replicas see it, and a
-- replica that was away stages what it missed from metrics.samples.
create table i3x.subscription_series (
  subscription_id  text        not null,
  item_id          text        not null,
  element_id       text        not null,
  series_id        bigint      not null,
  path             text        not null,
  last_ts          timestamptz not null,
  primary key (subscription_id, item_id, element_id),
  foreign key (subscription_id, item_id) references i3x.subscription_items on delete cascade
);
create index subscription_series_path on i3x.subscription_series (path);

-- Updates waiting for the next /sync (or the stream), oldest first; bounded per subscription.
create table i3x.subscription_staged (
  subscription_id  text        not null references i3x.subscriptions on delete cascade,
  id               bigint      generated always as identity,
  element_id       text        not null,
  ts               timestamptz not null,
  vqt              jsonb       not null,
  primary key (subscription_id, id)
);

-- Batches returned by /sync and not acknowledged yet.
create table i3x.subscription_batches (
  subscription_id  text        not null references i3x.subscriptions on delete cascade,
  sequence         bigint      not null,
  updates          jsonb       not null check (jsonb_typeof(updates) = 'array'),
  size             integer     not null,
  created_at       timestamptz not null default now(),
  primary key (subscription_id, sequence)
);

-- Subscriptions are the API's business alone.
revoke all on i3x.subscriptions, i3x.subscription_items, i3x.subscription_series, i3x.subscription_staged,
  i3x.subscription_batches from plantmesh_reader;

reset role;

grant select, insert, update, delete on i3x.subscriptions, i3x.subscription_items, i3x.subscription_series,
  i3x.subscription_staged, i3x.subscription_batches to plantmesh_i3x_server;
