/**
 * Registration events (docs/adr/0021-catalog-registration-events.md): whenever a product is registered,
 * changed or removed — by hand, by the Kubernetes watcher or by discovery — and when a discovery round adds,
 * changes or removes assets, an event goes to the topic exchange `plantmesh.catalog`, so that other services
 * can react. At least once: the event is written to `catalog.event_outbox` in the transaction that makes the
 * change (`recordCatalogEvents`, which the store calls at each change point), and the relay publishes what
 * the outbox holds with publisher confirms, numbering the events without gaps, and deletes them once the
 * broker has confirmed them. A periodic `catalog.state` event carries the last number, so that a consumer
 * that missed the last events learns it too and re-reads the API.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AmqpClient, backoffDelay, catalogExchange, inTransaction, type Logger } from '@plantmesh/core';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EntrySource } from './model.js';

export { catalogExchange };

export type CatalogEventType =
  | 'product.registered'
  | 'product.changed'
  | 'product.removed'
  | 'assets.changed'
  | 'catalog.state';

/** The message on the exchange (packages/catalog/schemas/catalog-event.v1.schema.json). */
export interface CatalogEvent {
  version: 1;
  id: string;
  sequence: number;
  type: CatalogEventType;
  time: string;
  source?: EntrySource;
  catalogUrl: string;
  product?: { name: string; domain: string; url: string };
  assets?: AssetChanges;
  state?: { products: number; assets: number };
}

export interface AssetChanges {
  added: number;
  changed: number;
  removed: number;
  addedIds: string[];
  changedIds: string[];
  removedIds: string[];
  truncated: boolean;
}

/** What a change point records: a product's change, or a round's assets. */
export type CatalogChange =
  | {
      type: 'product.registered' | 'product.changed' | 'product.removed';
      source: EntrySource;
      product: { name: string; domain: string };
    }
  | { type: 'assets.changed'; source: EntrySource; assets: AssetChanges };

/** At most this many ids of each kind in an assets event; the counts are always whole. */
export const maxAssetIds = 100;

/** The JSON Schema of the payload (version 1). */
export function catalogEventSchema(): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL('../schemas/catalog-event.v1.schema.json', catalogPackageRoot()), 'utf8'),
  ) as Record<string, unknown>;
}

// src/events.ts and dist/events.js both sit one level below the package's root.
const catalogPackageRoot = () => new URL('./', import.meta.url);

// A routing key's words are separated by dots: a dot or a percent sign inside a word is escaped, so that a
// domain or a name (which may hold dots) stays one word and `product.*.steelmaking.#` binds as meant.
const word = (text: string) => (text === '' ? '%00' : text.replaceAll('%', '%25').replaceAll('.', '%2E'));

/** The routing key of an event: `product.<change>.<domain>.<name>`, `assets.changed.<source>`, `catalog.state`. */
export function routingKeyOf(change: CatalogChange | { type: 'catalog.state' }): string {
  switch (change.type) {
    case 'catalog.state':
      return 'catalog.state';
    case 'assets.changed':
      return `assets.changed.${word(change.source)}`;
    default:
      return `${change.type}.${word(change.product.domain)}.${word(change.product.name)}`;
  }
}

/** Up to `maxAssetIds` of a list, sorted, and whether there were more. */
export function someIds(ids: readonly string[]): { ids: string[]; truncated: boolean } {
  const sorted = [...ids].sort();
  return { ids: sorted.slice(0, maxAssetIds), truncated: sorted.length > maxAssetIds };
}

/**
 * Records changes in the outbox, in the caller's transaction: the one function a registrar (the store's
 * change points, the Kubernetes watcher) calls. Published after the commit by the relay; a rollback takes
 * them back with the change.
 */
export async function recordCatalogEvents(client: pg.ClientBase, changes: readonly CatalogChange[]): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map((change) => {
    const { type, ...rest } = change;
    return { event_id: randomUUID(), type, routing_key: routingKeyOf(change), payload: rest };
  });
  await client.query(
    `insert into catalog.event_outbox (event_id, type, routing_key, payload)
     select event_id, type, routing_key, payload
     from jsonb_to_recordset($1::jsonb) as x(event_id uuid, type text, routing_key text, payload jsonb)`,
    [JSON.stringify(rows)],
  );
}

export interface EventRelayOptions {
  pool: pg.Pool;
  amqp: AmqpClient;
  log: Logger;
  /** The catalog API's public base URL (without /v1). */
  publicUrl: string;
  /** How often the outbox is looked at without being woken (other replicas' changes, retries). */
  pollMs?: number;
  /** How often a catalog.state event is published (0: never). */
  stateIntervalMs?: number;
  /** Events published per transaction. */
  batchSize?: number;
  /**
   * Most events kept while RabbitMQ is away; beyond, the oldest are dropped and their numbers skipped, so
   * that consumers see the gap and resync through the API.
   */
  maxPending?: number;
  registry?: Registry;
}

interface OutboxRow {
  id: string;
  event_id: string;
  type: CatalogEventType;
  routing_key: string;
  payload: Omit<CatalogChange, 'type'>;
  recorded_at: Date;
}

/** Whether this transaction holds the relay's lock (one replica publishes at a time; the others skip). */
async function lockedEvents(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    "select pg_try_advisory_xact_lock(hashtext('plantmesh catalog events')) as ok",
  );
  return rows[0]?.ok === true;
}

/**
 * Publishes what the outbox holds, in order, one replica at a time (a transaction-level advisory lock): each
 * event gets the next sequence number, is published persistent with publisher confirms, and is deleted with
 * the sequence advanced in the same transaction once all of its batch are confirmed. A failed publish rolls
 * the batch back: it is published again (same ids and numbers) when the broker is back.
 */
export class CatalogEventRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failures = 0;
  private readonly published: Counter<'type'> | undefined;
  private readonly failed: Counter | undefined;
  private readonly dropped: Counter | undefined;
  private pendingCount = 0;
  private readonly pollMs: number;
  private readonly stateIntervalMs: number;
  private readonly baseUrl: string;

  constructor(private readonly options: EventRelayOptions) {
    this.pollMs = options.pollMs ?? 1_000;
    this.stateIntervalMs = options.stateIntervalMs ?? 300_000;
    this.baseUrl = `${options.publicUrl.replace(/\/$/, '')}/v1`;
    if (options.registry) {
      const registers = [options.registry];
      this.published = new Counter({
        name: 'plantmesh_catalog_events_published_total',
        help: 'Registration events the broker confirmed, by type',
        labelNames: ['type'],
        registers,
      });
      this.failed = new Counter({
        name: 'plantmesh_catalog_event_publish_failures_total',
        help: 'Batches of registration events not confirmed (kept in the outbox and published again)',
        registers,
      });
      this.dropped = new Counter({
        name: 'plantmesh_catalog_events_dropped_total',
        help: 'Registration events dropped unpublished because the outbox was full (their numbers are skipped)',
        registers,
      });
      const pending = () => this.pendingCount;
      new Gauge({
        name: 'plantmesh_catalog_events_pending',
        help: 'Registration events in the outbox, not yet confirmed by the broker (as last seen)',
        registers,
        collect() {
          this.set(pending());
        },
      });
    }
  }

  start(): void {
    this.schedule(0);
  }

  /** Publish soon: a change was committed in this process. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .catch(() => undefined)
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const next = this.again ? 0 : this.failures ? backoffDelay(this.failures, { maxMs: 10_000 }) : this.pollMs;
          this.again = false;
          this.schedule(next);
        });
    }, ms);
  }

  /** Publishes until the outbox is empty (or a publish fails); then a state event when one is due. */
  async drain(): Promise<void> {
    try {
      await this.trimOutbox();
      while (!this.stopped && (await this.publishBatch())) {
        // the next batch
      }
      if (!this.stopped) await this.publishStateWhenDue();
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      this.failed?.inc();
      if (this.failures === 1 || this.failures % 20 === 0)
        this.options.log.warn(
          { err: error, attempts: this.failures },
          'catalog events not confirmed by RabbitMQ; kept in the outbox, publishing again',
        );
      throw error;
    }
  }

  private message(row: Pick<OutboxRow, 'event_id' | 'type' | 'payload' | 'recorded_at'>, sequence: number) {
    const event: CatalogEvent = {
      version: 1,
      id: row.event_id,
      sequence,
      type: row.type,
      time: row.recorded_at.toISOString(),
      catalogUrl: this.baseUrl,
      ...(row.payload as object),
    };
    if (event.product) {
      event.product = {
        name: event.product.name,
        domain: event.product.domain,
        url: `${this.baseUrl}/products/${encodeURIComponent(event.product.name)}`,
      };
    }
    return event;
  }

  private async publishAll(events: Array<{ routingKey: string; event: CatalogEvent }>): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    await Promise.all(
      events.map(({ routingKey, event }) =>
        this.options.amqp.publish(
          catalogExchange,
          routingKey,
          Buffer.from(JSON.stringify(event)),
          {
            // No consumer bound is not a failure: an event no one listens to is delivered to no one.
            mandatory: false,
            messageId: event.id,
            contentType: 'application/json',
            type: event.type,
            timestamp: Math.floor(Date.parse(event.time) / 1000),
            headers: { 'x-sequence': event.sequence },
          },
          signal,
        ),
      ),
    );
  }

  /**
   * Keeps at most `maxPending` events: the oldest beyond are deleted and the sequence advanced past them, so
   * that the next event published shows consumers the gap. Returns how many were dropped.
   */
  async trimOutbox(): Promise<number> {
    const maxPending = this.options.maxPending ?? 100_000;
    const dropped = await inTransaction(this.options.pool, async (client) => {
      const locked = await lockedEvents(client);
      const count = await client.query<{ n: number }>('select count(*)::int as n from catalog.event_outbox');
      const excess = (count.rows[0]?.n ?? 0) - maxPending;
      this.pendingCount = count.rows[0]?.n ?? 0;
      if (!locked || excess <= 0) return 0;
      const removed = await client.query(
        `delete from catalog.event_outbox where id in (select id from catalog.event_outbox order by id limit $1)`,
        [excess],
      );
      await client.query('update catalog.event_sequence set last = last + $1', [removed.rowCount ?? 0]);
      return removed.rowCount ?? 0;
    });
    if (dropped > 0) {
      this.pendingCount -= dropped;
      this.dropped?.inc(dropped);
      this.options.log.warn(
        { dropped, maxPending },
        'catalog events: the outbox is full (RabbitMQ away too long); the oldest were dropped, consumers see the gap',
      );
    }
    return dropped;
  }

  /** One batch; true when there may be more. */
  private async publishBatch(): Promise<boolean> {
    const batchSize = this.options.batchSize ?? 200;
    const published = await inTransaction(this.options.pool, async (client) => {
      if (!(await lockedEvents(client))) return undefined;
      const { rows } = await client.query<OutboxRow>(
        `select id::text, event_id::text, type, routing_key, payload, recorded_at from catalog.event_outbox
         order by id limit $1`,
        [batchSize],
      );
      const sequence = await client.query<{ last: string }>('select last::text from catalog.event_sequence');
      const last = Number(sequence.rows[0]?.last ?? 0);
      if (rows.length === 0) {
        this.pendingCount = 0;
        return undefined;
      }
      const events = rows.map((row, index) => ({
        routingKey: row.routing_key,
        event: this.message(row, last + index + 1),
      }));
      await this.publishAll(events);
      await client.query('delete from catalog.event_outbox where id = any ($1::bigint[])', [rows.map((r) => r.id)]);
      await client.query('update catalog.event_sequence set last = $1', [last + rows.length]);
      const left = await client.query<{ n: number }>('select count(*)::int as n from catalog.event_outbox');
      return { events, left: left.rows[0]?.n ?? 0 };
    });
    if (!published) return false;
    this.pendingCount = published.left;
    for (const { event } of published.events) this.published?.inc({ type: event.type });
    return published.events.length === batchSize;
  }

  /** A catalog.state event with the last sequence, every stateIntervalMs (across replicas: by its time). */
  private async publishStateWhenDue(): Promise<void> {
    if (this.stateIntervalMs <= 0) return;
    const published = await inTransaction(this.options.pool, async (client) => {
      const locked = await lockedEvents(client);
      const { rows } = await client.query<{ last: string; due: boolean; now: Date }>(
        `select last::text, state_at is null or state_at <= now() - make_interval(secs => $1::double precision / 1000) as due,
                now() as now
         from catalog.event_sequence`,
        [this.stateIntervalMs],
      );
      const row = rows[0];
      if (!locked || !row?.due) return false;
      const counts = await client.query<{ products: number; assets: number }>(
        `select (select count(*)::int from catalog.products) as products,
                (select count(*)::int from catalog.assets) as assets`,
      );
      const event: CatalogEvent = {
        version: 1,
        id: randomUUID(),
        sequence: Number(row.last),
        type: 'catalog.state',
        time: row.now.toISOString(),
        catalogUrl: this.baseUrl,
        state: { products: counts.rows[0]?.products ?? 0, assets: counts.rows[0]?.assets ?? 0 },
      };
      await this.publishAll([{ routingKey: routingKeyOf({ type: 'catalog.state' }), event }]);
      await client.query('update catalog.event_sequence set state_at = now()');
      return true;
    });
    if (published) this.published?.inc({ type: 'catalog.state' });
  }

  /** Stops after the batch in flight (what is not confirmed stays in the outbox for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
