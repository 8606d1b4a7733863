/**
 * The catalog's registration events (docs/adr/0021-catalog-registration-events.md), against a real RabbitMQ
 * and PostgreSQL: the catalog as it runs (its own process, its own PostgreSQL login and RabbitMQ user)
 * publishes on plantmesh.catalog an event for each product registered, changed or removed — through the API,
 * by a registrar such as the Kubernetes watcher, by discovery — and one per discovery round for its assets;
 * the payload validates against the published JSON Schema; and a RabbitMQ restart while registering loses
 * no event of a registration the API acknowledged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CatalogEvent, CatalogStore, catalogExchange } from '@plantmesh/catalog';
import { createLogger } from '@plantmesh/core';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '@plantmesh/schema';
import { freePort, type ManagedProcess, startServiceProcess, waitFor } from '@plantmesh/testkit';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const entry = join(import.meta.dirname, '../../packages/catalog/src/main.ts');
const schemaFile = join(import.meta.dirname, '../../packages/catalog/schemas/catalog-event.v1.schema.json');
const TOKEN = 'a-registration-token-for-the-events-test';
const durableQueue = 'test.catalog-registrations';

/** A queue of the test's own on plantmesh.catalog (as the administrator), collecting what arrives. */
async function listen(url: string, bindings: string[]) {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  for (const key of bindings) await channel.bindQueue(queue, catalogExchange, key);
  const received: Array<{ routingKey: string; event: CatalogEvent; messageId?: string }> = [];
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      received.push({
        routingKey: message.fields.routingKey,
        event: JSON.parse(message.content.toString('utf8')) as CatalogEvent,
        messageId: message.properties.messageId as string | undefined,
      });
    },
    { noAck: true },
  );
  return { received, close: () => connection.close().catch(() => {}) };
}

describe('catalog registration events on RabbitMQ', () => {
  const platform = useIngestPlatform();
  const password = generatePassword();
  const validate = (() => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
  })();
  const valid = (event: unknown) => {
    const ok = validate(event);
    if (!ok) throw new Error(`${JSON.stringify(event)}: ${JSON.stringify(validate.errors)}`);
    return ok;
  };
  let catalog: ManagedProcess;
  let api: string;
  let ops: string;

  const put = (name: string, body: Record<string, unknown>) =>
    fetch(`${api}/products/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ domain: 'models', owner: 'twins@plant.local', ports: [], ...body }),
    });

  beforeAll(async () => {
    await migrate(
      storeUrls({ DATABASE_URL: platform().postgres.url }, stores),
      createLogger({ service: 'test', version: '0', level: 'silent' }),
      { catalog: password },
    );
    // A durable queue (as a consumer that must not miss one would have), there before the first event.
    const admin = await amqp.connect(platform().rabbitmq.url);
    const channel = await admin.createChannel();
    await channel.assertQueue(durableQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(durableQueue, catalogExchange, 'product.registered.#');
    await admin.close();
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    catalog = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: serviceUrl(platform().postgres.url, 'catalog', password),
        AMQP_URL: platform().amqpUrlOf('catalog'),
        CATALOG_HOST: '127.0.0.1',
        CATALOG_PORT: String(apiPort),
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        DISCOVERY_INTERVAL_MS: '1500',
        CATALOG_EVENTS_POLL_MS: '200',
        CATALOG_EVENTS_STATE_INTERVAL_MS: '1000',
        REGISTRATION_TOKEN: TOKEN,
      },
      logFile: join(platform().logDir, 'catalog-events.log'),
    });
    api = `http://127.0.0.1:${apiPort}/v1`;
    ops = `http://127.0.0.1:${opsPort}`;
    await waitFor('catalog ready', async () => {
      if (!catalog.alive) throw new Error(`catalog exited:\n${catalog.tail()}`);
      return (await fetch(`${ops}/readyz`).catch(() => undefined))?.status === 200;
    });
  }, 120_000);

  afterAll(async () => {
    await catalog?.stop();
  });

  it('a consumer bound to product.# gets registered, changed and removed for a registration through the API', async () => {
    const consumer = await listen(platform().rabbitmq.url, ['product.#']);
    try {
      expect((await put('furnace-twin', { title: 'Reheating furnace twin' })).status).toBe(201);
      expect((await put('furnace-twin', { title: 'Reheating furnace twin, v2' })).status).toBe(200);
      const deleted = await fetch(`${api}/products/furnace-twin`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(deleted.status).toBe(204);
      const mine = () => consumer.received.filter((m) => m.event.product?.name === 'furnace-twin');
      await waitFor('three events', async () => mine().length >= 3, 20_000);
      const events = mine();
      expect(events.map((m) => m.routingKey)).toEqual([
        'product.registered.models.furnace-twin',
        'product.changed.models.furnace-twin',
        'product.removed.models.furnace-twin',
      ]);
      for (const { event, messageId } of events) {
        expect(valid(event)).toBe(true);
        expect(messageId).toBe(event.id);
        expect(event).toMatchObject({
          version: 1,
          source: 'manual',
          catalogUrl: api,
          product: { name: 'furnace-twin', domain: 'models', url: `${api}/products/furnace-twin` },
        });
      }
      expect(events.map((m) => m.event.type)).toEqual(['product.registered', 'product.changed', 'product.removed']);
      // Numbered without gaps, in the order they were committed.
      const sequences = events.map((m) => m.event.sequence);
      expect(sequences[1]).toBe((sequences[0] as number) + 1);
      expect(sequences[2]).toBe((sequences[0] as number) + 2);
    } finally {
      await consumer.close();
    }
  });

  it("a registrar's products (the Kubernetes watcher's calls) and discovery's assets, summarised per round, have their events", async () => {
    const consumer = await listen(platform().rabbitmq.url, [
      'product.*.*.k8s-twin',
      'assets.changed.#',
      'catalog.state',
    ]);
    // What the watcher does: register and retain through the store, on the catalog's database (the catalog
    // process's relay publishes what this store recorded).
    const pool = new pg.Pool({ connectionString: platform().postgres.url, max: 2 });
    try {
      const store = new CatalogStore(pool, { events: true });
      await store.register(
        {
          name: 'k8s-twin',
          domain: 'simulation',
          owner: 'unknown',
          description: '',
          tags: [],
          status: 'active',
          freshnessObjectiveSeconds: 600,
          ports: [],
        },
        [],
        { source: 'kubernetes' },
      );
      expect(await store.retainProducts('kubernetes', [])).toEqual(['k8s-twin']);
      // A new table in a store: the next discovery round adds it; dropped, the one after removes it.
      await pool.query('create table curated.events_probe (id int primary key, at timestamptz)');
      const assetEvents = () => consumer.received.filter((m) => m.event.type === 'assets.changed');
      const probe = 'postgres_table:curated.events_probe';
      await waitFor('the table added', async () => assetEvents().some((m) => m.event.assets?.addedIds.includes(probe)));
      await pool.query('drop table curated.events_probe');
      await waitFor('the table removed', async () =>
        assetEvents().some((m) => m.event.assets?.removedIds.includes(probe)),
      );
      const k8s = consumer.received.filter((m) => m.event.product?.name === 'k8s-twin');
      expect(k8s.map((m) => m.routingKey)).toEqual([
        'product.registered.simulation.k8s-twin',
        'product.removed.simulation.k8s-twin',
      ]);
      for (const m of k8s) expect(m.event.source).toBe('kubernetes');
      for (const m of assetEvents()) {
        expect(valid(m.event)).toBe(true);
        expect(m.routingKey).toBe('assets.changed.discovered');
        const assets = m.event.assets as NonNullable<CatalogEvent['assets']>;
        expect(assets.added + assets.changed + assets.removed).toBeGreaterThan(0);
      }
      // The periodic state carries the last number, for a consumer that missed the last events.
      await waitFor('a state event', async () => consumer.received.some((m) => m.event.type === 'catalog.state'));
      const state = consumer.received.find((m) => m.event.type === 'catalog.state')?.event as CatalogEvent;
      expect(valid(state)).toBe(true);
      expect(state.state?.products).toBeGreaterThan(0);
      const metrics = await (await fetch(`${ops}/metrics`)).text();
      expect(metrics).toMatch(/plantmesh_catalog_events_published_total\{[^}]*type="product.registered"[^}]*\} [1-9]/);
    } finally {
      await consumer.close();
      await pool.end();
    }
  });

  it('records no events with events off (no AMQP_URL): nothing grows that no relay empties', async () => {
    const pool = new pg.Pool({ connectionString: platform().postgres.url, max: 1 });
    try {
      const store = new CatalogStore(pool);
      await store.register(
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
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from catalog.event_outbox where payload -> 'product' ->> 'name' = 'quiet'",
      );
      expect(rows[0]?.n).toBe(0);
      await store.unregister('quiet');
    } finally {
      await pool.end();
    }
  });

  it('a RabbitMQ restart while registering loses no event of a registration the API acknowledged', async () => {
    const acknowledged: string[] = [];
    let registering = true;
    const registrations = (async () => {
      for (let index = 0; registering || index < 20; index += 1) {
        const name = `restart-${index}`;
        const response = await put(name, {}).catch(() => undefined);
        if (response?.status === 201) acknowledged.push(name);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await waitFor('some registered before the restart', async () => acknowledged.length >= 5);
    // Stopped with events in flight, registrations go on while it is away (the API does not wait for it),
    // then it comes back.
    await platform().rabbitmq.stop();
    const whileAway = acknowledged.length + 10;
    await waitFor('registered while RabbitMQ is away', async () => acknowledged.length >= whileAway);
    await platform().rabbitmq.start();
    registering = false;
    await registrations;
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);

    // The durable queue, read after the broker is back: every acknowledged registration's event is there.
    const seen = new Map<string, number>();
    const connection = await amqp.connect(platform().rabbitmq.url);
    try {
      const channel = await connection.createChannel();
      await channel.consume(durableQueue, (message) => {
        if (!message) return;
        const event = JSON.parse(message.content.toString('utf8')) as CatalogEvent;
        valid(event);
        const name = event.product?.name as string;
        seen.set(name, (seen.get(name) ?? 0) + 1);
        channel.ack(message);
      });
      await waitFor(
        'every acknowledged registration published',
        async () => acknowledged.every((name) => seen.has(name)),
        60_000,
      ).catch((error: Error) => {
        const missing = acknowledged.filter((name) => !seen.has(name));
        throw new Error(`${error.message}: missing ${missing.join(', ')}\n${catalog.tail()}`);
      });
    } finally {
      await connection.close().catch(() => {});
    }
    // Nothing left behind once the broker confirmed them.
    await waitFor('the outbox emptied', async () => {
      const [row] = await platform().query<{ n: number }>('select count(*)::int as n from catalog.event_outbox');
      return row?.n === 0;
    });
  }, 180_000);
});
