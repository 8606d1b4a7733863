/**
 * Aggregated history (this server's addition: `aggregate: {interval, functions}` on POST /objects/history) over
 * real stores: samples written by the writer's own SampleWriter (and some without a value), the minute and hour
 * rollups partly materialized by metrics.refresh_rollups, and every answer compared with an independent
 * computation from the raw samples — through each source api.samples_bucketed may choose (hour rollups, minute
 * rollups, samples), on aligned and unaligned ranges; with the OpenAPI checks of every other answer.
 */
import { SampleWriter } from '@plantmesh/amqp-writer';
import { createLogger } from '@plantmesh/core';
import { equipmentId, seriesObjectId } from '@plantmesh/information-model';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, buildServer, storePlatformOnce } from '../src/index.js';
import { insertKey } from './keys.js';
import { syncModel } from './model-store.js';
import { caller, expectVqtRules, OpenApiCheck } from './openapi-check.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const T0 = Date.parse('2026-11-29T20:00:00Z');
const HOUR = 3_600_000;
const ORIGIN = Date.parse('2000-01-03T00:00:00Z');
const path = 'plant1/mill/line1/cell1/torque';
const element = seriesObjectId(path);
const cell = equipmentId('plant1/mill/line1/cell1');
// As the server writes timestamps: fractional seconds without trailing zeros.
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');

/** Three hours of samples about every 7 s with jitter; every 23rd without a value (Bad), a few uncertain. */
function plantSamples(): Array<{ ts: number; value: number | null; quality: number }> {
  let seed = 12_345;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const samples: Array<{ ts: number; value: number | null; quality: number }> = [];
  for (let i = 0, ts = T0; ts < T0 + 3 * HOUR; i += 1, ts += 5_000 + Math.floor(random() * 4_000)) {
    const value = Math.round((100 + 50 * Math.sin(i / 40) + random() * 10) * 1_000) / 1_000;
    samples.push(i % 23 === 0 ? { ts, value: null, quality: 2 } : { ts, value, quality: i % 31 === 0 ? 1 : 0 });
  }
  return samples;
}

type Bucket = {
  ts: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
  count: number;
};

/** The aggregates computed here from the raw samples: buckets of `seconds` from the origin, over [from, to). */
function expected(
  samples: Array<{ ts: number; value: number | null }>,
  from: number,
  to: number,
  seconds: number,
): Bucket[] {
  const width = seconds * 1_000;
  const buckets = new Map<number, Array<{ ts: number; value: number | null }>>();
  for (const sample of samples) {
    if (sample.ts < from || sample.ts >= to) continue;
    const start = ORIGIN + Math.floor((sample.ts - ORIGIN) / width) * width;
    buckets.set(start, [...(buckets.get(start) ?? []), sample]);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([ts, members]) => {
      const ordered = members.sort((a, b) => a.ts - b.ts);
      const values = ordered.flatMap((m) => (m.value === null ? [] : [m.value]));
      return {
        ts,
        count: values.length,
        avg: values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : null,
        min: values.length ? Math.min(...values) : null,
        max: values.length ? Math.max(...values) : null,
        first: (ordered[0] as { value: number | null }).value,
        last: (ordered.at(-1) as { value: number | null }).value,
      };
    });
}

describe('aggregated history over the real stores', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let app: FastifyInstance;
  let small: FastifyInstance;
  let apiKeys: ApiKeyStore;
  let key: string;
  const samples = plantSamples();
  const call = caller(
    () => app,
    () => key,
    new OpenApiCheck(),
  );

  const aggregated = async (
    from: number,
    to: number,
    aggregate: unknown,
    ids: string[] = [element],
    extra: Record<string, unknown> = {},
    target?: FastifyInstance,
  ) => {
    const answer = await call(
      'POST',
      '/objects/history',
      { elementIds: ids, startTime: iso(from), endTime: iso(to), aggregate, ...extra },
      target,
    );
    return answer;
  };

  /** The answer's buckets against the computation here. */
  function compare(
    values: Array<{ value: Record<string, number> | null; quality: string; timestamp: string }>,
    want: Bucket[],
  ) {
    expect(values.map((vqt) => vqt.timestamp)).toEqual(want.map((bucket) => iso(bucket.ts)));
    values.forEach((vqt, i) => {
      expectVqtRules(vqt);
      const bucket = want[i] as Bucket;
      if (bucket.count === 0) {
        expect(vqt).toEqual({ value: null, quality: 'Bad', timestamp: iso(bucket.ts) });
        return;
      }
      expect(vqt.quality).toBe('Good');
      const value = vqt.value as Record<string, number | null>;
      expect(Object.keys(value).sort()).toEqual(['avg', 'count', 'first', 'last', 'max', 'min']);
      expect(value.count, vqt.timestamp).toBe(bucket.count);
      expect(value.avg as number).toBeCloseTo(bucket.avg as number, 9);
      expect([value.min, value.max, value.first, value.last], vqt.timestamp).toEqual([
        bucket.min,
        bucket.max,
        bucket.first,
        bucket.last,
      ]);
    });
  }

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    // The samples with a value as the writer stores them, in batches; those without one by SQL (the writer's
    // MQTT payloads always carry one), logged in sample_changes as the writer logs its writes.
    const writer = new SampleWriter();
    const client = await admin.connect();
    try {
      for (let i = 0; i < samples.length; i += 300) {
        const batch = samples.slice(i, i + 300).filter((s) => s.value !== null);
        await client.query('begin');
        await writer.write(client, [
          [
            {
              topic: path,
              unit: 'NU',
              receivedAt: T0,
              samples: batch.map((s): [number, number, number] => [s.ts, s.value as number, s.quality]),
            },
          ],
        ]);
        await client.query('commit');
      }
    } finally {
      client.release();
    }
    const empty = samples.filter((s) => s.value === null);
    await admin.query(
      `insert into metrics.samples (ts, series_id, value, quality)
       select to_timestamp(x::float8 / 1000), (select id from metrics.series where path = $2), null, 2
         from unnest($1::bigint[]) as x`,
      [empty.map((s) => s.ts), path],
    );
    await admin.query('insert into metrics.sample_changes (ts_from, ts_to, samples) values ($1, $2, $3)', [
      new Date(empty[0]?.ts as number),
      new Date(empty.at(-1)?.ts as number),
      empty.length,
    ]);
    // The rollups materialized (the ETL's job), so that the answers come from the rollup tables in part.
    for (let round = 0; round < 50; round += 1) {
      const { rows } = await admin.query<{ more: boolean }>('select * from metrics.refresh_rollups(100000, $1)', [
        '7 days',
      ]);
      if (!rows[0]?.more) break;
    }
    const materialized = await admin.query<{ minutes: number; hours: number }>(
      `select (select count(*)::int from metrics.rollup_1m) as minutes, (select count(*)::int from metrics.rollup_1h) as hours`,
    );
    expect(materialized.rows[0]?.minutes).toBeGreaterThan(100);
    expect(materialized.rows[0]?.hours).toBeGreaterThan(0);

    await storePlatformOnce(admin);
    await syncModel(admin);
    apiKeys = new ApiKeyStore(admin, { log });
    apiKeys.start();
    key = await insertKey(admin, 'analyst', ['read']);
    const auth = { apiKeys, rateLimits: { max: 0, anonymousMax: 0 } };
    app = await buildServer({ curated: admin, metrics: admin, log, version: '0.1.0', auth });
    small = await buildServer({
      curated: admin,
      metrics: admin,
      log,
      version: '0.1.0',
      auth,
      limits: { maxHistoryValues: 10 },
    });
  });

  afterAll(async () => {
    await app?.close();
    await small?.close();
    await apiKeys?.close();
    await admin?.end();
    await server?.destroy();
  });

  const cases: Array<[string, number, number, string, number]> = [
    ['minutes over hours (the minute rollups)', T0, T0 + 3 * HOUR, 'PT1M', 60],
    ['hours (the hour rollups)', T0, T0 + 3 * HOUR, 'PT1H', 3_600],
    ['a day over whole hours (the hour rollups, one bucket)', T0, T0 + 3 * HOUR, 'P1D', 86_400],
    ['15 minutes over one hour (the minute rollups)', T0 + HOUR, T0 + 2 * HOUR, 'PT15M', 900],
    [
      '7 seconds on an unaligned range (the samples; one sample a bucket, some Bad)',
      T0 + 603_000,
      T0 + 2_400_000,
      'PT7S',
      7,
    ],
    ['minutes on an unaligned range (the samples; partial edge buckets)', T0 + 30_000, T0 + 630_500, 'PT1M', 60],
    ['a fraction of a second', T0, T0 + 120_000, 'PT0.5S', 0.5],
  ];
  for (const [what, from, to, interval, seconds] of cases) {
    it(`${what}: ${interval} as computed from the raw samples`, async () => {
      const answer = await aggregated(from, to, { interval });
      expect(answer.status).toBe(200);
      const result = answer.body.results[0].result;
      expect(result.isComposition).toBe(false);
      const want = expected(samples, from, to, seconds);
      expect(want.length).toBeGreaterThan(0);
      compare(result.values, want);
    });
  }

  it('some buckets have only samples without a value: Bad with a null value, as computed', async () => {
    const want = expected(samples, T0 + 603_000, T0 + 2_400_000, 7);
    expect(want.some((bucket) => bucket.count === 0)).toBe(true);
  });

  it('answers the functions asked, in a composition too (maxDepth through HasComponent)', async () => {
    const answer = await aggregated(
      T0,
      T0 + HOUR,
      { interval: 'PT10M', functions: ['max', 'count', 'max'] },
      [cell, element],
      { maxDepth: 2 },
    );
    expect(answer.status).toBe(200);
    const [ofCell, ofSeries] = answer.body.results;
    const want = expected(samples, T0, T0 + HOUR, 600);
    expect(ofSeries.result.values).toEqual(
      want.map((bucket) => ({
        value: { max: bucket.max, count: bucket.count },
        quality: 'Good',
        timestamp: iso(bucket.ts),
      })),
    );
    // The cell has no series of its own: no aggregate; its sensor's are among its components.
    expect(ofCell.result.values).toEqual([{ value: null, quality: 'GoodNoData', timestamp: iso(T0) }]);
    expect(ofCell.result.components[element].values).toEqual(ofSeries.result.values);
  });

  it("is published in the served OpenAPI document as this server's addition", async () => {
    const document = (await call('GET', '/openapi.json')).body;
    expect(document.components.schemas.GetObjectHistoryRequest.properties.aggregate.$ref).toBe(
      '#/components/schemas/HistoryAggregate',
    );
    expect(document.components.schemas.HistoryAggregate).toMatchObject({
      'x-plantmesh': expect.any(String),
      required: ['interval'],
      properties: { functions: { items: { enum: ['avg', 'min', 'max', 'first', 'last', 'count'] } } },
    });
    expect(document.paths['/objects/history'].post.description).toMatch(/plantmesh addition: `aggregate/);
  });

  it('a range without samples is one GoodNoData value at its start', async () => {
    const answer = await aggregated(T0 + 5 * HOUR, T0 + 6 * HOUR, { interval: 'PT1M' });
    expect(answer.body.results[0].result.values).toEqual([
      { value: null, quality: 'GoodNoData', timestamp: iso(T0 + 5 * HOUR) },
    ]);
  });

  it('more buckets than MAX_HISTORY_VALUES: 206 with the earliest', async () => {
    const answer = await aggregated(T0, T0 + 3 * HOUR, { interval: 'PT1M' }, [element], {}, small);
    expect(answer.status).toBe(206);
    expect(answer.body.responseDetail.detail).toMatch(/MAX_HISTORY_VALUES/);
    compare(answer.body.results[0].result.values, expected(samples, T0, T0 + 3 * HOUR, 60).slice(0, 10));
  });

  it('a range of more intervals than MAX_HISTORY_VALUES is cut to the earliest of them before it is read (206)', async () => {
    // Three hours by the millisecond: the first 100,000 milliseconds are read and answered.
    const answer = await aggregated(T0, T0 + 3 * HOUR, { interval: 'PT0.001S' });
    expect(answer.status).toBe(206);
    expect(answer.body.responseDetail.detail).toMatch(/MAX_HISTORY_VALUES\): the earliest intervals/);
    compare(answer.body.results[0].result.values, expected(samples, T0, T0 + 100_000, 0.001));
  });

  it('without aggregate, history is every sample as before', async () => {
    const answer = await call('POST', '/objects/history', {
      elementIds: [element],
      startTime: iso(T0),
      endTime: iso(T0 + 120_000),
    });
    expect(answer.body.results[0].result.values).toHaveLength(samples.filter((s) => s.ts <= T0 + 120_000).length);
  });

  describe('bad aggregates are a 400 with the envelope, never a 500', () => {
    const bad: Array<[string, unknown]> = [
      ['months have no fixed length', { interval: 'P1M' }],
      ['years neither', { interval: 'P1Y' }],
      ['a zero interval', { interval: 'PT0S' }],
      ['below a millisecond', { interval: 'PT0.0001S' }],
      ['not a duration', { interval: '1 minute' }],
      ['an empty duration', { interval: 'PT' }],
      ['an interval missing', { functions: ['avg'] }],
      ['an unknown function', { interval: 'PT1M', functions: ['median'] }],
      ['no function', { interval: 'PT1M', functions: [] }],
      ['functions not an array', { interval: 'PT1M', functions: 'avg' }],
      ['aggregate as text', 'PT1M'],
      ['aggregate as an array', ['PT1M']],
    ];
    for (const [what, aggregate] of bad) {
      it(what, async () => {
        const answer = await aggregated(T0, T0 + HOUR, aggregate);
        expect(answer.status).toBe(400);
        expect(answer.body.responseDetail.detail).toMatch(/aggregate/);
      });
    }

    it('an empty or reversed range', async () => {
      expect((await aggregated(T0, T0, { interval: 'PT1M' })).status).toBe(400);
      expect((await aggregated(T0 + HOUR, T0, { interval: 'PT1M' })).status).toBe(400);
    });
  });
});
