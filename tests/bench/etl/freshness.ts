/**
 * ETL freshness under load: the events pipeline at half its saturation (BENCHMARKS.md, events), the
 * curated and business ETL running beside it; how long from a raw event's commit to its curated row,
 * and from a curated change to the recompute of the KPI windows it touched.
 *   pnpm bench:etl-freshness        (about 2 minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_RATE=3000 BENCH_SECONDS=20 pnpm bench:etl-freshness    another load, recorded nowhere
 */
import { IngestPlatform } from '../../support/ingest-platform.js';
import { buckets, quantile, scrape } from '../ingest/metrics.js';
import { recordSection, table } from '../record.js';

const rate = Number(process.env.BENCH_RATE ?? 7_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const recorded = process.env.BENCH_RATE === undefined && process.env.BENCH_SECONDS === undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
const curatedTables = ['heats', 'slabs', 'plates', 'quench_results', 'machine_states'];

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const platform = await IngestPlatform.start();
try {
  await platform.startWriter();
  await platform.startEventsReader({ MQTT_CLIENT_ID: 'bench-events' });
  await platform.startCuratedEtl({ POLL_MS: '100' });
  const business = await platform.startBusinessEtl({ POLL_MS: '200' });
  say(`publishing ${round(rate)} events/s for ${seconds} s ...`);
  const counts = await platform.eventsPlant(rate * seconds, 31, rate).run();
  say(`published ${round(counts.events)} events in ${(counts.elapsedMs / 1000).toFixed(1)} s`);
  const caughtUp = async () =>
    (await platform.count('select count(*) as n from raw.events')) >= counts.events &&
    (await platform.count(
      `select count(*) as n from raw.events e, curated.watermarks w where (e.txid, e.seq) > (w.txid, w.seq)`,
    )) === 0 &&
    (await platform.count('select count(*) as n from business.dirty_windows')) === 0;
  for (const started = Date.now(); !(await caughtUp()) && Date.now() - started < 120_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Raw commit -> curated row: stored_at and _curated_at are both written inside their transactions.
  const [curated] = await platform.query<{ p50: number; p99: number; rows: number }>(
    `select percentile_cont(0.5) within group (order by lag) as p50, percentile_cont(0.99) within group (order by lag) as p99,
       count(*)::int as rows
     from (${curatedTables.map((name) => `select _event_seq, _curated_at from curated.${name}`).join(' union all ')}) as c
     join raw.events e on e.seq = c._event_seq,
     lateral (select extract(epoch from c._curated_at - e.stored_at) as lag) as l`,
  );
  const text = await scrape(business.opsPort);
  const kpis = [
    ...new Set(
      [...text.matchAll(/plantmesh_kpi_freshness_seconds_count\{[^}]*kpi="([^"]+)"/g)].map((m) => m[1] as string),
    ),
  ];
  const freshness = kpis.map((kpi) => {
    const after = buckets(text, 'plantmesh_kpi_freshness_seconds', `kpi="${kpi}"`);
    return { kpi, p50: quantile([], after, 0.5), p99: quantile([], after, 0.99), windows: after.at(-1)?.[1] ?? 0 };
  });
  const worst = Math.max(...freshness.map((entry) => entry.p99));
  say(
    `raw commit -> curated row: p50 ${curated?.p50.toFixed(3)} s, p99 ${curated?.p99.toFixed(3)} s over ${round(curated?.rows ?? 0)} rows`,
  );
  for (const entry of freshness) {
    say(
      `curated change -> KPI window recomputed, ${entry.kpi}: p50 ${entry.p50.toFixed(2)} s, p99 ${entry.p99.toFixed(2)} s (${entry.windows} recomputes)`,
    );
  }
  if (recorded && curated) {
    recordSection(
      'etl-freshness',
      [
        '### ETL freshness under load (`pnpm bench:etl-freshness`)',
        '',
        `${new Date().toISOString().slice(0, 10)}, this machine (2 cores, everything on it), PostgreSQL as the tests run it.`,
        `The simulated plant publishes ${round(rate)} events/s (about half the events pipeline's saturation) for`,
        `${seconds} s through the readers and the writer; the curated ETL (5 definitions) and the business ETL`,
        `(${kpis.length} KPIs) run beside it. Targets: raw commit -> curated row p99 < 1 s; -> KPI window recomputed p99 < 5 s.`,
        '',
        table(
          ['path', 'p50', 'p99', 'over'],
          [
            [
              'raw commit -> curated row',
              `${curated.p50.toFixed(3)} s`,
              `${curated.p99.toFixed(3)} s`,
              `${round(curated.rows)} rows`,
            ],
            ...freshness.map((entry) => [
              `curated change -> ${entry.kpi} recomputed`,
              `${entry.p50.toFixed(2)} s`,
              `${entry.p99.toFixed(2)} s`,
              `${entry.windows} recomputes`,
            ]),
            [
              'raw commit -> KPI recomputed (sum of the worst p99s, a bound)',
              '',
              `${(curated.p99 + worst).toFixed(2)} s`,
              '',
            ],
          ],
        ),
      ].join('\n'),
    );
  }
} finally {
  await platform.stop();
}
