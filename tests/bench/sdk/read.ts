/**
 * SDK reads beside a plain `pg` query of the same rows, in the same run on the same server:
 * - one month of 1 Hz samples of one series (2.6 M rows) streamed by the SDK (a server-side cursor)
 *   against one plain query that loads them all: rows/s of each, and the SDK's peak RSS growth;
 * - a year of hourly buckets of one series without TimescaleDB (the rollups the ETL maintains), and the
 *   same buckets computed from the samples for comparison.
 *   pnpm bench:sdk        (a few minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_DAYS=3 pnpm bench:sdk    a smaller run, recorded nowhere
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { exportSamples, Plantmesh } from '@plantmesh/sdk';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { recordSection, table } from '../record.js';

const days = Number(process.env.BENCH_DAYS ?? 30);
const batchSize = Number(process.env.BENCH_BATCH ?? 1_000);
const recorded = process.env.BENCH_DAYS === undefined && process.env.BENCH_BATCH === undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
const month = 'bench/area/line/cell/temperature';
const year = 'bench/area/line/cell/pressure';
const start = Date.parse('2025-11-03T00:00:00Z');

const server = await (await PostgresServer.create()).start();
const stop = () => server.destroy();
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

/** Runs `read` three times; the best of them (the machine is shared and noisy). */
async function best<T>(read: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let fastest = { ms: Number.POSITIVE_INFINITY, result: undefined as T };
  for (let run = 0; run < 3; run += 1) {
    const began = performance.now();
    const result = await read();
    const ms = performance.now() - began;
    if (ms < fastest.ms) fastest = { ms, result };
  }
  return fastest;
}

try {
  await migrate(
    storeUrls({ DATABASE_URL: server.url }, stores),
    createLogger({ service: 'bench', version: '0', level: 'silent' }),
  );
  const admin = new pg.Client(server.url);
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`insert into metrics.series (path, unit) values ($1, 'CEL'), ($2, 'BAR')`, [month, year]);
  await admin.query(`select metrics.create_partitions('2026-12-31')`);
  const samples = days * 86_400;
  say(`storing ${round(samples)} samples of one series (1 Hz, ${days} days) and a year of another (one a minute) ...`);
  for (let day = 0; day < days; day += 1) {
    await admin.query(
      `insert into metrics.samples (ts, series_id, value)
       select $1::timestamptz + make_interval(secs => i), 1, 20 + (i % 600) / 10.0 from generate_series(0, 86399) i`,
      [new Date(start + day * 86_400_000).toISOString()],
    );
  }
  await admin.query(
    `insert into metrics.samples (ts, series_id, value)
     select $1::timestamptz + make_interval(mins => i), 2, 5 + (i % 97) / 10.0 from generate_series(0, 365 * 1440 - 1) i`,
    [new Date(start).toISOString()],
  );
  await admin.query(`insert into metrics.sample_changes (ts_from, ts_to, samples) values ($1, $2, 0)`, [
    new Date(start).toISOString(),
    new Date(start + 365 * 86_400_000).toISOString(),
  ]);
  say('materializing the rollups ...');
  while ((await admin.query("select more from metrics.refresh_rollups(1000, '30 days', '0 seconds')")).rows[0]?.more);
  await admin.query('vacuum analyze');

  const range = { from: new Date(start), to: new Date(start + days * 86_400_000) };
  const sdk = await Plantmesh.connect({ url: server.url, statementTimeoutMs: 0 });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const streamed = await best(async () => {
    let count = 0;
    for await (const _sample of sdk.samples(month, range, { batchSize })) {
      count += 1;
      if (count % 100_000 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    return count;
  });
  // The plain query after the SDK's: its 2.6 M rows in memory would hide the SDK's own growth.
  const plain = await best(async () => {
    const { rows } = await admin.query(
      `select ts, value, quality from metrics.samples where series_id = 1 and ts >= $1 and ts < $2 order by ts`,
      [range.from.toISOString(), range.to.toISOString()],
    );
    return rows.length;
  });
  if (streamed.result !== plain.result)
    throw new Error(`the SDK read ${streamed.result} rows, the query ${plain.result}`);
  // The month exported for a model's training: Arrow IPC and Parquet files, written as the rows stream.
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-bench-export-'));
  const exported = {
    arrow: await best(
      async () => (await exportSamples(sdk, [month], range, { format: 'arrow', file: join(dir, 'month.arrow') })).rows,
    ),
    parquet: await best(
      async () =>
        (await exportSamples(sdk, [month], range, { format: 'parquet', file: join(dir, 'month.parquet') })).rows,
    ),
  };
  rmSync(dir, { recursive: true, force: true });
  const yearRange = { from: new Date(start), to: new Date(start + 365 * 86_400_000) };
  const hourly = await best(async () => (await sdk.bucketed(year, yearRange, '1 hour')).length);
  const offGrid = { from: new Date(start + 1000), to: yearRange.to };
  const fromSamples = await best(async () => (await sdk.bucketed(year, offGrid, '1 hour')).length);
  await sdk.close();
  await admin.end();

  const rate = (rows: number, ms: number) => (rows / ms) * 1000;
  const ratio = rate(streamed.result, streamed.ms) / rate(plain.result, plain.ms);
  const growth = (rssPeak - rssBefore) / 2 ** 20;
  say(`plain pg query: ${round(rate(plain.result, plain.ms))} rows/s (${round(plain.ms)} ms, all rows in memory)`);
  say(
    `SDK samples():  ${round(rate(streamed.result, streamed.ms))} rows/s (${round(streamed.ms)} ms), ${(ratio * 100).toFixed(0)}% of the plain query; RSS growth ${growth.toFixed(1)} MB`,
  );
  for (const format of ['arrow', 'parquet'] as const) {
    say(
      `export to ${format}: ${round(rate(exported[format].result, exported[format].ms))} rows/s (${round(exported[format].ms)} ms)`,
    );
  }
  say(
    `a year of hourly buckets: ${round(hourly.ms)} ms from the rollups (${hourly.result} buckets), ${round(fromSamples.ms)} ms from the samples`,
  );
  if (recorded) {
    recordSection(
      'sdk-read',
      [
        `Measured ${new Date().toISOString().slice(0, 10)} by \`pnpm bench:sdk\` (best of 3 runs each), PostgreSQL as the tests run it, native partitions (no TimescaleDB), on this 2-core machine.`,
        '',
        table(
          ['measure', 'figure', 'target', ''],
          [
            [
              `${round(streamed.result)} samples of one series (1 Hz, ${days} days), SDK \`samples()\` (cursor, ${round(batchSize)} rows a fetch)`,
              `${round(rate(streamed.result, streamed.ms))} rows/s`,
              '',
              '',
            ],
            ['the same rows, one plain `pg` query (baseline)', `${round(rate(plain.result, plain.ms))} rows/s`, '', ''],
            ['SDK / baseline', `${(ratio * 100).toFixed(0)}%`, '>= 80%', ratio >= 0.8 ? 'met' : 'missed'],
            [
              'SDK peak RSS growth while streaming',
              `${growth.toFixed(1)} MB`,
              '< 64 MB',
              growth < 64 ? 'met' : 'missed',
            ],
            ...(['arrow', 'parquet'] as const).map((format) => [
              `the same rows exported to ${format === 'arrow' ? 'an Arrow IPC' : 'a Parquet'} file, \`exportSamples()\``,
              `${round(rate(exported[format].result, exported[format].ms))} rows/s`,
              '',
              '',
            ]),
            [
              'a year of hourly buckets of one series, `bucketed()` (rollups, no TimescaleDB)',
              `${round(hourly.ms)} ms`,
              '< 500 ms',
              hourly.ms < 500 ? 'met' : 'missed',
            ],
            [
              'the same from the samples (a range off the hour grid; a sample a minute)',
              `${round(fromSamples.ms)} ms`,
              '',
              '',
            ],
          ],
        ),
      ].join('\n'),
    );
  }
} finally {
  await stop();
}
