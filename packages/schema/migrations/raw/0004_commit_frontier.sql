-- raw: the transaction that stored each event, so that an incremental reader (the curated ETL) takes
-- events in an order no later commit can go back on. `seq` is drawn before commit, and two writer
-- transactions commit in either order, so a watermark on seq alone would skip rows that become visible
-- late. Every transaction with an id below the oldest one still running is over; rows of those
-- transactions, in (txid, seq) order, never change (docs/adr/0009-etl-delivery.md).
set local role plantmesh_raw_owner;

-- Rows stored before this migration take its transaction's id: one transaction, read in seq order.
alter table raw.events add column txid xid8 not null default pg_current_xact_id();
create index events_txid_seq on raw.events (txid, seq);

reset role;

-- What a refining stage (the curated ETL) may do in the raw store: read events, quarantine what it
-- cannot refine, and mark its quarantined rows replayed.
select plantmesh.ensure_role('plantmesh_raw_refiner');
grant usage on schema raw to plantmesh_raw_refiner;
grant select on raw.events to plantmesh_raw_refiner;
grant select, insert on raw.quarantine to plantmesh_raw_refiner;
grant update (replayed_at) on raw.quarantine to plantmesh_raw_refiner;
