/**
 * Subscriptions in the i3x store (migration i3x/0003): what every replica reads and writes, so that a
 * restart or another replica serves the same subscription, queue and sequence numbers. Each watched series
 * of a subscription has a mark, the newest timestamp it was given: staging (for /sync) advances it under a
 * row lock, so each update is staged once whichever replicas see it. A subscription with a stream is not
 * staged here: the replica holding the stream serves it from memory (streams.ts) and saves its marks now and
 * then; when the stream ends, what came after the marks is read back from metrics.samples (ADR 0022).
 * Lock order, to stay clear of deadlocks between replicas: a subscription's row, then its series, then its
 * staged updates.
 */
import { randomBytes } from 'node:crypto';
import { appendTo, inTransaction } from '@plantmesh/core';
import type { LiveSamples } from '@plantmesh/live-stream';
import type pg from 'pg';
import { I3xError, Truncation } from '../envelope.js';
import type { ModelReader, ResolvedObject } from '../model.js';
import { sampleVqt, type ValueReader, type Vqt } from '../values.js';

export interface SubscriptionLimits {
  /** A subscription without /sync or an open stream for this long is deleted. */
  ttlMs: number;
  /** Updates staged per subscription (waiting for /sync or the stream); beyond, the oldest are dropped. */
  maxQueued: number;
  /** Batches per subscription returned by /sync and not acknowledged; beyond, the oldest are dropped. */
  maxBatches: number;
  /** Registered elements per subscription. */
  maxItems: number;
  /** Subscriptions per principal. */
  maxSubscriptions: number;
  /** How often an open stream says it is alive (and sends a keepalive comment). */
  keepaliveMs: number;
}

export const defaultSubscriptionLimits: SubscriptionLimits = {
  ttlMs: 600_000,
  maxQueued: 10_000,
  maxBatches: 1_000,
  maxItems: 10_000,
  maxSubscriptions: 1_000,
  keepaliveMs: 15_000,
};

export interface SubscriptionRow {
  subscription_id: string;
  client_id: string;
  display_name: string;
  /** A stream holds it and said it is alive lately. */
  stream_open: boolean;
  /** A stream holds it, alive or not (a replica killed with its stream open leaves its token behind). */
  stream_held: boolean;
}

/** One watched series of one subscription (an element registered, or a component of one) and its mark. */
export interface WatchRow {
  subscription_id: string;
  item_id: string;
  element_id: string;
  series_id: string;
  path: string;
  /** The newest sample's timestamp (ms) given to the subscription; -Infinity before the first. */
  last_ms: number;
}

/** An update for a subscription, with the watched rows it advances. */
export interface Update {
  subscriptionId: string;
  ts: number;
  update: Vqt & { elementId: string };
  rows: WatchRow[];
}

type Sample = [number, number | null, number];

/**
 * The updates that samples make for watched rows: each sample newer than its row's mark, once per
 * subscription and element (an element watched through two registered items is one update), oldest first
 * per row. Advances the rows' marks.
 */
export function updatesFor(rows: Iterable<WatchRow>, samplesOf: (path: string) => readonly Sample[]): Update[] {
  const updates: Update[] = [];
  const seen = new Map<string, Update>();
  for (const row of rows) {
    const last = row.last_ms;
    for (const [ts, value, quality] of [...samplesOf(row.path)].sort((a, b) => a[0] - b[0])) {
      if (ts <= last) continue;
      row.last_ms = Math.max(row.last_ms, ts);
      const key = `${row.subscription_id}\u0000${row.element_id}\u0000${ts}`;
      const known = seen.get(key);
      if (known) {
        known.rows.push(row);
        continue;
      }
      const timestamp = new Date(ts).toISOString().replace(/\.000Z$/, 'Z');
      const update: Update = {
        subscriptionId: row.subscription_id,
        ts,
        update: { elementId: row.element_id, ...sampleVqt(value, quality, timestamp) },
        rows: [row],
      };
      seen.set(key, update);
      updates.push(update);
    }
  }
  return updates;
}

const watchColumns = `subscription_id, item_id, element_id, series_id::text, path,
  case when last_ts = '-infinity' then '-1e300' else (extract(epoch from last_ts) * 1000)::text end as last_ms`;

function watchRows(rows: Array<Omit<WatchRow, 'last_ms'> & { last_ms: string }>): WatchRow[] {
  return rows.map((row) => ({ ...row, last_ms: Number(row.last_ms) <= -1e300 ? -Infinity : Number(row.last_ms) }));
}

const marksJson = (rows: readonly WatchRow[]) =>
  JSON.stringify(
    rows
      .filter((row) => Number.isFinite(row.last_ms))
      .map((row) => ({
        subscription_id: row.subscription_id,
        item_id: row.item_id,
        element_id: row.element_id,
        last_ts: new Date(row.last_ms).toISOString(),
      })),
  );

export interface SyncBatch {
  sequenceNumber: number;
  updates: Array<Vqt & { elementId: string }>;
}

/** Channels: a new stream (payload: subscription and token), watched series changed (payload: subscription). */
export const channels = {
  streams: 'plantmesh_i3x_streams',
  watch: 'plantmesh_i3x_watch',
} as const;

const notFound = () => new I3xError(404, 'Subscription not found');

/** Series read back from metrics.samples per query (each at most a queue's worth of samples). */
const seriesAtOnce = 50;

export class SubscriptionStore {
  readonly limits: SubscriptionLimits;

  constructor(
    private readonly i3x: pg.Pool,
    private readonly metrics: pg.Pool,
    private readonly model: ModelReader,
    private readonly values: ValueReader,
    limits: Partial<SubscriptionLimits> = {},
  ) {
    this.limits = { ...defaultSubscriptionLimits, ...limits };
  }

  /** `alive`: not past its TTL (an open stream keeps last_seen_at fresh). */
  private get aliveSql(): string {
    return `s.last_seen_at > now() - make_interval(secs => ${this.limits.ttlMs / 1000})`;
  }

  private get streamOpenSql(): string {
    return `(s.stream_token is not null and s.stream_seen_at > now() - make_interval(secs => ${(3 * this.limits.keepaliveMs) / 1000}))`;
  }

  async create(owner: string, clientId: string, displayName: string | undefined) {
    const subscriptionId = randomBytes(32).toString('base64url');
    return inTransaction(this.i3x, async (client) => {
      // Serialise one owner's creations, so that the cap holds.
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [owner]);
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from i3x.subscriptions s where owner = $1 and ${this.aliveSql}`,
        [owner],
      );
      if ((rows[0]?.n ?? 0) >= this.limits.maxSubscriptions) {
        throw new I3xError(
          400,
          `at most ${this.limits.maxSubscriptions} subscriptions per client credential (MAX_SUBSCRIPTIONS); delete some first`,
        );
      }
      const name = displayName ?? subscriptionId.slice(0, 12);
      await client.query(
        `insert into i3x.subscriptions (subscription_id, client_id, owner, display_name) values ($1, $2, $3, $4)`,
        [subscriptionId, clientId, owner, name],
      );
      return { clientId, subscriptionId, displayName: name };
    });
  }

  /** The subscriptions of these ids that this owner and client see (others are as if they did not exist). */
  async find(
    owner: string,
    clientId: string,
    ids: readonly string[],
    client: pg.Pool | pg.PoolClient = this.i3x,
    lock = false,
  ): Promise<Map<string, SubscriptionRow>> {
    const { rows } = await client.query<SubscriptionRow>(
      `select s.subscription_id, s.client_id, s.display_name, ${this.streamOpenSql} as stream_open,
              s.stream_token is not null as stream_held
         from i3x.subscriptions s
        where s.subscription_id = any($1::text[]) and s.owner = $2 and s.client_id = $3 and ${this.aliveSql}
        order by s.subscription_id ${lock ? 'for no key update' : ''}`,
      [ids, owner, clientId],
    );
    return new Map(rows.map((row) => [row.subscription_id, row]));
  }

  async details(owner: string, clientId: string, ids: readonly string[]) {
    const found = await this.find(owner, clientId, ids);
    const { rows } = await this.i3x.query<{ subscription_id: string; element_id: string; max_depth: number }>(
      `select subscription_id, element_id, max_depth from i3x.subscription_items
        where subscription_id = any($1::text[]) order by subscription_id, registered_at, element_id`,
      [[...found.keys()]],
    );
    return new Map(
      [...found.values()].map((row) => [
        row.subscription_id,
        {
          subscriptionId: row.subscription_id,
          displayName: row.display_name,
          monitoredObjects: rows
            .filter((item) => item.subscription_id === row.subscription_id)
            .map((item) => ({ elementId: item.element_id, maxDepth: item.max_depth })),
        },
      ]),
    );
  }

  /** Deletes what the owner and client see of these; the ids deleted. */
  async delete(owner: string, clientId: string, ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.i3x.query<{ subscription_id: string }>(
      `with gone as (
         delete from i3x.subscriptions s
          where s.subscription_id = any($1::text[]) and s.owner = $2 and s.client_id = $3 and ${this.aliveSql}
          returning s.subscription_id)
       select subscription_id, pg_notify('${channels.watch}', subscription_id) from gone`,
      [ids, owner, clientId],
    );
    return new Set(rows.map((row) => row.subscription_id));
  }

  /**
   * Registers elements: each is watched through the series it stands for (itself, or its components down to
   * maxDepth). Returns the elements found; the others are per-item 404s. Registering again changes nothing.
   */
  async register(
    owner: string,
    clientId: string,
    subscriptionId: string,
    elementIds: readonly string[],
    maxDepth: number,
  ): Promise<Set<string>> {
    const objects = await this.model.objects(elementIds);
    // Each element's series: the element itself or its components, through maxDepth (within the server's limits).
    const watched = new Map<string, Array<{ elementId: string; seriesId: number }>>();
    for (const root of objects.values()) {
      const { objects: tree } = await this.values.tree([root], maxDepth, new Truncation());
      watched.set(
        root.elementId,
        tree.flatMap((object: ResolvedObject) =>
          object.value.kind === 'series' ? [{ elementId: object.elementId, seriesId: object.value.seriesId }] : [],
        ),
      );
    }
    const seriesIds = [...new Set([...watched.values()].flat().map((entry) => entry.seriesId))];
    // Where each series stands now: only what comes after is an update.
    const { rows: series } = await this.metrics.query<{ id: string; path: string; ts: Date | null }>(
      `select s.id::text, s.path, l.ts from metrics.series s left join metrics.latest l on l.series_id = s.id
        where s.id = any($1::bigint[])`,
      [seriesIds],
    );
    const byId = new Map(series.map((row) => [Number(row.id), row]));
    await inTransaction(this.i3x, async (client) => {
      const found = await this.find(owner, clientId, [subscriptionId], client, true);
      if (!found.has(subscriptionId)) throw notFound();
      const items = [...objects.keys()].map((elementId) => ({ element_id: elementId, max_depth: maxDepth }));
      const { rows: added } = await client.query<{ element_id: string }>(
        `insert into i3x.subscription_items (subscription_id, element_id, max_depth)
         select $1, x.element_id, x.max_depth from jsonb_to_recordset($2::jsonb) as x(element_id text, max_depth int)
         on conflict do nothing returning element_id`,
        [subscriptionId, JSON.stringify(items)],
      );
      const { rows: count } = await client.query<{ n: number }>(
        'select count(*)::int as n from i3x.subscription_items where subscription_id = $1',
        [subscriptionId],
      );
      if ((count[0]?.n ?? 0) > this.limits.maxItems) {
        throw new I3xError(400, `at most ${this.limits.maxItems} elements per subscription (MAX_SUBSCRIPTION_ITEMS)`);
      }
      const fresh = new Set(added.map((row) => row.element_id));
      const rows = [...watched.entries()]
        .filter(([item]) => fresh.has(item))
        .flatMap(([item, entries]) =>
          entries.flatMap(({ elementId, seriesId }) => {
            const row = byId.get(seriesId);
            return row
              ? [
                  {
                    item_id: item,
                    element_id: elementId,
                    series_id: seriesId,
                    path: row.path,
                    last_ts: row.ts ?? '-infinity',
                  },
                ]
              : [];
          }),
        );
      await client.query(
        `insert into i3x.subscription_series (subscription_id, item_id, element_id, series_id, path, last_ts)
         select $1, x.item_id, x.element_id, x.series_id, x.path, x.last_ts
           from jsonb_to_recordset($2::jsonb) as x(item_id text, element_id text, series_id bigint, path text, last_ts timestamptz)
         on conflict do nothing`,
        [subscriptionId, JSON.stringify(rows)],
      );
      if (rows.length > 0) await client.query(`select pg_notify('${channels.watch}', $1)`, [subscriptionId]);
    });
    return new Set(objects.keys());
  }

  /** Unregisters elements; the queued updates stay. Returns the elements known to the model. */
  async unregister(owner: string, clientId: string, subscriptionId: string, elementIds: readonly string[]) {
    const objects = await this.model.objects(elementIds);
    await inTransaction(this.i3x, async (client) => {
      const found = await this.find(owner, clientId, [subscriptionId], client, true);
      if (!found.has(subscriptionId)) throw notFound();
      await client.query(
        'delete from i3x.subscription_items where subscription_id = $1 and element_id = any($2::text[])',
        [subscriptionId, elementIds],
      );
      await client.query(`select pg_notify('${channels.watch}', $1)`, [subscriptionId]);
    });
    return new Set(objects.keys());
  }

  /**
   * /sync: acknowledges batches through `last` (-1: everything queued), bundles the staged updates into a
   * new batch, and returns every batch not acknowledged, with how many updates were dropped since the last
   * call. 409 while a stream is open.
   */
  async sync(
    owner: string,
    clientId: string,
    subscriptionId: string,
    last: number | undefined,
  ): Promise<{ batches: SyncBatch[]; dropped: number }> {
    return inTransaction(this.i3x, async (client) => {
      const found = (await this.find(owner, clientId, [subscriptionId], client, true)).get(subscriptionId);
      if (!found) throw notFound();
      if (found.stream_open) {
        throw new I3xError(409, 'the subscription has an open stream: close it before calling /sync', 'Conflict');
      }
      // Its stream's replica went away without closing it: what came after the saved marks is read back.
      if (found.stream_held) await this.takeOverStream(client, subscriptionId);
      if (last === -1) {
        await client.query('delete from i3x.subscription_batches where subscription_id = $1', [subscriptionId]);
        await client.query('delete from i3x.subscription_staged where subscription_id = $1', [subscriptionId]);
      } else if (last !== undefined && last >= 0) {
        await client.query('delete from i3x.subscription_batches where subscription_id = $1 and sequence <= $2', [
          subscriptionId,
          last,
        ]);
      }
      // The staged updates, oldest first, become the next batch.
      await client.query(
        `with moved as (
           delete from i3x.subscription_staged where subscription_id = $1 returning id, element_id, vqt),
         batch as (
           select jsonb_agg(jsonb_build_object('elementId', element_id) || vqt order by id) as updates, count(*) as size
             from moved)
         insert into i3x.subscription_batches (subscription_id, sequence, updates, size)
         select $1, s.next_sequence, b.updates, b.size from batch b, i3x.subscriptions s
          where s.subscription_id = $1 and b.size > 0`,
        [subscriptionId],
      );
      // Too many batches left unacknowledged: the oldest go, counted as dropped.
      const { rows: doomed } = await client.query<{ size: string }>(
        `with doomed as (
           delete from i3x.subscription_batches b
            where b.subscription_id = $1 and b.sequence <= (
              select sequence from i3x.subscription_batches where subscription_id = $1
               order by sequence desc offset $2 limit 1)
            returning b.size)
         select coalesce(sum(size), 0)::text as size from doomed`,
        [subscriptionId, this.limits.maxBatches],
      );
      const { rows } = await client.query<{ dropped: string }>(
        `with old as (select dropped from i3x.subscriptions where subscription_id = $1)
         update i3x.subscriptions s
            set next_sequence = s.next_sequence
                  + (select count(*) from i3x.subscription_batches where subscription_id = $1 and sequence = s.next_sequence),
                dropped = 0, last_seen_at = now()
           from old
          where s.subscription_id = $1
          returning (old.dropped + $2::bigint)::text as dropped`,
        [subscriptionId, doomed[0]?.size ?? '0'],
      );
      const batches = await client.query<{ sequence: string; updates: SyncBatch['updates'] }>(
        'select sequence::text, updates from i3x.subscription_batches where subscription_id = $1 order by sequence',
        [subscriptionId],
      );
      return {
        batches: batches.rows.map((row) => ({ sequenceNumber: Number(row.sequence), updates: row.updates })),
        dropped: Number(rows[0]?.dropped ?? 0),
      };
    });
  }

  /**
   * Stages samples for the subscriptions without a stream that watch their series: once, whichever replicas
   * see them (under the subscription's row lock, each row's mark is the newest staged), the oldest dropped
   * beyond the queue limit.
   */
  async stage(messages: readonly LiveSamples[]): Promise<void> {
    const byPath = new Map<string, Sample[]>();
    for (const message of messages) appendTo(byPath, message.path, message.samples);
    if (byPath.size === 0) return;
    await inTransaction(this.i3x, async (client) => {
      const { rows: locked } = await client.query<{ subscription_id: string }>(
        `select s.subscription_id from i3x.subscriptions s
          where s.stream_token is null
            and s.subscription_id in (select subscription_id from i3x.subscription_series where path = any($1::text[]))
          order by s.subscription_id for no key update`,
        [[...byPath.keys()]],
      );
      if (locked.length === 0) return;
      const { rows } = await client.query<Omit<WatchRow, 'last_ms'> & { last_ms: string }>(
        `select ${watchColumns} from i3x.subscription_series
          where subscription_id = any($1::text[]) and path = any($2::text[])
          order by subscription_id, item_id, element_id for update`,
        [locked.map((row) => row.subscription_id), [...byPath.keys()]],
      );
      await this.insertStaged(
        client,
        updatesFor(watchRows(rows), (path) => byPath.get(path) ?? []),
      );
    });
  }

  /** Inserts updates into the queues of their subscriptions, saves the marks they advanced, trims the queues. */
  private async insertStaged(client: pg.PoolClient, updates: readonly Update[]): Promise<void> {
    if (updates.length === 0) return;
    await this.enqueue(client, updates);
    await this.writeMarks(client, [...new Set(updates.flatMap((entry) => entry.rows))]);
    await this.trim(client, [...new Set(updates.map((entry) => entry.subscriptionId))]);
  }

  /** Appends updates to their subscriptions' queues, in order. */
  private async enqueue(client: pg.PoolClient, updates: readonly Update[]): Promise<void> {
    await client.query(
      `insert into i3x.subscription_staged (subscription_id, element_id, ts, vqt)
       select x.subscription_id, x.update->>'elementId', to_timestamp(x.ts / 1000.0), x.update - 'elementId'
         from jsonb_to_recordset($1::jsonb) as x(subscription_id text, ts float8, update jsonb, ord int)
        order by x.ord`,
      [
        JSON.stringify(
          updates.map((entry, ord) => ({
            subscription_id: entry.subscriptionId,
            ts: entry.ts,
            update: entry.update,
            ord,
          })),
        ),
      ],
    );
  }

  /** Locks the subscription's row if the stream with this token still holds it; whether it does. */
  private async lockHeld(client: pg.PoolClient, subscriptionId: string, token: string): Promise<boolean> {
    const { rowCount } = await client.query(
      'select 1 from i3x.subscriptions where subscription_id = $1 and stream_token = $2 for no key update',
      [subscriptionId, token],
    );
    return Boolean(rowCount);
  }

  /** Beyond the queue limit the oldest staged updates go, and are reported by the next /sync. */
  private async trim(client: pg.PoolClient, subscriptionIds: readonly string[]): Promise<void> {
    await client.query(
      `with ranked as (
         select subscription_id, id, row_number() over (partition by subscription_id order by id desc) as n
           from i3x.subscription_staged where subscription_id = any($1::text[])),
       doomed as (
         delete from i3x.subscription_staged s using ranked r
          where r.n > $2 and s.subscription_id = r.subscription_id and s.id = r.id
          returning s.subscription_id)
       update i3x.subscriptions s set dropped = s.dropped + d.n
         from (select subscription_id, count(*) as n from doomed group by subscription_id) d
        where s.subscription_id = d.subscription_id`,
      [subscriptionIds, this.limits.maxQueued],
    );
  }

  /** Saves marks (never moving one back: another replica may have saved a newer one). */
  private async writeMarks(client: pg.Pool | pg.PoolClient, rows: readonly WatchRow[]): Promise<void> {
    if (rows.length === 0) return;
    await client.query(
      `update i3x.subscription_series s set last_ts = greatest(s.last_ts, x.last_ts)
         from jsonb_to_recordset($1::jsonb) as x(subscription_id text, item_id text, element_id text, last_ts timestamptz)
        where s.subscription_id = x.subscription_id and s.item_id = x.item_id and s.element_id = x.element_id`,
      [marksJson(rows)],
    );
  }

  /** The marks a stream has sent through, saved so that whoever serves the subscription next starts there. */
  saveMarks(rows: readonly WatchRow[]): Promise<void> {
    return this.writeMarks(this.i3x, rows);
  }

  /** The watched series of a subscription and their marks (a stream's replica serves it from these). */
  async watching(subscriptionId: string): Promise<WatchRow[]> {
    const { rows } = await this.i3x.query<Omit<WatchRow, 'last_ms'> & { last_ms: string }>(
      `select ${watchColumns} from i3x.subscription_series where subscription_id = $1
        order by item_id, element_id`,
      [subscriptionId],
    );
    return watchRows(rows);
  }

  /**
   * A stream's overflow (its client reads slower than updates come): queued here, in order, while the stream
   * still holds the subscription (false when it no longer does), and taken back by takeStaged.
   */
  async spill(subscriptionId: string, token: string, updates: readonly Update[]): Promise<boolean> {
    if (updates.length === 0) return true;
    return inTransaction(this.i3x, async (client) => {
      if (!(await this.lockHeld(client, subscriptionId, token))) return false;
      await this.enqueue(client, updates);
      await this.trim(client, [subscriptionId]);
      return true;
    });
  }

  /**
   * What came for the subscription after its saved marks, from metrics.samples, staged: the stream that held
   * it is gone and no replica staged meanwhile. Within the caller's transaction, holding the row lock; then
   * the stream no longer holds it.
   */
  private async takeOverStream(client: pg.PoolClient, subscriptionId: string): Promise<void> {
    const { rows } = await client.query<Omit<WatchRow, 'last_ms'> & { last_ms: string }>(
      `select ${watchColumns} from i3x.subscription_series where subscription_id = $1
        order by item_id, element_id for update`,
      [subscriptionId],
    );
    const watched = watchRows(rows);
    const from = new Map<string, { series_id: string; path: string; from_ms: number }>();
    for (const row of watched) {
      const known = from.get(row.series_id);
      if (!known || row.last_ms < known.from_ms) from.set(row.series_id, { ...row, from_ms: row.last_ms });
    }
    await this.missed([...from.values()], async (found) => {
      const byPath = new Map(found.map((message) => [message.path, message.samples]));
      await this.insertStaged(
        client,
        updatesFor(
          watched.filter((row) => byPath.has(row.path)),
          (path) => byPath.get(path) ?? [],
        ),
      );
    });
    await client.query(
      'update i3x.subscriptions set stream_token = null, stream_seen_at = null where subscription_id = $1',
      [subscriptionId],
    );
  }

  /**
   * Each series' samples after a timestamp, from metrics.samples (at most a queue's worth each), read for
   * `seriesAtOnce` series per query and handed on as each query returns.
   */
  private async missed(
    series: ReadonlyArray<{ series_id: string; path: string; from_ms: number }>,
    each: (found: LiveSamples[]) => Promise<void>,
  ): Promise<number> {
    let count = 0;
    for (let first = 0; first < series.length; first += seriesAtOnce) {
      const some = series.slice(first, first + seriesAtOnce);
      const { rows } = await this.metrics.query<{ path: string; ms: string; value: number | null; quality: number }>(
        `select x.path, (extract(epoch from s.ts) * 1000)::float8::text as ms, s.value, s.quality
           from unnest($1::bigint[], $2::text[], $3::timestamptz[]) with ordinality as x(series_id, path, from_ts, n)
           cross join lateral (
             select ts, value, quality from metrics.samples
              where series_id = x.series_id and ts > x.from_ts order by ts limit $4) s
          order by x.n, s.ts`,
        [
          some.map((one) => one.series_id),
          some.map((one) => one.path),
          some.map((one) => (Number.isFinite(one.from_ms) ? new Date(one.from_ms).toISOString() : '-infinity')),
          this.limits.maxQueued,
        ],
      );
      const byPath = new Map<string, Sample[]>();
      for (const row of rows) {
        appendTo(byPath, row.path, [[Number(row.ms), row.value, row.quality]]);
      }
      if (byPath.size === 0) continue;
      await each([...byPath].map(([path, samples]) => ({ path, unit: null, samples })));
      count += rows.length;
    }
    return count;
  }

  /**
   * What a replica missed while it was not consuming (a restart, a lost connection, a series bound late):
   * every watched series' samples after its oldest mark, from metrics.samples, handed to `deliver` as if they
   * had come live (only those of `paths` when given). Marks keep what was given already from coming twice.
   */
  async catchUp(deliver: (messages: LiveSamples[]) => Promise<void>, paths?: ReadonlySet<string>): Promise<number> {
    const { rows: watched } = await this.i3x.query<{ series_id: string; path: string; from_ts: Date }>(
      `select series_id::text, min(path) as path, min(last_ts) as from_ts from i3x.subscription_series
        where $1::text[] is null or path = any($1::text[]) group by series_id`,
      [paths ? [...paths] : null],
    );
    return this.missed(
      watched.map((row) => ({ ...row, from_ms: row.from_ts.getTime() })),
      deliver,
    );
  }

  /** The paths some subscription watches. */
  async watchedPaths(): Promise<Set<string>> {
    const { rows } = await this.i3x.query<{ path: string }>('select distinct path from i3x.subscription_series');
    return new Set(rows.map((row) => row.path));
  }

  /** Deletes the subscriptions past their TTL; how many. */
  async expire(): Promise<number> {
    const { rows } = await this.i3x.query<{ subscription_id: string }>(
      `with gone as (delete from i3x.subscriptions s where not (${this.aliveSql}) returning s.subscription_id)
       select subscription_id, pg_notify('${channels.watch}', subscription_id) from gone`,
    );
    return rows.length;
  }

  /** Opens the stream: this token holds it now (the holder before is told to close); 404 if not found. */
  async openStream(owner: string, clientId: string, subscriptionId: string): Promise<string> {
    const token = randomBytes(16).toString('base64url');
    return inTransaction(this.i3x, async (client) => {
      const found = await this.find(owner, clientId, [subscriptionId], client, true);
      if (!found.has(subscriptionId)) throw notFound();
      await client.query(
        `update i3x.subscriptions set stream_token = $2, stream_seen_at = now(), last_seen_at = now()
          where subscription_id = $1`,
        [subscriptionId, token],
      );
      await client.query(`select pg_notify('${channels.streams}', $1)`, [`${subscriptionId} ${token}`]);
      return token;
    });
  }

  /** Takes (and removes) up to `limit` staged updates for the stream holding `token`, oldest first. */
  async takeStaged(subscriptionId: string, token: string, limit: number): Promise<Array<Vqt & { elementId: string }>> {
    const { rows } = await this.i3x.query<{ update: Vqt & { elementId: string } }>(
      `with taken as (
         delete from i3x.subscription_staged
          where subscription_id = $1 and id in (
            select id from i3x.subscription_staged where subscription_id = $1 order by id limit $3)
            and exists (select from i3x.subscriptions where subscription_id = $1 and stream_token = $2)
          returning id, element_id, vqt)
       select jsonb_build_object('elementId', element_id) || vqt as update from taken order by id`,
      [subscriptionId, token, limit],
    );
    return rows.map((row) => row.update);
  }

  /** The stream says it is alive; false when another stream (or a delete) took its place. */
  async streamAlive(subscriptionId: string, token: string): Promise<boolean> {
    const { rowCount } = await this.i3x.query(
      `update i3x.subscriptions set stream_seen_at = now(), last_seen_at = now()
        where subscription_id = $1 and stream_token = $2`,
      [subscriptionId, token],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * The stream ends: its marks are saved, and if it still holds the subscription, what came after them is
   * staged for /sync (read back from metrics.samples) and the subscription is free.
   */
  async releaseStream(subscriptionId: string, token: string, marks: readonly WatchRow[]): Promise<void> {
    await inTransaction(this.i3x, async (client) => {
      const held = await this.lockHeld(client, subscriptionId, token);
      await this.writeMarks(client, marks);
      if (!held) return;
      await this.takeOverStream(client, subscriptionId);
      await client.query('update i3x.subscriptions set last_seen_at = now() where subscription_id = $1', [
        subscriptionId,
      ]);
    });
  }
}
