import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Plantmesh } from '@plantmesh/sdk';
import type { MeterReading, PlantEvent } from '@plantmesh/simulator';
import { freePort, waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { all, failure } from '../support/sdk-calls.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const meterPath = 'plant1/heat-treatment/quench1/meter/energy';

// The SDK against data that came the platform's way: the simulated plant publishes events and meter
// readings over MQTT, the readers and the writer store them, the curated and business ETLs refine them.
describe('@plantmesh/sdk on the stable SQL interface (real platform)', () => {
  const platform = useIngestPlatform();
  const events: PlantEvent[] = [];
  const readings: MeterReading[] = [];
  let reader: Plantmesh;
  let readerUrl: string;
  let writerUrl: string;

  beforeAll(async () => {
    await platform().startWriter();
    await platform().startEventsReader();
    await platform().startSensorsReader();
    await platform().startCuratedEtl();
    await platform().startBusinessEtl();
    const plant = platform().eventsPlant(
      600,
      5,
      200,
      (event) => events.push(event),
      (reading) => readings.push(reading),
    );
    await plant.run();
    const heats = events.filter((event) => event.payload.type === 'heat.finished').length;
    await waitFor(
      'events, readings and heats stored',
      async () =>
        (await platform().count('select count(*) as n from raw.events')) === events.length &&
        (await platform().count('select count(*) as n from metrics.samples')) === readings.length &&
        (await platform().count('select count(*) as n from curated.heats')) === heats,
      60_000,
    );
    readerUrl = await platform().userUrl('dashboards', 'reader');
    writerUrl = await platform().userUrl('soft_sensor', 'results-writer');
    reader = await Plantmesh.connect({ url: readerUrl, applicationName: 'sdk-test' });
    return () => reader?.close();
  });

  it('finds series by pattern and unit, and their last values', async () => {
    const meters = await reader.findSeries('plant1/+/+/meter/energy', { unit: 'KWH' });
    expect(meters.map((series) => series.path)).toEqual([...new Set(readings.map((r) => r.topic))].sort());
    expect(meters[0]).toMatchObject({ site: 'plant1', tag: 'energy', unit: 'KWH' });
    expect(await reader.findSeries('plant1/+/+/meter/energy', { unit: 'CEL' })).toEqual([]);
    const latest = await reader.latest(meterPath);
    const last = readings.filter((r) => r.topic === meterPath).at(-1) as MeterReading;
    expect(latest).toEqual([expect.objectContaining({ path: meterPath, value: last.value, ts: new Date(last.ts) })]);
  });

  it('streams a series in time order, and aggregates it per bucket', async () => {
    const published = readings.filter((r) => r.topic === meterPath);
    const range = { from: new Date(published[0]?.ts as number), to: new Date((published.at(-1)?.ts as number) + 1) };
    const samples = await all(reader.samples(meterPath, range, { batchSize: 2 }));
    expect(samples.map((s) => [s.ts.getTime(), s.value])).toEqual(published.map((r) => [r.ts, r.value]));
    const from = new Date(Math.floor((published[0]?.ts as number) / 60_000) * 60_000);
    const to = new Date(Math.ceil(((published.at(-1)?.ts as number) + 1) / 60_000) * 60_000);
    const buckets = await reader.bucketed(meterPath, { from, to }, '1 minute');
    expect(buckets.reduce((sum, bucket) => sum + bucket.samples, 0)).toBe(published.length);
    expect(buckets[0]?.first).toBe(published[0]?.value);
    expect(buckets.at(-1)?.last).toBe(published.at(-1)?.value);
  });

  it('reads raw events by type, curated rows and KPI rows', async () => {
    const heats = events.filter((event) => event.payload.type === 'heat.finished');
    const finished = await all(reader.events({ type: 'heat.finished' }));
    expect(finished.map((event) => event.id).sort()).toEqual(heats.map((event) => event.payload.id).sort());
    const products = await reader.products();
    expect(products.map((product) => product.product)).toEqual(
      expect.arrayContaining(['heats', 'model_results', 'plates', 'quench_results']),
    );
    expect(products.find((product) => product.product === 'heats')).toMatchObject({
      tableName: 'curated.heats',
      key: ['heat_id'],
    });
    const rows = await all(reader.curated<{ heat_id: string }>('heats'));
    expect(rows.map((row) => row.heat_id).sort()).toEqual(heats.map((event) => event.payload.heatId).sort());
    const kpis = await reader.kpis();
    expect(kpis.map((kpi) => kpi.kpi)).toContain('tonnage_cast_per_shift');
    await waitFor('tonnage computed', async () => (await all(reader.kpiRows('tonnage_cast_per_shift'))).length > 0);
    const recent = await all(
      reader.kpiRows('tonnage_cast_per_shift', { from: new Date(Date.now() - 86_400_000), to: new Date() }),
    );
    expect(recent.length).toBeGreaterThan(0);
  });

  it('writes a model result once however often it is retried, and the curated ETL takes it', async () => {
    const model = await Plantmesh.connect(writerUrl);
    try {
      const result = { subject: 'H05-000001', quantity: 'liquidus_temperature', value: 1512.5, unit: 'CEL' };
      const first = await model.writeResult('soft-sensor', result);
      expect(first).toEqual({ id: expect.stringMatching(/^sha256:/), stored: true });
      expect(await model.writeResult('soft-sensor', result)).toEqual({ id: first.id, stored: false });
      await waitFor('the result curated', async () => (await all(model.curated('model_results'))).length === 1);
      expect(await all(model.curated('model_results'))).toEqual([
        expect.objectContaining({ model: 'soft-sensor', subject: 'H05-000001', value: 1512.5, unit: 'CEL' }),
      ]);
    } finally {
      await model.close();
    }
    expect((await failure(() => reader.writeResult('soft-sensor', { value: 1 }))).code).toBe('permission');
  });

  it('says what is wrong: unknown names, bad ranges, a refused connection or login, a cancelled or slow call', async () => {
    const unknown = await failure(() => all(reader.samples('plant1/nowhere/x', { from: new Date(0), to: new Date() })));
    expect(unknown).toMatchObject({ code: 'not-found', message: expect.stringContaining('api.find_series') });
    expect((await failure(() => all(reader.curated('coils')))).code).toBe('not-found');
    expect(
      (await failure(() => reader.bucketed(meterPath, { from: new Date(), to: new Date(0) }, '1 minute'))).message,
    ).toContain('reversed');
    expect(
      (await failure(() => reader.bucketed(meterPath, { from: new Date(0), to: new Date() }, '1 month'))).code,
    ).toBe('bad-argument');
    expect((await failure(() => all(reader.samples(meterPath, { from: 'yesterday', to: new Date() })))).code).toBe(
      'bad-argument',
    );

    const closed = new URL(readerUrl);
    closed.port = String(await freePort());
    expect((await failure(() => Plantmesh.connect(closed.toString()))).code).toBe('connection');
    const wrong = new URL(readerUrl);
    wrong.password = 'not-the-password';
    expect((await failure(() => Plantmesh.connect(wrong.toString()))).code).toBe('authentication');

    const aborted = new AbortController();
    const rows = reader.samples(
      meterPath,
      { from: new Date(0), to: new Date() },
      { batchSize: 1, signal: aborted.signal },
    );
    const cancelled = await failure(async () => {
      for await (const _row of rows) aborted.abort();
    });
    expect(cancelled.code).toBe('cancelled');
    // The pool is fine afterwards.
    expect(await reader.latest(meterPath)).toHaveLength(1);

    // A statement held up (here by a lock) ends at the statement timeout, or when its signal aborts: the
    // statement is cancelled on the server, not only given up by the client.
    const locker = new pg.Client(platform().postgres.url);
    await locker.connect();
    const slow = await Plantmesh.connect({ url: readerUrl, statementTimeoutMs: 300 });
    try {
      await locker.query('begin');
      await locker.query('lock table metrics.latest in access exclusive mode');
      expect((await failure(() => slow.latest(meterPath))).code).toBe('timeout');
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 300);
      expect((await failure(() => reader.latest(meterPath, { signal: stop.signal }))).code).toBe('cancelled');
      const waiting = await platform().query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and application_name = 'sdk-test'",
      );
      expect(waiting).toEqual([{ n: 0 }]);
    } finally {
      await locker.query('rollback');
      await locker.end();
      await slow.close();
    }
    expect(await reader.latest(meterPath)).toHaveLength(1);

    // A stream read slowly outlasts the statement timeout: it runs as long as it is read.
    const patient = await Plantmesh.connect({ url: readerUrl, statementTimeoutMs: 300 });
    try {
      let count = 0;
      for await (const _sample of patient.samples(meterPath, { from: new Date(0), to: new Date() }, { batchSize: 2 })) {
        count += 1;
        if (count <= 10) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(count).toBe(readings.filter((r) => r.topic === meterPath).length);
    } finally {
      await patient.close();
    }
  });

  it('passes every argument as a value: hostile names find nothing and change nothing', async () => {
    const hostile = ["'; drop table metrics.series; --", 'heats; drop table curated.heats', '" or 1=1 --', '%', '\\'];
    for (const name of hostile) {
      expect(await reader.findSeries(name)).toEqual([]);
      expect((await failure(() => all(reader.curated(name)))).code).toBe('not-found');
      expect((await failure(() => all(reader.samples(name, { from: new Date(0), to: new Date() })))).code).toBe(
        'not-found',
      );
    }
    expect(await platform().count('select count(*) as n from metrics.series')).toBeGreaterThan(0);
    expect(await platform().count('select count(*) as n from curated.heats')).toBeGreaterThan(0);
  });

  it('generates row types of the curated products and KPIs that TypeScript checks rows against', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plantmesh-rows-'));
    const file = join(dir, 'rows.ts');
    const generated = await platform().cli(['sdk', 'generate', '--out', file]);
    expect(generated.code, generated.output).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('export interface HeatsRow {');
    expect(text).toMatch(/ {2}heat_id: string;\n/);
    expect(text).toMatch(/ {2}finished_at: Date;\n/);
    expect(text).toContain('tonnage_cast_per_shift: TonnageCastPerShiftRow;');
    // A use that fits the types compiles; one that does not (numeric arrives as text) is an error.
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import type { CuratedRows, KpiRows } from './rows.js';",
        "export const id: string = ({} as CuratedRows['heats']).heat_id;",
        "export const at: Date = ({} as CuratedRows['heats']).finished_at;",
        "export const window: Date = ({} as KpiRows['tonnage_cast_per_shift']).window_start;",
        "export const weight: number = ({} as CuratedRows['heats']).cast_weight;",
      ].join('\n'),
    );
    const tsc = join(import.meta.dirname, '../../node_modules/.bin/tsc');
    const check = () =>
      execFileSync(tsc, ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', join(dir, 'use.ts')], {
        encoding: 'utf8',
      });
    let errors = '';
    try {
      check();
    } catch (error) {
      errors = String((error as { stdout?: string }).stdout);
    }
    expect(errors.split('\n').filter((line) => line.includes('error TS'))).toEqual([
      expect.stringMatching(/use\.ts\(5,14\): error TS2322: Type 'string \| null' is not assignable to type 'number'/),
    ]);
  });
});
