-- curated: the rows each curated ETL batch inserted or changed, with their event times before and after,
-- so that the business ETL recomputes exactly the KPI windows a change touches
-- (docs/adr/0010-business-etl.md). One row per batch and product (arrays, in step), read in the
-- commit-safe (txid, seq) order of docs/adr/0009-etl-delivery.md.
set local role plantmesh_curated_owner;

create table curated.changes (
  seq             bigint        generated always as identity,
  txid            xid8          not null default pg_current_xact_id(),
  product         text          not null,
  -- Each row's natural key, as a JSON array of its key columns' values.
  keys            jsonb         not null,
  event_times     timestamptz[] not null,
  -- The event time a row had before a correction moved it (null where it did not move or is new).
  previous_times  timestamptz[] not null,
  -- For products whose rows cover a span of time (eventEnd): each row's end, before and after.
  event_ends      timestamptz[],
  previous_ends   timestamptz[],
  changed_at      timestamptz   not null default clock_timestamp(),
  primary key (txid, seq)
);

reset role;
