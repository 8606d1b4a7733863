/**
 * ETL freshness under load: the events pipeline at half its saturation (BENCHMARKS.md, events), the
 * curated and business ETL running beside it; how long from a raw event's commit to its curated row,
 * and from a curated change to the recompute of the KPI windows it touched.
 *   pnpm bench:etl-freshness        (about 5 minutes, two loads; prints its figures and updates BENCHMARKS.md)
 *   BENCH_RATE=3000 BENCH_SECONDS=20 pnpm bench:etl-freshness    another load, recorded nowhere
 *   BENCH_LOG_LEVEL=debug KEEP_TEST_LOGS=1 ...     the business ETL logs each round (kept for a look)
 */
import { IngestPlatform } from '../../support/ingest-platform.js';
import { buckets, quantile, scrape } from '../ingest/metrics.js';
import { recordSection, table } from '../record.js';

// Two loads: about half the events pipeline's saturation (its target), and a lighter one.
const rates = process.env.BENCH_RATE ? [Number(process.env.BENCH_RATE)] : [7_000, 2_000];
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const recorded = process.env.BENCH_RATE === undefined && process.env.BENCH_SECONDS === undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
const curatedTables = ['heats', 'slabs', 'plates', 'quench_results', 'machine_states'];

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function measure(rate: number) {
  // Commit timestamps: a raw event's lag is measured from the commit that made it visible to the ETL.
  const platform = await IngestPlatform.start({ postgresSettings: { track_commit_timestamp: 'on' } });
  try {
    await platform.startWriter();
    await platform.startEventsReader({ MQTT_CLIENT_ID: 'bench-events' });
    const curatedEtl = await platform.startCuratedEtl({ POLL_MS: '100' });
    const business = await platform.startBusinessEtl({
      POLL_MS: '200',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    });
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
    // Raw commit -> curated row committed: both as PostgreSQL recorded the commits (track_commit_timestamp).
    const [curated] = await platform.query<{ p50: number; p99: number; rows: number; writer: number }>(
      `select percentile_cont(0.5) within group (order by lag) as p50, percentile_cont(0.99) within group (order by lag) as p99,
       count(*)::int as rows, percentile_cont(0.99) within group (order by writer) as writer
     from (${curatedTables.map((name) => `select _event_seq, xmin from curated.${name}`).join(' union all ')}) as c
     join raw.events e on e.seq = c._event_seq,
     lateral (select extract(epoch from pg_xact_commit_timestamp(c.xmin) - pg_xact_commit_timestamp(e.xmin)) as lag,
                     extract(epoch from pg_xact_commit_timestamp(e.xmin) - e.stored_at) as writer) as l`,
    );
    // Where the curated ETL's time goes: its batches per definition (count, events, duration).
    const curatedText = await scrape(curatedEtl.opsPort);
    for (const definition of new Set(
      [...curatedText.matchAll(/plantmesh_etl_batch_seconds_count\{[^}]*definition="([^"]+)"/g)].map((m) => m[1]),
    )) {
      const after = buckets(curatedText, 'plantmesh_etl_batch_seconds', `definition="${definition}"`);
      const batches = after.at(-1)?.[1] ?? 0;
      const events = Number(
        new RegExp(
          `plantmesh_etl_events_total\\{[^}]*definition="${definition}"[^}]*outcome="curated"[^}]*\\} (\\S+)`,
        ).exec(curatedText)?.[1] ?? 0,
      );
      say(
        `curated batches of ${definition}: ${round(batches)}, ${round(events / Math.max(1, batches))} events each, p50 ${quantile([], after, 0.5).toFixed(3)} s, p99 ${quantile([], after, 0.99).toFixed(3)} s`,
      );
    }
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
      `raw commit -> curated row: p50 ${curated?.p50.toFixed(3)} s, p99 ${curated?.p99.toFixed(3)} s over ${round(curated?.rows ?? 0)} rows (the writer's transactions before that: p99 ${curated?.writer.toFixed(3)} s)`,
    );
    for (const entry of freshness) {
      say(
        `curated change -> KPI window recomputed, ${entry.kpi}: p50 ${entry.p50.toFixed(2)} s, p99 ${entry.p99.toFixed(2)} s (${entry.windows} recomputes)`,
      );
    }
    return { rate, curated, freshness, bound: (curated?.p99 ?? Number.NaN) + worst };
  } finally {
    await platform.stop();
  }
}

const results = [];
for (const rate of rates) results.push(await measure(rate));
if (recorded) {
  recordSection(
    'etl-freshness',
    [
      '### ETL freshness under load (`pnpm bench:etl-freshness`)',
      '',
      `${new Date().toISOString().slice(0, 10)}, this machine (2 cores, everything on it: brokers, readers, writer, PostgreSQL, both ETLs),`,
      `PostgreSQL as the tests run it. The simulated plant publishes for ${seconds} s through the readers and the writer;`,
      'the curated ETL (5 definitions) and the business ETL (5 KPIs) run beside it. Targets at half the events',
      "pipeline's saturation (about 7,000 events/s): raw commit -> curated row p99 < 1 s; -> KPI window recomputed p99 < 5 s.",
      '',
      table(
        [
          'events/s',
          'raw commit -> curated row p50 / p99',
          'curated change -> KPI recomputed p99, per KPI',
          'raw -> KPI p99 (bound: sum)',
        ],
        results.map(({ rate, curated, freshness, bound }) => [
          round(rate),
          `${curated?.p50.toFixed(2)} s / ${curated?.p99.toFixed(2)} s`,
          freshness.map((entry) => `${entry.kpi} ${entry.p99.toFixed(1)} s`).join(', '),
          `${bound.toFixed(1)} s`,
        ]),
      ),
    ].join('\n'),
  );
}
