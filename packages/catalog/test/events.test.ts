/**
 * What the store's change points record for the registration events (ADR 0021), on a real PostgreSQL: every
 * source (discovery's reconcile, registration, a registrar's retain) writes its events in its own transaction,
 * a rolled-back change writes none, a discovery round's assets are one summary however many they are, and
 * with events off nothing is written. The relay and RabbitMQ are tested in tests/catalog/events.test.ts.
 */
import { AmqpClient, createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../src/discovery.js';
import { CatalogEventRelay, maxAssetIds, recordCatalogEvents, routingKeyOf } from '../src/events.js';
import type { Asset, Product } from '../src/model.js';
import { CatalogStore, ProductConflictError } from '../src/store.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });

const topic = (n: number): Asset => ({
  id: `mqtt_topic:events:plant1/line/${n}`,
  kind: 'mqtt_topic',
  name: `events:plant1/line/${n}`,
  tags: [],
  source: 'discovered',
  columns: [],
  properties: { broker: 'events' },
});

const product = (name: string, ports: string[], description = ''): Product => ({
  name,
  domain: 'steel.making',
  owner: 'etl',
  description,
  tags: [],
  status: 'active',
  source: 'discovered',
  freshnessObjectiveSeconds: 3600,
  ports: ports.map((assetId) => ({ assetId, direction: 'output' as const })),
  createdAt: '',
  updatedAt: '',
});

const snapshot = (assets: Asset[], products: Product[]): Snapshot => ({ assets, access: [], products, edges: [] });

describe('registration events recorded by the store (real PostgreSQL)', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let store: CatalogStore;
  let woken = 0;

  const outbox = async () =>
    (
      await pool.query<{ type: string; routing_key: string; payload: Record<string, unknown> }>(
        'select type, routing_key, payload from catalog.event_outbox order by id',
      )
    ).rows;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    pool = new pg.Pool({ connectionString: server.url, max: 3 });
    store = new CatalogStore(pool, { events: true, onEvents: () => (woken += 1) });
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await server?.destroy();
  });

  beforeEach(async () => {
    await pool.query('delete from catalog.event_outbox');
    woken = 0;
  });

  it('routing keys keep a domain or a name one word', () => {
    expect(
      routingKeyOf({
        type: 'product.changed',
        source: 'manual',
        product: { name: 'twin.v2', domain: 'steel.making%' },
      }),
    ).toBe('product.changed.steel%2Emaking%25.twin%2Ev2');
    expect(routingKeyOf({ type: 'catalog.state' })).toBe('catalog.state');
  });

  it('discovery: a product each, its assets summarised in one event per round, nothing when nothing changed', async () => {
    const many = Array.from({ length: 250 }, (_, n) => topic(n));
    await store.reconcile(snapshot(many, [product('heats', [many[0]?.id as string])]));
    let events = await outbox();
    expect(events.map((e) => e.routing_key)).toEqual([
      'product.registered.steel%2Emaking.heats',
      'assets.changed.discovered',
    ]);
    const assets = events[1]?.payload.assets as { added: number; addedIds: string[]; truncated: boolean };
    expect(assets.added).toBe(250);
    expect(assets.addedIds).toHaveLength(maxAssetIds);
    expect(assets.truncated).toBe(true);
    expect(woken).toBe(1);

    // The same again: no change, no event.
    await pool.query('delete from catalog.event_outbox');
    await store.reconcile(snapshot(many, [product('heats', [many[0]?.id as string])]));
    expect(await outbox()).toEqual([]);

    // Its description and its ports change, two topics go: the product changed, the assets removed.
    await store.reconcile(snapshot(many.slice(0, 248), [product('heats', [many[1]?.id as string], 'new')]));
    events = await outbox();
    expect(events.map((e) => e.type)).toEqual(['product.changed', 'assets.changed']);
    expect(events[1]?.payload.assets).toMatchObject({
      added: 0,
      changed: 0,
      removed: 2,
      removedIds: [many[248]?.id, many[249]?.id].sort(),
      truncated: false,
    });

    // Its definition gone: removed.
    await pool.query('delete from catalog.event_outbox');
    await store.reconcile(snapshot(many.slice(0, 248), []));
    events = await outbox();
    expect(events).toEqual([
      {
        type: 'product.removed',
        routing_key: 'product.removed.steel%2Emaking.heats',
        payload: { source: 'discovered', product: { name: 'heats', domain: 'steel.making' } },
      },
    ]);
  });

  it('registration and a registrar that retains its set; a refused change, or one that changes nothing, records nothing', async () => {
    const registered = {
      name: 'twin',
      domain: 'models',
      owner: 'me',
      description: '',
      tags: [],
      status: 'active' as const,
      freshnessObjectiveSeconds: 600,
      ports: [],
    };
    await store.register(registered, []);
    await store.register({ ...registered, description: 'v2' }, []);
    // The same again (a PUT sent twice, a registrar's resync): nothing changed, no event.
    expect(await store.register({ ...registered, description: 'v2' }, [])).toBe('replaced');
    await expect(store.register(registered, [], { create: true })).rejects.toBeInstanceOf(ProductConflictError);
    await expect(
      store.register({ ...registered, name: 'twin-2', ports: [{ assetId: 'x:y', direction: 'input' }] }, []),
    ).rejects.toThrow(/unknown assets/);
    await store.unregister('twin');
    await store.register({ ...registered, name: 'k8s-twin' }, [], { source: 'kubernetes' });
    await store.retainProducts('kubernetes', []);
    expect((await outbox()).map((e) => [e.routing_key, e.payload.source])).toEqual([
      ['product.registered.models.twin', 'manual'],
      ['product.changed.models.twin', 'manual'],
      ['product.removed.models.twin', 'manual'],
      ['product.registered.models.k8s-twin', 'kubernetes'],
      ['product.removed.models.k8s-twin', 'kubernetes'],
    ]);
  });

  it('a full outbox (RabbitMQ away too long) drops its oldest and skips their numbers, so consumers see the gap', async () => {
    const client = await pool.connect();
    try {
      await recordCatalogEvents(
        client,
        ['a', 'b', 'c', 'd', 'e'].map((name) => ({
          type: 'product.registered' as const,
          source: 'manual' as const,
          product: { name, domain: 'models' },
        })),
      );
    } finally {
      client.release();
    }
    const [before] = (await pool.query<{ last: string }>('select last::text from catalog.event_sequence')).rows;
    // Never started: trimming does not need the broker.
    const amqp = new AmqpClient({ url: 'amqp://127.0.0.1:1', log });
    const relay = new CatalogEventRelay({ pool, amqp, log, publicUrl: 'http://catalog', maxPending: 2 });
    expect(await relay.trimOutbox()).toBe(3);
    expect((await outbox()).map((e) => (e.payload.product as { name: string }).name)).toEqual(['d', 'e']);
    const [after] = (await pool.query<{ last: string }>('select last::text from catalog.event_sequence')).rows;
    expect(Number(after?.last) - Number(before?.last)).toBe(3);
    expect(await relay.trimOutbox()).toBe(0);
  });

  it('records nothing with events off', async () => {
    const quiet = new CatalogStore(pool);
    await quiet.register(
      {
        name: 'quiet',
        domain: 'models',
        owner: 'me',
        description: '',
        tags: [],
        status: 'active',
        freshnessObjectiveSeconds: 600,
        ports: [],
      },
      [],
    );
    await quiet.unregister('quiet');
    expect(await outbox()).toEqual([]);
  });
});
