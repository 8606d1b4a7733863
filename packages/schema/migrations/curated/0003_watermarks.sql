-- curated: how far each definition has refined the raw events, written in the same transaction as the
-- rows it covers (docs/adr/0009-etl-delivery.md). (txid, seq) is the last raw event taken, in the
-- raw store's commit-safe order.
set local role plantmesh_curated_owner;

create table curated.watermarks (
  product          text        primary key references curated.definitions (product) on delete cascade,
  txid             xid8        not null default '0',
  seq              bigint      not null default 0,
  -- Events taken (curated or quarantined) since the definition was first applied.
  events           bigint      not null default 0,
  -- received_at of the last raw event taken, for the watermark's lag in seconds.
  last_received_at timestamptz,
  updated_at       timestamptz not null default now()
);

reset role;
