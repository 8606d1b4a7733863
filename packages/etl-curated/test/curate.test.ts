import { join } from 'node:path';
import { createLogger, Postgres } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyDefinition,
  type CuratedDefinition,
  type CuratedStores,
  curateBatch,
  loadDefinition,
  ProductCache,
  replayCurated,
  topicFiltersPattern,
} from '../src/index.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const quench = loadDefinition(join(import.meta.dirname, '../definitions/quench-results.yaml'));
const topic = 'plant1/heat-treatment/quench-1/events/quench.result';

/** A quench result as the simulator publishes it. */
const result = (plateId: string, minute: number, extra: Record<string, unknown> = {}) => ({
  id: `q-${plateId}-${minute}`,
  type: 'quench.result',
  plateId,
  result: 'ok',
  hardness_HB: 300 + minute,
  waterFlow_m3_h: 1200,
  occurredAt: new Date(Date.UTC(2026, 10, 30, 8, minute)).toISOString(),
  ...extra,
});

describe('curating raw events (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let etl: CuratedStores;

  /** Stores events as the writer does, in one transaction on `client` (or a pooled one). */
  const store = async (events: Array<Record<string, unknown>>, client: pg.ClientBase | pg.Pool = admin, at = topic) => {
    await client.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select e ->> 'id', 'string', $2, 'events', now(), e from jsonb_array_elements($1::jsonb) as e`,
      [JSON.stringify(events), at],
    );
  };
  const batch = (products = new ProductCache(), limit = 1_000) => curateBatch(etl, products, 'quench_results', limit);
  const table = async () =>
    (
      await admin.query(
        'select plate_id, result, hardness_hb, _event_seq::int as seq, _definition_version as version, _curated_at from curated.quench_results order by plate_id',
      )
    ).rows;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 6 });
    admin.on('error', () => {}); // idle connections closed by the server at the end
    const connect = async (target: string) => {
      const postgres = new Postgres({ url: server.url, log, applicationName: 'test-etl', target });
      await postgres.start();
      return postgres;
    };
    etl = { raw: await connect('raw'), curated: await connect('curated') };
  });

  afterAll(async () => {
    await etl?.raw.close();
    await etl?.curated.close();
    await admin?.end();
    await server?.destroy();
  });

  beforeEach(async () => {
    await admin.query('drop table if exists curated.quench_results');
    await admin.query(
      'truncate curated.definitions, curated.definition_versions, curated.changes, raw.events, raw.quarantine restart identity cascade',
    );
    const client = await admin.connect();
    await applyDefinition(client, quench).finally(() => client.release());
  });

  it('matches topics by the MQTT rules, in the database', async () => {
    const cases: Array<[string[], string, boolean]> = [
      [['+/heat-treatment/+/events/quench.result'], topic, true],
      [['+/heat-treatment/+/events/quench.result'], 'plant1/heat-treatment/q1/events/quench.resultX', false],
      [['+/heat-treatment/+/events/quench.result'], 'plant1/heat-treatment/a/b/events/quench.result', false],
      [['plant1/#'], 'plant1', true],
      [['plant1/#'], 'plant1/a/b', true],
      [['plant1/#'], 'plant10/a', false],
      [['#'], 'anything/at/all', true],
      [['a/+'], 'a/', true],
      [['a.b/(c)'], 'a.b/(c)', true],
      [['a.b/(c)'], 'aXb/(c)', false],
      [['x/y', 'p/+/q'], 'p/1/q', true],
    ];
    for (const [filters, candidate, expected] of cases) {
      const { rows } = await admin.query('select $1::text ~ $2 as matches', [candidate, topicFiltersPattern(filters)]);
      expect([filters, candidate, rows[0].matches]).toEqual([filters, candidate, expected]);
    }
  });

  it('never skips an event whose transaction commits after a later one (the seq trap)', async () => {
    const [first, second] = [await admin.connect(), await admin.connect()];
    try {
      await first.query('begin');
      await store([result('P-1', 1)], first); // takes the lower seq, commits last
      await second.query('begin');
      await store([result('P-2', 2)], second);
      await second.query('commit');
      // P-2 is visible, but P-1's transaction is still open: a seq watermark would pass P-1 here.
      const early = await batch();
      expect(early.events).toBe(0);
      await first.query('commit');
    } finally {
      first.release();
      second.release();
    }
    const late = await batch();
    expect(late.events).toBe(2);
    expect((await table()).map((row) => row.plate_id)).toEqual(['P-1', 'P-2']);
    expect((await batch()).events).toBe(0);
  });

  it('takes events in batches, keeps the latest per key, and curates each event once', async () => {
    await store([result('P-1', 5), result('P-2', 1), result('P-1', 3)]);
    await store([result('P-1', 4, { id: 'late-but-older' })]);
    const first = await batch(new ProductCache(), 2);
    expect(first).toMatchObject({ events: 2, more: true });
    // A full batch cannot know that nothing follows: one more look finds nothing.
    expect(await batch(new ProductCache(), 2)).toMatchObject({ events: 2, more: true });
    expect(await batch(new ProductCache(), 2)).toMatchObject({ events: 0, more: false });
    const rows = await table();
    expect(rows.map((row) => [row.plate_id, row.hardness_hb])).toEqual([
      ['P-1', 305],
      ['P-2', 301],
    ]);
    const { rows: watermark } = await admin.query('select events::int from curated.watermarks');
    expect(watermark).toEqual([{ events: 4 }]);
    // A correction that moves a row in time is logged with both times (the business ETL's input).
    await store([result('P-2', 9, { id: 'moved' })]);
    await batch();
    const { rows: changes } = await admin.query(
      `select product, keys, array(select to_char(t at time zone 'UTC', 'HH24:MI') from unnest(event_times) t) as times,
         array(select to_char(t at time zone 'UTC', 'HH24:MI') from unnest(previous_times) t) as previous
       from curated.changes order by txid, seq`,
    );
    expect(changes).toEqual([
      { product: 'quench_results', keys: [['P-1'], ['P-2']], times: ['08:05', '08:01'], previous: [null, null] },
      { product: 'quench_results', keys: [['P-2']], times: ['08:09'], previous: ['08:01'] },
    ]);
    // A replay of everything changes nothing, not even the curation time.
    const replayed = await replayCurated({ raw: admin, curated: admin }, { definition: 'quench_results' });
    expect(replayed).toEqual([{ product: 'quench_results', version: '1.0.0', events: 5, rows: 0, quarantined: 0 }]);
    expect((await table()).filter((row) => row.plate_id === 'P-1')).toEqual(
      rows.filter((row) => row.plate_id === 'P-1'),
    );
  });

  it('walks (txid, seq) as numbers, across every digit boundary', async () => {
    // One transaction, seqs 1 to 25: as text, 10 to 19 would sort before 2.
    await store(Array.from({ length: 25 }, (_, n) => result(`P-${n}`, n)));
    let batches = 0;
    while ((await batch(new ProductCache(), 7)).more) batches += 1;
    expect(batches).toBe(3);
    expect(await admin.query('select count(*)::int as rows from curated.quench_results')).toMatchObject({
      rows: [{ rows: 25 }],
    });
    expect((await admin.query('select events::int from curated.watermarks')).rows).toEqual([{ events: 25 }]);
  });

  it('lets one worker take a definition at a time, without waiting', async () => {
    await store([result('P-1', 1)]);
    const holder = await etl.curated.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${0x706d_6574}, hashtext('quench_results'))`);
      expect(await batch()).toMatchObject({ busy: true, events: 0 });
      await holder.query('rollback');
    } finally {
      holder.release();
    }
    expect(await batch()).toMatchObject({ busy: false, events: 1 });
  });

  it('quarantines what the definition refuses, with every error and its path, then curates it once fixed', async () => {
    const poison = [
      result('P-wrong-type', 1, { hardness_HB: 'hard' }),
      result('P-missing', 2, { result: undefined }),
      result('P-absurd', 3, { waterFlow_m3_h: 1e9 }),
      result('P-array', 4, { hardness_HB: Array.from({ length: 10_000 }, (_, i) => i) }),
      result('P-unknown-verdict', 5, { result: 'downgraded' }),
    ];
    await store([result('P-good', 0), ...poison]);
    const outcome = await batch();
    expect(outcome).toMatchObject({ events: 6, rows: 1, quarantined: 5 });
    const quarantined = async () =>
      (
        await admin.query(
          `select source, topic, headers -> 'errors' as errors, headers ->> 'version' as version,
             headers ->> 'eventId' as event, reason, replayed_at is not null as replayed
           from raw.quarantine where stage = 'etl-curated' order by (headers ->> 'eventSeq')::bigint, id`,
        )
      ).rows;
    const rows = await quarantined();
    expect(rows.map((row) => [row.event, row.errors])).toEqual([
      ['q-P-wrong-type-1', [{ path: '/hardness_HB', message: 'must be integer' }]],
      ['q-P-missing-2', [{ path: '/result', message: 'is required' }]],
      ['q-P-absurd-3', [{ path: '/waterFlow_m3_h', message: 'must be <= 20000' }]],
      ['q-P-array-4', [{ path: '/hardness_HB', message: 'must be integer' }]],
      ['q-P-unknown-verdict-5', [{ path: '/result', message: 'must be equal to one of the allowed values' }]],
    ]);
    expect(rows[0]).toMatchObject({ source: 'quench_results', topic, version: '1.0.0', replayed: false });
    expect(rows[0].reason).toBe('quench_results 1.0.0: /hardness_HB must be integer');

    // Curating the same events again (a crash before the commit) adds no second quarantine row.
    await admin.query(`update curated.watermarks set txid = '0', seq = 0`);
    await batch();
    expect(await quarantined()).toHaveLength(5);

    // The plant says: a verdict may be "downgraded", and flow meters read up to 1e10. Version 1.1.0 takes both.
    const fixed = structuredClone(quench) as CuratedDefinition;
    fixed.product.version = '1.1.0';
    const properties = fixed.payloadSchema.properties as Record<string, Record<string, unknown>>;
    properties.result = { enum: ['ok', 'rework', 'scrap', 'downgraded'] };
    properties.waterFlow_m3_h = { type: 'number', minimum: 0, maximum: 1e10 };
    const client = await admin.connect();
    expect(await applyDefinition(client, fixed).finally(() => client.release())).toBe('evolved');

    const progress: number[] = [];
    const replayed = await replayCurated(
      { raw: admin, curated: admin },
      { quarantine: true, definition: 'quench_results' },
      (_product, done) => progress.push(done),
    );
    expect(replayed).toEqual([{ product: 'quench_results', version: '1.1.0', events: 5, rows: 2, quarantined: 3 }]);
    expect(progress.at(-1)).toBe(5);
    const table = await admin.query(
      'select plate_id, result, water_flow::float8 as flow, _definition_version as version from curated.quench_results order by plate_id',
    );
    expect(table.rows).toEqual([
      { plate_id: 'P-absurd', result: 'ok', flow: 1e9, version: '1.1.0' },
      { plate_id: 'P-good', result: 'ok', flow: 1200, version: '1.0.0' },
      { plate_id: 'P-unknown-verdict', result: 'downgraded', flow: 1200, version: '1.1.0' },
    ]);
    // The two taken are done; the three still refused have a new row for 1.1.0, the old ones are done.
    const after = await quarantined();
    expect(after.filter((row) => !row.replayed).map((row) => [row.event, row.version])).toEqual([
      ['q-P-wrong-type-1', '1.1.0'],
      ['q-P-missing-2', '1.1.0'],
      ['q-P-array-4', '1.1.0'],
    ]);
    // Replaying again with nothing fixed changes nothing.
    const again = await replayCurated({ raw: admin, curated: admin }, { quarantine: true });
    expect(again.find((entry) => entry.product === 'quench_results')).toMatchObject({ events: 3, rows: 0 });
    expect((await quarantined()).filter((row) => !row.replayed)).toHaveLength(3);
  });
});
