/**
 * Curated ETL throughput: 1,000,000 raw events curated by the ETL's own batches, beside one hand-written
 * `INSERT ... SELECT` that does the same mapping inside PostgreSQL, in the same run on the same server.
 *   pnpm bench:etl        (a few minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_EVENTS=200000 pnpm bench:etl    a smaller run, recorded nowhere
 */
import { join } from 'node:path';
import { createLogger, Postgres } from '@plantmesh/core';
import {
  applyDefinition,
  type CuratedDefinition,
  curateBatch,
  loadDefinition,
  ProductCache,
  type ReadAhead,
  tableDdl,
} from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { recordSection, table } from '../record.js';

const total = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const batchSizes = [2_000, 5_000];
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
const topic = 'bench/heat-treatment/quench-1/events/quench.result';

const server = await (await PostgresServer.create()).start();
const stop = async () => {
  await server.destroy();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));
process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

try {
  const log = createLogger({ service: 'bench', version: '0', level: 'silent' });
  await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
  const admin = new pg.Client(server.url);
  admin.on('error', () => {}); // the server stops under it at the end
  await admin.connect();
  const quench = loadDefinition(
    join(import.meta.dirname, '../../../packages/etl-curated/definitions/quench-results.yaml'),
  );

  say(`storing ${round(total)} quench results in raw.events ...`);
  // As the simulator publishes them: one plate per event, every fiftieth a rework, 1% without a hardness.
  for (let from = 0; from < total; from += 100_000) {
    await admin.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select 'q-' || i, 'string', $3, 'events', now(), jsonb_strip_nulls(jsonb_build_object(
         'id', 'q-' || i, 'type', 'quench.result', 'plateId', 'P-' || i,
         'result', case when i % 50 = 0 then 'rework' else 'ok' end,
         'hardness_HB', case when i % 100 = 7 then null else 250 + i % 200 end,
         'waterFlow_m3_h', 1000 + i % 500, 'waterTemperature_C', 20 + i % 15, 'flatness_mm_m', (i % 40) / 10.0,
         'quenchDuration_s', 60 + i % 120,
         'occurredAt', to_char(timestamptz '2026-11-30T00:00:00Z' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
       from generate_series($1::int, $2::int) as i`,
      [from, Math.min(total, from + 100_000) - 1, topic],
    );
  }
  await admin.query('vacuum analyze raw.events');

  // Baseline: the same mapping in one statement, without validation, quarantine or batching.
  const baselineTable = { ...quench, table: 'quench_baseline' } as CuratedDefinition;
  await admin.query(tableDdl(baselineTable));
  const started = performance.now();
  const baseline = await admin.query(
    `insert into curated.quench_baseline (plate_id, result, hardness_hb, water_flow, water_temperature,
       flatness_mm_per_m, duration, quenched_at, _event_seq, _event_id, _definition_version)
     select payload ->> 'plateId', payload ->> 'result', (payload ->> 'hardness_HB')::int,
       (payload ->> 'waterFlow_m3_h')::numeric, (payload ->> 'waterTemperature_C')::numeric,
       (payload ->> 'flatness_mm_m')::numeric, (payload ->> 'quenchDuration_s')::numeric,
       (payload ->> 'occurredAt')::timestamptz, seq, id, '1.0.0'
     from raw.events where topic ~ '^(?:[^/]*/heat-treatment/[^/]*/events/quench\\.result)$'
       and payload ? 'hardness_HB'
     on conflict (plate_id) do update set result = excluded.result`,
  );
  const baselineSeconds = (performance.now() - started) / 1000;
  const baselineRate = (baseline.rowCount ?? 0) / baselineSeconds;
  say(
    `baseline INSERT ... SELECT: ${round(baseline.rowCount ?? 0)} rows in ${baselineSeconds.toFixed(1)} s = ${round(baselineRate)} rows/s`,
  );

  const etl = {
    raw: new Postgres({ url: server.url, log, applicationName: 'bench-raw' }),
    curated: new Postgres({ url: server.url, log, applicationName: 'bench-curated' }),
  };
  const rows: string[][] = [];
  for (const batchSize of batchSizes) {
    await admin.query('drop table if exists curated.quench_results');
    await admin.query('delete from curated.definitions');
    await admin.query('delete from curated.definition_versions');
    await admin.query(`delete from raw.quarantine where stage = 'etl-curated'`);
    await applyDefinition(admin, quench);
    const products = new ProductCache();
    const begun = performance.now();
    let events = 0;
    let quarantined = 0;
    let ahead: ReadAhead | undefined;
    for (;;) {
      const result = await curateBatch(etl, products, 'quench_results', batchSize, ahead);
      ahead = result.next;
      events += result.events;
      quarantined += result.quarantined;
      if (!result.more) break;
    }
    const seconds = (performance.now() - begun) / 1000;
    const rate = events / seconds;
    const curated = Number((await admin.query('select count(*) as n from curated.quench_results')).rows[0].n);
    say(
      `ETL, batches of ${batchSize}: ${round(events)} events (${round(curated)} rows, ${round(quarantined)} quarantined) in ${seconds.toFixed(1)} s = ${round(rate)} events/s = ${Math.round((100 * rate) / baselineRate)}% of the baseline`,
    );
    rows.push([
      `ETL, batches of ${round(batchSize)}`,
      `${round(rate)} events/s`,
      `${Math.round((100 * rate) / baselineRate)}%`,
      `${round(curated)} rows, ${round(quarantined)} quarantined`,
    ]);
  }
  await etl.raw.close();
  await etl.curated.close();
  await admin.end();

  if (total === 1_000_000) {
    recordSection(
      'etl-curated',
      [
        '## Curated ETL (`pnpm bench:etl`)',
        '',
        `${new Date().toISOString().slice(0, 10)}, this machine (2 cores), PostgreSQL as the tests run it (fsync off),`,
        `${round(total)} quench results in raw.events (1% refused: no hardness). Baseline: one hand-written`,
        '`INSERT ... SELECT` doing the same mapping inside PostgreSQL (no validation, no quarantine, no batches),',
        'timed in the same run. Target: the ETL at 50% of the baseline or more.',
        '',
        table(
          ['run', 'rate', 'of baseline', 'result'],
          [
            [
              'baseline `INSERT ... SELECT`',
              `${round(baselineRate)} rows/s`,
              '100%',
              `${round(baseline.rowCount ?? 0)} rows`,
            ],
            ...rows,
          ],
        ),
      ].join('\n'),
    );
  }
} catch (error) {
  process.stderr.write(`bench:etl failed: ${(error as Error).stack}\n`);
  process.exitCode = 1;
} finally {
  await stop();
}
