/**
 * The I3X API under load, beside a bare `node:http` JSON endpoint measured in the same run by the same client
 * (wrk, Debian's package):
 * - last known value of 1 element and of 100 elements at 50 connections (req/s, p99);
 * - history of one series over one day at 1 Hz (86,400 points), and the same day in 1-minute buckets, time to
 *   last byte;
 * - GET /objects over 100,000 series objects, time to last byte;
 * - SSE fan-out: 100 subscriptions of 100 elements each, streamed, while the plant publishes every element
 *   once a second through the readers and the writer (10,000 samples/s): delivery lag from the sample's
 *   timestamp to its arrival on the stream.
 *   pnpm bench:i3x        (about 10 minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_SECONDS=3 BENCH_OBJECTS=5000 pnpm bench:i3x    a smaller run, recorded nowhere
 *   BENCH_PROFILE=/tmp/prof ...    the API's CPU profile, written there when it stops
 *   BENCH_STATEMENTS=1 ...         PostgreSQL's statements that took the most time
 *   BENCH_ONLY=values ...          the last-value loads alone, recorded nowhere
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brokerUrl, setupBroker } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { bindingKeysForFilter, liveExchange } from '@plantmesh/live-stream';
import { generatePassword, scramVerifier, serviceUrl } from '@plantmesh/schema';
import { buildSeries, Simulator } from '@plantmesh/simulator';
import { freePort, startServiceProcess, waitFor } from '@plantmesh/testkit';
import { IngestPlatform } from '../../support/ingest-platform.js';
import { recordSection, table } from '../record.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const objects = Number(process.env.BENCH_OBJECTS ?? 100_000);
const valuesOnly = process.env.BENCH_ONLY === 'values';
const recorded = process.env.BENCH_SECONDS === undefined && process.env.BENCH_OBJECTS === undefined && !valuesOnly;
const connections = 50;
const subscriptions = 100;
const perSubscription = 100;
const run = promisify(execFile);
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
// The API as the image runs it: compiled by tsc (`pnpm build`, run first), not through the TypeScript loader.
const entry = fileURLToPath(new URL('../../../packages/i3x-api/dist/main.js', import.meta.url));
const historyPath = 'bench/history/line/cell/temperature';
const day = { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' };

interface Load {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * `connections` keep-alive connections sending the request again as soon as its answer ends, for `seconds`:
 * wrk (Debian's package, C, one thread) drives them. A client in Node took most of a core of this 2-core
 * machine itself, and its own queueing showed in every latency it measured (the bare server's p99 with the
 * 100-element answer: 14 ms by it, 4 ms by wrk).
 */
async function load(port: number, path: string, body: string, headers: Record<string, string>): Promise<Load> {
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-wrk-'));
  try {
    writeFileSync(join(dir, 'body.json'), body);
    // wrk's Lua: the request, and at the end one line with the counts and the latency quantiles (µs).
    const script = [
      `local file = io.open(${JSON.stringify(join(dir, 'body.json'))}, "rb")`,
      'wrk.method = "POST"',
      'wrk.body = file:read("*a")',
      'file:close()',
      ...Object.entries(headers).map(
        ([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`,
      ),
      'done = function(summary, latency, requests)',
      '  local e = summary.errors',
      '  io.write(string.format("result %d %d %d %d %d %d\\n", summary.requests, summary.duration, e.status,',
      '    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))',
      'end',
    ].join('\n');
    writeFileSync(join(dir, 'load.lua'), script);
    const args = [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '-s',
      join(dir, 'load.lua'),
      `http://127.0.0.1:${port}${path}`,
    ];
    const { stdout } = await run('wrk', args).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new Error('the load client wrk is missing: apt-get install wrk');
      throw error;
    });
    const [requests = 0, micros = 1, failed = 0, broken = 0, p50 = 0, p99 = 0] = (
      /^result (.*)$/m.exec(stdout)?.[1] ?? ''
    )
      .split(' ')
      .map(Number);
    if (requests === 0 || failed > 0 || broken > 0) {
      throw new Error(
        `${path}: ${requests} requests, ${failed} not 2xx, ${broken} socket errors or timeouts\n${stdout}`,
      );
    }
    return { requests, perSecond: requests / (micros / 1e6), p50: p50 / 1_000, p99: p99 / 1_000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds used so far by each process on the machine, by pid, with its name: the API's named, and this
 * one's counted with its ended children, which is wrk once a load is over.
 */
function cpuByProcess(apiPid: number | undefined): Map<number, { name: string; seconds: number }> {
  const ticks = 100; // USER_HZ, 100 on Linux
  const used = new Map<number, { name: string; seconds: number }>();
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const own = Number(pid) === process.pid;
      const children = own ? Number(fields[13]) + Number(fields[14]) : 0;
      const seconds = (Number(fields[11]) + Number(fields[12]) + children) / ticks;
      const name = Number(pid) === apiPid ? 'i3x-api' : own ? 'client (wrk)' : command;
      used.set(Number(pid), { name, seconds });
    } catch {
      // The process ended meanwhile.
    }
  }
  return used;
}

/**
 * Where the CPU went between two cpuByProcess readings, summed by name (a kernel worker's name changes with
 * its work, so processes are matched by pid): the busiest, in seconds.
 */
function cpuSpent(
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
): string {
  const byName = new Map<string, number>();
  for (const [pid, { name, seconds }] of after) {
    const spent = seconds - (before.get(pid)?.seconds ?? 0);
    const kind = name.replace(/^kworker\/.*$/, 'kernel workers');
    byName.set(kind, (byName.get(kind) ?? 0) + spent);
  }
  return [...byName]
    .filter(([, seconds]) => seconds >= 0.1)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`)
    .join(', ');
}

/** A plain JSON endpoint in a process of its own, answering every request with `body`. */
async function bareServer(body: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const code = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }); res.end(process.env.BODY); }); })
    .listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', code], { env: { BODY: body }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  return { port, child };
}

/**
 * The upper bound of the bucket holding quantile `q` of a Prometheus histogram in a /metrics text (summed over
 * the series whose labels contain `having`).
 */
function histogramQuantile(text: string, name: string, having: string, q: number): number {
  const buckets = new Map<number, number>();
  for (const [, labels = '', count = '0'] of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (!labels.includes(having)) continue;
    const le = Number(/le="([^"]+)"/.exec(labels)?.[1]?.replace('+Inf', 'Infinity'));
    buckets.set(le, (buckets.get(le) ?? 0) + Number(count));
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  return sorted.find(([, count]) => count >= q * total)?.[0] ?? Number.NaN;
}

/** Time to the last byte of one request, the best of `runs`; and the answer. */
async function timed(url: string, init: RequestInit, runs = 5): Promise<{ ms: number; text: string }> {
  let best = { ms: Number.POSITIVE_INFINITY, text: '' };
  for (let run = 0; run < runs; run += 1) {
    const began = performance.now();
    const response = await fetch(url, init);
    const text = await response.text();
    const ms = performance.now() - began;
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text.slice(0, 300)}`);
    if (ms < best.ms) best = { ms, text };
  }
  return best;
}

// BENCH_STATEMENTS=1: PostgreSQL's statements that took the most time, printed at the end (pg_stat_statements).
const statements = process.env.BENCH_STATEMENTS === '1';
say('building the packages (pnpm build) ...');
await run('pnpm', ['-s', 'build'], { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
const platform = await IngestPlatform.start(
  statements ? { postgresSettings: { shared_preload_libraries: 'pg_stat_statements' } } : {},
);
const stopAll: Array<() => Promise<unknown>> = [];
process.once('SIGINT', () => void platform.stop().then(() => process.exit(130)));
try {
  const dbPassword = generatePassword();
  const amqpPassword = generatePassword();
  await platform.query(`alter role plantmesh_i3x_api password '${scramVerifier(dbPassword)}'`);
  await setupBroker({
    amqpUrl: platform.rabbitmq.url,
    managementUrl: platform.rabbitmq.managementApiUrl as string,
    passwords: { 'i3x-api': amqpPassword },
  });
  const writer = await platform.startWriter();
  await platform.startSensorsReader();

  // The plant's series, as the writer registers them, and many more of another site; a day of one series.
  const plant = buildSeries(subscriptions * perSubscription, 7, 'plant1');
  say(`storing ${round(objects)} series, their last values, and a day of 1 Hz samples of one ...`);
  await platform.query(
    `insert into metrics.series (path, unit)
     select p, 'CEL' from unnest($1::text[]) as p
     union all select 'bench/area' || (n / 10000) || '/line' || (n / 1000 % 10) || '/cell' || (n / 10 % 100) || '/tag' || (n % 10), 'CEL'
       from generate_series(1, $2::int) as n
     union all select $3, 'CEL'`,
    [plant.map((series) => series.topic), Math.max(0, objects - plant.length - 1), historyPath],
  );
  await platform.query(`insert into metrics.latest (series_id, ts, value) select id, now(), id from metrics.series`);
  await platform.query(`select metrics.create_partitions('2026-12-31')`);
  await platform.query(
    `insert into metrics.samples (series_id, ts, value)
     select (select id from metrics.series where path = $1), $2::timestamptz + n * interval '1 second', n
       from generate_series(0, 86399) as n`,
    [historyPath, day.start],
  );

  // The day is a past one: the business ETL has materialized its minute and hour rollups (as it does in a
  // running platform), which aggregated history reads.
  for (let more = true; more; ) {
    [{ more = false } = {}] = await platform.query<{ more: boolean }>(
      `select more from metrics.refresh_rollups(1000, interval '400 days')`,
    );
  }
  // Measured in a steady state, not while autovacuum and a checkpoint work through what was just loaded.
  await platform.query('vacuum analyze');
  await platform.query('checkpoint');

  const made = await platform.cli(['keys', 'create', 'bench', '--scopes', 'read,subscribe']);
  const key = made.output.match(/pmk_[\w-]{43}/)?.[0] as string;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const port = await freePort();
  const opsPort = await freePort();
  const api = startServiceProcess({
    entry,
    compiled: true,
    env: {
      DATABASE_URL: serviceUrl(platform.postgres.url, 'i3x-api', dbPassword),
      AMQP_URL: brokerUrl(platform.rabbitmq.url, 'i3x-api', amqpPassword),
      ALLOW_PLAIN_HTTP: 'true',
      I3X_HOST: '127.0.0.1',
      I3X_PORT: String(port),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(opsPort),
      MAX_OBJECTS: '10000000',
      RATE_LIMIT_MAX: '0',
      LOG_LEVEL: 'warn',
    },
    logFile: join(platform.logDir, 'i3x-api.log'),
    nodeOptions: [
      ...(process.env.BENCH_NODE_OPTIONS?.split(' ') ?? []),
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
    ],
  });
  stopAll.push(() => api.stop('SIGTERM'));
  const base = `http://127.0.0.1:${port}/v1`;
  const historyId = seriesObjectId(historyPath);
  say('waiting for the model to hold every series ...');
  await waitFor(
    'every series an object',
    async () => {
      if (!api.alive) throw new Error(`the API exited:\n${api.tail()}`);
      const response = await fetch(`${base}/objects/list`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ elementIds: [historyId] }),
      });
      return ((await response.json()) as { results?: Array<{ success: boolean }> }).results?.[0]?.success === true;
    },
    600_000,
  );

  // Last known values at 50 connections, beside the bare endpoint answering the same bodies: the 100-element
  // one tells what a server doing no work at all would get for an answer that size, with this client.
  const one = JSON.stringify({ elementIds: [seriesObjectId(plant[0]?.topic as string)] });
  const hundred = JSON.stringify({ elementIds: plant.slice(0, 100).map((series) => seriesObjectId(series.topic)) });
  const oneAnswer = await timed(`${base}/objects/value`, { method: 'POST', headers, body: one }, 1);
  const hundredAnswer = await timed(`${base}/objects/value`, { method: 'POST', headers, body: hundred }, 1);
  const bare = await bareServer(oneAnswer.text);
  const bareHundred = await bareServer(hundredAnswer.text);
  stopAll.push(async () => bare.child.kill());
  stopAll.push(async () => bareHundred.child.kill());
  say(`load: ${connections} connections, ${seconds} s each ...`);
  const baseline = await load(bare.port, '/', one, { 'content-type': 'application/json' });
  const single = await load(port, '/v1/objects/value', one, headers);
  const baselineHundred = await load(bareHundred.port, '/', hundred, { 'content-type': 'application/json' });
  const cpuBefore = cpuByProcess(api.pid);
  const many = await load(port, '/v1/objects/value', hundred, headers);
  const cpuDuringMany = cpuSpent(cpuBefore, cpuByProcess(api.pid));
  for (const [what, result] of [
    ['bare node:http', baseline],
    ['value of 1 element', single],
    ['bare node:http, the 100-element answer', baselineHundred],
    ['value of 100 elements', many],
  ] as const) {
    say(`${what}: ${round(result.perSecond)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
  }
  say(`CPU during the 100-element load (${seconds} s): ${cpuDuringMany}`);
  if (!valuesOnly) {
    // One day of one series, and every object.
    const history = await timed(`${base}/objects/history`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ elementIds: [historyId], startTime: day.start, endTime: day.end }),
    });
    const points = (JSON.parse(history.text).results?.[0]?.result?.values ?? []).length;
    say(`history of one day at 1 Hz: ${round(points)} points in ${history.ms.toFixed(0)} ms`);
    const aggregated = await timed(`${base}/objects/history`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        elementIds: [historyId],
        startTime: day.start,
        endTime: day.end,
        aggregate: { interval: 'PT1M', functions: ['avg', 'min', 'max', 'first', 'last', 'count'] },
      }),
    });
    const buckets = (JSON.parse(aggregated.text).results?.[0]?.result?.values ?? []).length;
    say(`the same day in 1-minute buckets: ${round(buckets)} buckets in ${aggregated.ms.toFixed(0)} ms`);
    const listing = await timed(`${base}/objects`, { headers }, 3);
    const listed = (JSON.parse(listing.text).result ?? []).length;
    say(`GET /objects: ${round(listed)} objects in ${listing.ms.toFixed(0)} ms`);

    // SSE fan-out: every subscription streamed; the plant publishes each element once a second.
    const lags: number[] = [];
    const streams = new AbortController();
    stopAll.push(async () => streams.abort());
    for (let s = 0; s < subscriptions; s += 1) {
      const created = await fetch(`${base}/subscriptions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ clientId: `bench-${s}` }),
      }).then((response) => response.json() as Promise<{ result: { subscriptionId: string } }>);
      const subscriptionId = created.result.subscriptionId;
      const elementIds = plant
        .slice(s * perSubscription, (s + 1) * perSubscription)
        .map((series) => seriesObjectId(series.topic));
      await fetch(`${base}/subscriptions/register`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ clientId: `bench-${s}`, subscriptionId, elementIds }),
      });
      const response = await fetch(`${base}/subscriptions/stream`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ clientId: `bench-${s}`, subscriptionId }),
        signal: streams.signal,
      });
      void (async () => {
        const decoder = new TextDecoder();
        let pending = '';
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          const now = Date.now();
          pending += decoder.decode(chunk, { stream: true });
          const events = pending.split('\n\n');
          pending = events.pop() ?? '';
          for (const event of events) {
            if (!event.startsWith('data: ')) continue;
            for (const update of JSON.parse(event.slice(6)) as Array<{ timestamp: string }>) {
              lags.push(now - Date.parse(update.timestamp));
            }
          }
        }
      })().catch(() => {});
    }
    const rate = subscriptions * perSubscription;
    // The API binds its live queue to each watched series: the plant starts once every series is bound.
    const management = new URL(platform.rabbitmq.managementApiUrl as string);
    const authorization = `Basic ${Buffer.from(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`).toString('base64')}`;
    const bindingsAt = `${management.protocol}//${management.host}/api/exchanges/%2F/${liveExchange}/bindings/source`;
    const boundSince = performance.now();
    // A binding per parent path (ADR 0014): a cell's series come in one message.
    const keys = new Set(plant.flatMap((series) => bindingKeysForFilter(series.topic)));
    await waitFor(
      'every watched series bound',
      async () =>
        ((await (await fetch(bindingsAt, { headers: { authorization } })).json()) as unknown[]).length >= keys.size,
      600_000,
    );
    say(
      `fan-out: ${round(rate)} series bound (${round(keys.size)} parent paths) in ${((performance.now() - boundSince) / 1000).toFixed(1)} s after the last registration`,
    );
    say(
      `fan-out: ${subscriptions} streams of ${perSubscription} elements; the plant publishes ${round(rate)} samples/s ...`,
    );
    const simulator = new Simulator({
      sensorsUrl: platform.publisherUrl('sensors'),
      series: rate,
      samplesPerSecond: rate,
      samplesPerMessage: 1,
      sensorQos: 0,
      eventsPerSecond: 0,
      eventQos: 1,
      seed: 7,
      site: 'plant1',
      maxSamples: rate * seconds * 3,
    });
    const published = await simulator.run();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    streams.abort();
    // Where what was not delivered stands: staged and unsent, or not staged yet (live messages taken so far).
    const [left] = await platform.query<{ n: number }>('select count(*)::int as n from i3x.subscription_staged');
    const taken = /plantmesh_i3x_live_messages_total\{[^}]*outcome="delivered"[^}]*\} (\d+)/.exec(
      await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text(),
    )?.[1];
    const [stored] = await platform.query<{ n: number }>(
      `select count(*)::int as n from metrics.samples s join metrics.series r on r.id = s.series_id where r.path like 'plant1/%'`,
    );
    const writerMetrics = await (await fetch(`http://127.0.0.1:${writer.opsPort}/metrics`)).text();
    const live = [...writerMetrics.matchAll(/plantmesh_writer_live_messages_total\{([^}]*)\} (\d+)/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    say(`fan-out: the writer's live messages: ${live.join(', ')}`);
    // The ingestion's share of the lag: received by the reader -> committed (bucket bounds).
    const ingestLag = (q: number) => histogramQuantile(writerMetrics, 'plantmesh_writer_lag_seconds', 'samples', q);
    say(`fan-out: the writer's lag (reader -> committed): p50 ≤ ${ingestLag(0.5)} s, p99 ≤ ${ingestLag(0.99)} s`);
    say(
      `fan-out: ${round(stored?.n ?? 0)} samples stored, ${round(left?.n ?? 0)} updates staged and unsent at the end; ${taken ?? 0} live messages staged`,
    );
    lags.sort((a, b) => a - b);
    const lag = (q: number) => (lags[Math.floor(q * (lags.length - 1))] ?? Number.NaN) / 1_000;
    say(
      `fan-out: ${round(published.samples)} samples published in ${(published.elapsedMs / 1000).toFixed(1)} s, ` +
        `${round(lags.length)} updates delivered, lag p50 ${lag(0.5).toFixed(2)} s, p99 ${lag(0.99).toFixed(2)} s`,
    );

    if (statements) {
      await platform.query('create extension if not exists pg_stat_statements');
      const top = await platform.query<{ ms: number; calls: number; query: string }>(
        `select round(total_exec_time)::int as ms, calls::int, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) as query
         from pg_stat_statements order by total_exec_time desc limit 12`,
      );
      for (const row of top)
        say(`${String(row.ms).padStart(8)} ms ${String(row.calls).padStart(8)} calls  ${row.query}`);
    }

    if (recorded) {
      recordSection(
        'i3x-api',
        [
          '### The I3X API under load (`pnpm bench:i3x`)',
          '',
          `${new Date().toISOString().slice(0, 10)}, this machine (2 cores shared by the client, wrk, the API, PostgreSQL and, for`,
          'the fan-out, the brokers, the reader and the writer), plain HTTP, PostgreSQL as the tests run it; the API',
          'compiled (as the image runs it) with its defaults, last values held in memory included (ADR 0023).',
          `${connections} connections on keep-alive, ${seconds} s each; the bare endpoint answers the same bodies as the API.`,
          '',
          table(
            ['measure', 'figure', 'target'],
            [
              [
                'bare `node:http` JSON endpoint',
                `${round(baseline.perSecond)} req/s, p99 ${baseline.p99.toFixed(1)} ms`,
                '',
              ],
              [
                'last known value, 1 element',
                `${round(single.perSecond)} req/s (${((100 * single.perSecond) / baseline.perSecond).toFixed(0)}% of bare), p99 ${single.p99.toFixed(1)} ms`,
                '≥ 30% of bare',
              ],
              [
                'bare `node:http` JSON endpoint, the 100-element answer',
                `${round(baselineHundred.perSecond)} req/s, p99 ${baselineHundred.p99.toFixed(1)} ms`,
                '',
              ],
              [
                'last known value, 100 elements',
                `${round(many.perSecond)} req/s, p99 ${many.p99.toFixed(1)} ms`,
                'p99 < 20 ms',
              ],
              [
                'history, one day at 1 Hz',
                `${round(points)} points, ${history.ms.toFixed(0)} ms to the last byte`,
                '< 300 ms',
              ],
              [
                'the same day in 1-minute buckets (avg, min, max, first, last, count; from the rollups)',
                `${round(buckets)} buckets, ${aggregated.ms.toFixed(0)} ms to the last byte`,
                '< 50 ms',
              ],
              ['GET /objects', `${round(listed)} objects, ${listing.ms.toFixed(0)} ms to the last byte`, ''],
              [
                `SSE fan-out, ${subscriptions} × ${perSubscription} elements at ${round(rate)} samples/s`,
                `${round(lags.length)} updates, lag p50 ${lag(0.5).toFixed(2)} s, p99 ${lag(0.99).toFixed(2)} s`,
                'p99 < 1 s',
              ],
            ],
          ),
          '',
          `CPU used during the 100-element load (${seconds} s): ${cpuDuringMany}.`,
        ].join('\n'),
      );
    }
  }
} finally {
  for (const stop of stopAll.reverse()) await stop().catch(() => {});
  await platform.stop();
}
