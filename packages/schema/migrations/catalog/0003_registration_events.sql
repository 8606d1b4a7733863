-- catalog: the outbox of registration events (docs/adr/0021-catalog-registration-events.md). A change to the
-- catalog (a product registered, changed or removed; a discovery round's assets) writes its event here in
-- the same transaction, so an acknowledged change always has its event; the catalog's relay publishes them
-- on RabbitMQ with publisher confirms, numbers them without gaps and deletes them once confirmed.
set local role plantmesh_catalog_owner;

create table catalog.event_outbox (
  id          bigint      generated always as identity primary key,
  event_id    uuid        not null,
  type        text        not null,
  routing_key text        not null,
  payload     jsonb       not null,
  recorded_at timestamptz not null default now()
);

-- The sequence number of the last published event: one row, advanced in the transaction that deletes what
-- was published, so that a retried batch gets the same numbers and consumers see no gaps but missed events.
create table catalog.event_sequence (
  only_row  boolean     primary key default true check (only_row),
  last      bigint      not null default 0,
  state_at  timestamptz
);
insert into catalog.event_sequence default values;

reset role;

grant select, insert, update, delete on catalog.event_outbox, catalog.event_sequence to plantmesh_catalog_server;
