/**
 * Ingestion benchmark: baselines and plantmesh end to end, in one run on this machine.
 *   pnpm bench:ingest            (about 5 minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_ONLY=events pnpm bench:ingest    one sweep only, recorded nowhere
 *   BENCH_DURABILITY=production pnpm bench:ingest   PostgreSQL with fsync and synchronous commit on
 *                                (the tests' servers run with fsync off), recorded in its own section
 */
import { Simulator, type SimulatorOptions } from '@plantmesh/simulator';
import { IngestPlatform, type ServiceHandle } from '../../support/ingest-platform.js';
import { recordSection, table } from '../record.js';
import { directCopy, rawDelivery } from './baselines.js';
import { buckets, quantile, scrape, value } from './metrics.js';

type Kind = 'single' | 'hundred' | 'events';
interface Step {
  offered: number;
  published: number;
  stored: number;
  achieved: number;
  saturated: boolean;
}

const stepSeconds = Number(process.env.BENCH_STEP_SECONDS ?? 8);
const durability = process.env.BENCH_DURABILITY === 'production' ? 'production' : 'test';
const durabilities: Record<'test' | 'production', { marker: string; settings: Record<string, string>; says: string }> =
  {
    test: { marker: 'ingest', settings: {}, says: 'PostgreSQL as the tests run it (fsync off)' },
    production: {
      marker: 'ingest-durable',
      settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' },
      says: 'PostgreSQL with production durability (fsync, synchronous_commit and full_page_writes on)',
    },
  };
const server = durabilities[durability];
const sweeps: Record<Kind, { rates: number[]; unit: string; stream: 'samples' | 'events' }> = {
  single: { rates: [5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 100_000], unit: 'samples/s', stream: 'samples' },
  hundred: {
    rates: [25_000, 50_000, 100_000, 200_000, 300_000, 400_000, 500_000],
    unit: 'samples/s',
    stream: 'samples',
  },
  events: { rates: [2_000, 4_000, 8_000, 12_000, 16_000, 20_000, 25_000], unit: 'events/s', stream: 'events' },
};

const log = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');

function simulatorFor(
  platform: IngestPlatform,
  kind: Kind,
  rate: number,
  seconds: number,
  seed: number,
): SimulatorOptions {
  const total = Math.round(rate * seconds);
  const base = { series: 1_000, sensorQos: 0 as const, eventQos: 1 as const, seed, site: 'bench' };
  return kind === 'events'
    ? {
        ...base,
        eventsUrl: platform.publisherUrl('events'),
        eventsPerSecond: rate,
        maxEvents: total,
        samplesPerSecond: 0,
        samplesPerMessage: 1,
      }
    : {
        ...base,
        sensorsUrl: platform.publisherUrl('sensors'),
        samplesPerSecond: rate,
        maxSamples: total,
        samplesPerMessage: kind === 'hundred' ? 100 : 1,
        eventsPerSecond: 0,
      };
}

async function rowsWritten(writer: ServiceHandle, stream: string): Promise<number> {
  return value(await scrape(writer.opsPort), 'plantmesh_writer_rows_total', `{stream="${stream}"`);
}

/** Offers `rate` for a few seconds; throughput is what was committed over publish plus catch-up time. */
async function step(
  platform: IngestPlatform,
  writer: ServiceHandle,
  kind: Kind,
  rate: number,
  seed: number,
): Promise<Step> {
  const { stream } = sweeps[kind];
  const before = await rowsWritten(writer, stream);
  const started = performance.now();
  const counts = await new Simulator(simulatorFor(platform, kind, rate, stepSeconds, seed)).run();
  const published = kind === 'events' ? counts.events : counts.samples;
  let stored = 0;
  let lastProgress = performance.now();
  for (let seen = -1; ; ) {
    stored = (await rowsWritten(writer, stream)) - before;
    if (stored !== seen) {
      seen = stored;
      lastProgress = performance.now();
    }
    if (stored >= published || performance.now() - lastProgress > 5_000) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const achieved = stored / ((lastProgress - started) / 1000);
  return { offered: rate, published, stored, achieved, saturated: achieved < 0.9 * rate || stored < 0.99 * published };
}

async function lagAt(platform: IngestPlatform, writer: ServiceHandle, kind: Kind, rate: number, seed: number) {
  const { stream } = sweeps[kind];
  const before = buckets(await scrape(writer.opsPort), 'plantmesh_writer_lag_seconds', `stream="${stream}"`);
  await new Simulator(simulatorFor(platform, kind, rate, 10, seed)).run();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const after = buckets(await scrape(writer.opsPort), 'plantmesh_writer_lag_seconds', `stream="${stream}"`);
  return { rate, p50: quantile(before, after, 0.5), p99: quantile(before, after, 0.99) };
}

// Interrupted, it still stops the servers and services it started (they stop on the process's exit).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function main(): Promise<void> {
  log(`ingest benchmark: ${stepSeconds} s per step, ${server.says}`);
  const platform = await IngestPlatform.start({ postgresSettings: server.settings });
  try {
    const seriesIds = (
      await platform.query<{ id: number }>(
        `insert into metrics.series (path) select 'bench/baseline/' || i from generate_series(1, 1000) i returning id`,
      )
    ).map((row) => row.id);
    const baselineA = await directCopy(platform.postgres.url, 2_000_000, seriesIds);
    log(`baseline A  direct COPY into metrics.samples: ${round(baselineA)} rows/s`);
    const baselineB = await rawDelivery(platform.publisherUrl('sensors', 'probe'), 'samples', 300_000);
    log(`baseline B  raw MQTT QoS 0, single-sample messages: ${round(baselineB)} msgs/s`);
    const baselineC = await rawDelivery(platform.publisherUrl('events', 'probe'), 'events', 60_000);
    log(`baseline C  raw MQTT QoS 1, ~1 KB event documents: ${round(baselineC)} msgs/s`);
    await platform.query('truncate metrics.samples, metrics.latest');

    const writer = await platform.startWriter();
    await platform.startSensorsReader({ MQTT_CLIENT_ID: 'bench-sensors' });
    await platform.startEventsReader({ MQTT_CLIENT_ID: 'bench-events' });

    const results = {} as Record<
      Kind,
      { steps: Step[]; saturation: number; lag: { rate: number; p50: number; p99: number } }
    >;
    // Each run publishes with a fresh seed, so that event ids never repeat across steps.
    let seed = 100;
    const nextSeed = () => {
      seed += 1;
      return seed;
    };
    // BENCH_ONLY=single (or hundred, events) runs one sweep, to iterate on one path; it records nothing.
    const only = process.env.BENCH_ONLY as Kind | undefined;
    for (const kind of (['single', 'hundred', 'events'] as Kind[]).filter((k) => !only || k === only)) {
      const steps: Step[] = [];
      for (const rate of sweeps[kind].rates) {
        const result = await step(platform, writer, kind, rate, nextSeed());
        steps.push(result);
        log(
          `${kind.padEnd(7)} offered ${round(rate).padStart(8)}  published ${round(result.published).padStart(9)}  ` +
            `stored ${round(result.stored).padStart(9)}  ${round(result.achieved).padStart(8)} ${sweeps[kind].unit}` +
            (result.saturated ? '  saturated' : ''),
        );
        if (result.saturated) break;
      }
      const saturation = Math.max(...steps.map((s) => s.achieved));
      const lag = await lagAt(platform, writer, kind, Math.round(saturation / 2), nextSeed());
      log(
        `${kind.padEnd(7)} saturation ${round(saturation)} ${sweeps[kind].unit}; at ${round(lag.rate)}: p50 ${lag.p50.toFixed(3)} s, p99 ${lag.p99.toFixed(3)} s`,
      );
      results[kind] = { steps, saturation, lag };
    }
    if (!only) report({ baselineA, baselineB, baselineC }, results);
  } finally {
    await platform.stop();
  }
}

function report(
  baselines: { baselineA: number; baselineB: number; baselineC: number },
  results: Record<Kind, { steps: Step[]; saturation: number; lag: { rate: number; p50: number; p99: number } }>,
): void {
  const { baselineA, baselineB, baselineC } = baselines;
  const ratio = (n: number, d: number) => `${((100 * n) / d).toFixed(0)}%`;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const rows = [
    [
      '100-sample messages vs baseline A',
      ratio(results.hundred.saturation, baselineA),
      '>= 60%',
      verdict(results.hundred.saturation >= 0.6 * baselineA),
    ],
    [
      '100-sample messages, absolute',
      `${round(results.hundred.saturation)} samples/s`,
      '>= 100,000',
      verdict(results.hundred.saturation >= 100_000),
    ],
    [
      'single-sample messages vs baseline B',
      ratio(results.single.saturation, baselineB),
      '>= 50%',
      verdict(results.single.saturation >= 0.5 * baselineB),
    ],
    [
      'no-loss events vs baseline C',
      ratio(results.events.saturation, baselineC),
      '>= 30%',
      verdict(results.events.saturation >= 0.3 * baselineC),
    ],
    ...(['single', 'hundred', 'events'] as Kind[]).map((kind) => [
      `p99 lag at half saturation, ${kind}`,
      `${results[kind].lag.p99.toFixed(3)} s (p50 ${results[kind].lag.p50.toFixed(3)} s at ${round(results[kind].lag.rate)} ${sweeps[kind].unit})`,
      '< 1 s',
      verdict(results[kind].lag.p99 < 1),
    ]),
  ];
  const { marker } = server;
  const command = durability === 'production' ? 'BENCH_DURABILITY=production pnpm bench:ingest' : 'pnpm bench:ingest';
  const section = [
    `Measured ${new Date().toISOString().slice(0, 10)} by \`${command}\` (${stepSeconds} s per step), ${server.says}, all in one run on this 2-core machine.`,
    '',
    table(
      ['baseline', 'figure'],
      [
        [
          'A: direct COPY of the same sample rows into metrics.samples (same indexes), 50k-row batches, 2 connections',
          `${round(baselineA)} rows/s`,
        ],
        [
          'B: raw MQTT QoS 0 delivery of the same single-sample messages, one mqtt.js subscriber',
          `${round(baselineB)} msgs/s`,
        ],
        [
          'C: raw MQTT QoS 1 delivery of the same ~1 KB event documents, one mqtt.js subscriber',
          `${round(baselineC)} msgs/s`,
        ],
      ],
    ),
    '',
    table(['target', 'measured', 'wanted', ''], rows),
    '',
    ...(['single', 'hundred', 'events'] as Kind[]).map((kind) =>
      [
        `Sweep \`${kind}\` (${sweeps[kind].unit}):`,
        '',
        table(
          ['offered', 'published', 'stored', 'committed rate'],
          results[kind].steps.map((s) => [
            round(s.offered),
            round(s.published),
            round(s.stored),
            `${round(s.achieved)}${s.saturated ? ' (saturated)' : ''}`,
          ]),
        ),
        '',
      ].join('\n'),
    ),
  ].join('\n');
  recordSection(marker, section.trimEnd());
}

await main();
