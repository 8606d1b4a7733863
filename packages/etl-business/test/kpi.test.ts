import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, Postgres } from '@plantmesh/core';
import {
  applyDefinition,
  type CuratedStores,
  curateBatch,
  loadDefinition,
  ProductCache,
  shippedDefinitions,
} from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { buildMeters, EventGenerator, meterReading, type PlantEvent } from '@plantmesh/simulator';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyKpi,
  type BusinessStores,
  curatedRegistry,
  KpiCache,
  loadKpiDefinition,
  markSampleWindows,
  markWindows,
  recomputeWindows,
  shippedKpis,
} from '../src/index.js';
import {
  approximately,
  expectedEnergyPerTonne,
  expectedEnergyQuench,
  expectedOee,
  expectedQuality,
  expectedTonnage,
  expectedYield,
  type Reading,
  shiftStart,
  zone,
} from './expected.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const start = Date.parse('2026-11-29T20:00:00Z');
/** The hour (from start) whose meter readings arrive late, in the night shift. */
const outageHour = 6;

describe('KPIs per window from curated data (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let curated: CuratedStores;
  let business: BusinessStores;
  const events: PlantEvent[] = [];
  const readings: Reading[] = [];
  const products = new ProductCache();
  let kpis: KpiCache;

  const storeRaw = async (batch: PlantEvent[]) => {
    await admin.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select e -> 'payload' ->> 'id', 'string', e ->> 'topic', 'events', now(), e -> 'payload'
       from jsonb_array_elements($1::jsonb) as e`,
      [JSON.stringify(batch)],
    );
  };

  /** Meter readings stored as the writer stores samples: series, samples, and the write in the change log. */
  const storeReadings = async (batch: Reading[]) => {
    await admin.query(
      `insert into metrics.series (path, unit) select distinct topic, 'KWH' from unnest($1::text[]) as t(topic)
       on conflict (path) do nothing`,
      [batch.map((r) => r.topic)],
    );
    await admin.query(
      `with samples as (
         insert into metrics.samples (ts, series_id, value)
         select r.ts, s.id, r.value
         from unnest($1::text[], $2::timestamptz[], $3::float8[]) as r(topic, ts, value)
         join metrics.series s on s.path = r.topic
       )
       insert into metrics.sample_changes (ts_from, ts_to, samples)
       select min(ts), max(ts), count(*) from unnest($2::timestamptz[]) as ts`,
      [batch.map((r) => r.topic), batch.map((r) => new Date(r.ts).toISOString()), batch.map((r) => r.value)],
    );
    readings.push(...batch);
  };

  /** Runs the curated ETL, then the business ETL, until neither has anything left to do. */
  const settle = async () => {
    for (const name of ['heats', 'slabs', 'plates', 'quench_results', 'machine_states']) {
      while ((await curateBatch(curated, products, name, 500)).more);
    }
    const names = (await admin.query<{ kpi: string }>('select kpi from business.kpi_definitions')).rows;
    for (const { kpi } of names) {
      while ((await markWindows(business, kpis, kpi, 20)).more);
      while ((await markSampleWindows(business, kpis, kpi, 20)).more);
      while ((await recomputeWindows(business, kpis, kpi, 100)).more);
    }
  };

  const computedAt = async (table: string, identity: string) =>
    new Map(
      (
        await admin.query<{ identity: string; computed: Date }>(
          `select ${identity} as identity, _computed_at as computed from business.${table}`,
        )
      ).rows.map((row) => [row.identity, row.computed.getTime()]),
    );

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    const connect = async () => {
      const postgres = new Postgres({ url: server.url, log, applicationName: 'test' });
      await postgres.start();
      return postgres;
    };
    curated = { raw: await connect(), curated: await connect() };
    business = { curated: curated.curated, business: await connect(), metrics: curated.curated };
    kpis = new KpiCache(curated.curated.pool);
    const client = await admin.connect();
    try {
      for (const file of readdirSync(shippedDefinitions)) {
        await applyDefinition(client, loadDefinition(join(shippedDefinitions, file)));
      }
      const registry = await curatedRegistry(client);
      for (const file of readdirSync(shippedKpis)) {
        const definition = loadKpiDefinition(join(shippedKpis, file));
        const entity = definition.window.entity ? registry.get(definition.window.entity)?.key[0] : undefined;
        await applyKpi(client, definition, entity);
      }
    } finally {
      client.release();
    }
    // A day of the simulated plant, an event a minute, from 21:00 local time.
    const generator = new EventGenerator(42);
    for (let minute = 0; minute < 1_440; minute += 1) events.push(generator.next(start + minute * 60_000));
    await storeRaw(events);
    // Every line's meter each minute, an hour at a time, but for an hour the meters' link was down.
    const meters = buildMeters(42);
    for (let hour = 0; hour < 24; hour += 1) {
      if (hour === outageHour) continue;
      const minutes = Array.from({ length: 60 }, (_, minute) => start + (hour * 60 + minute) * 60_000);
      await storeReadings(
        minutes.flatMap((ts) => meters.map((meter) => ({ topic: meter.topic, ts, value: meterReading(meter, ts) }))),
      );
    }
    await settle();
  });

  afterAll(async () => {
    await curated?.raw.close();
    await curated?.curated.close();
    await business?.business.close();
    await admin?.end();
    await server?.destroy();
  });

  const quality = async () =>
    (
      await admin.query(
        `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift, produced, good, rework,
           quality_ratio::float8 as quality_ratio
         from business.quench_quality_per_shift order by window_start`,
      )
    ).rows;

  it('computes tonnage cast per strand and shift as the events add up', async () => {
    const { rows } = await admin.query(
      `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') || ' ' || strand as key, shift, heats,
         tonnage::float8 as tonnage
       from business.tonnage_cast_per_shift order by 1`,
    );
    expect(rows.length).toBeGreaterThan(2);
    expect(rows.map((row) => [row.key, row.heats, row.tonnage])).toEqual(approximately(expectedTonnage(events)));
    expect(new Set(rows.map((row) => row.shift))).toEqual(new Set(['early', 'late', 'night']));
  });

  it('computes the quality ratio per shift and the yield per heat', async () => {
    expect((await quality()).length).toBeGreaterThan(2);
    expect(await quality()).toEqual(approximately(expectedQuality(events)));
    const { rows } = await admin.query(
      'select heat_id, yield::float8 as yield from business.heat_yield order by heat_id',
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.some((row) => row.yield > 0.3)).toBe(true);
    expect(rows.map((row) => [row.heat_id, row.yield])).toEqual(approximately(expectedYield(events)));
  });

  it('computes the ISO 22400 KPIs of the quench line per shift, OEE and its factors', async () => {
    const { rows } = await admin.query(
      `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift, apt::float8 as apt, pq, fe,
         availability::float8 as availability, effectiveness::float8 as effectiveness,
         quality_ratio::float8 as quality_ratio, oee::float8 as oee,
         technical_efficiency::float8 as technical_efficiency, first_pass_yield::float8 as first_pass_yield,
         mttr::float8 as mttr
       from business.iso22400_quench_line_per_shift order by window_start`,
    );
    expect(rows.length).toBeGreaterThan(2);
    expect(
      rows.map((row) => ({
        shift: row.shift,
        apt: row.apt,
        pq: row.pq,
        fe: row.fe,
        availability: row.availability,
        effectiveness: row.effectiveness,
        quality_ratio: row.quality_ratio,
        oee: row.oee,
        technical_efficiency: row.technical_efficiency,
        first_pass_yield: row.first_pass_yield,
        mttr: row.mttr,
      })),
    ).toEqual(approximately(expectedOee(events)));
    expect(rows.some((row) => row.oee > 0.1 && row.oee < 1)).toBe(true);
    // Plates reworked and then good count as good, not as first pass.
    expect(rows.some((row) => row.first_pass_yield < row.quality_ratio)).toBe(true);
  });

  const energyPerTonne = async () =>
    (
      await admin.query(
        `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift, energy, meters,
           tonnes::float8 as tonnes, energy_per_tonne::float8 as energy_per_tonne
         from business.energy_per_tonne_per_shift order by window_start`,
      )
    ).rows;
  const energyQuench = async () =>
    (
      await admin.query(
        `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift, ec, pq,
           comprehensive_energy_consumption::float8 as comprehensive_energy_consumption
         from business.iso22400_energy_quench_line_per_shift order by window_start`,
      )
    ).rows;

  it('computes energy per tonne and the comprehensive energy consumption per shift from the meters', async () => {
    expect((await energyPerTonne()).length).toBeGreaterThan(2);
    expect(await energyPerTonne()).toEqual(approximately(expectedEnergyPerTonne(events, readings)));
    expect((await energyPerTonne()).every((row) => row.meters === 10)).toBe(true);
    expect(await energyQuench()).toEqual(approximately(expectedEnergyQuench(events, readings)));
    expect((await energyQuench()).some((row) => row.comprehensive_energy_consumption > 0)).toBe(true);
  });

  it('recomputes the shift whose meter readings came late, and no other window', async () => {
    const before = {
      energy: await computedAt('energy_per_tonne_per_shift', 'window_start::text'),
      quench: await computedAt('iso22400_energy_quench_line_per_shift', 'window_start::text'),
      tonnage: await computedAt('tonnage_cast_per_shift', 'window_start::text || strand'),
    };
    const meters = buildMeters(42);
    const late = Array.from({ length: 60 }, (_, minute) => start + (outageHour * 60 + minute) * 60_000);
    await storeReadings(
      late.flatMap((ts) => meters.map((meter) => ({ topic: meter.topic, ts, value: meterReading(meter, ts) }))),
    );
    await settle();
    const changed = async (table: string, held: Map<string, number>) => {
      const now = await computedAt(table, 'window_start::text');
      return [...now.keys()].filter((key) => held.get(key) !== now.get(key)).map((key) => shiftStart(Date.parse(key)));
    };
    const outageShift = shiftStart(late[0] as number);
    expect(await changed('energy_per_tonne_per_shift', before.energy)).toEqual([outageShift]);
    expect(await changed('iso22400_energy_quench_line_per_shift', before.quench)).toEqual([outageShift]);
    expect(await computedAt('tonnage_cast_per_shift', 'window_start::text || strand')).toEqual(before.tonnage);
    expect(await energyPerTonne()).toEqual(approximately(expectedEnergyPerTonne(events, readings)));
    expect(await energyQuench()).toEqual(approximately(expectedEnergyQuench(events, readings)));
  });

  it('recomputes exactly the windows a late correction touched, where the row was and where it is', async () => {
    const before = {
      quality: await computedAt('quench_quality_per_shift', 'window_start::text'),
      yield: await computedAt('heat_yield', 'heat_id'),
      tonnage: await computedAt('tonnage_cast_per_shift', 'window_start::text || strand'),
    };
    // Hours later, the lab corrects a plate quenched in the first night shift: it was quenched at 06:10,
    // in the early shift, and its hardness is out of range.
    // A plate good at its first quench (one quenched again would have a later result that wins).
    const original = events.find(
      (event) =>
        event.payload.type === 'quench.result' &&
        event.payload.result === 'ok' &&
        shiftStart(Date.parse(event.payload.occurredAt)).endsWith('22:00'),
    ) as PlantEvent;
    const corrected: PlantEvent = {
      topic: original.topic,
      payload: {
        ...original.payload,
        id: 'lab-correction-1',
        result: original.payload.result === 'ok' ? 'rework' : 'ok',
        occurredAt: new Date(Date.parse('2026-11-30T05:10:00Z')).toISOString(),
      },
    };
    await storeRaw([corrected]);
    await settle();

    const after = {
      quality: await computedAt('quench_quality_per_shift', 'window_start::text'),
      yield: await computedAt('heat_yield', 'heat_id'),
      tonnage: await computedAt('tonnage_cast_per_shift', 'window_start::text || strand'),
    };
    const changed = (a: Map<string, number>, b: Map<string, number>) =>
      [...b.keys()].filter((key) => a.get(key) !== b.get(key)).sort();
    const oldShift = shiftStart(Date.parse(original.payload.occurredAt));
    const newShift = shiftStart(Date.parse(corrected.payload.occurredAt));
    expect(oldShift).not.toBe(newShift);
    const recomputedShifts = (
      await admin.query(
        `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift
         from business.quench_quality_per_shift where window_start::text = any($1) order by 1`,
        [changed(before.quality, after.quality)],
      )
    ).rows.map((row) => row.shift);
    expect(recomputedShifts).toEqual([oldShift, newShift].sort());
    expect(changed(before.yield, after.yield)).toEqual([original.payload.heatId]);
    expect(changed(before.tonnage, after.tonnage)).toEqual([]);
    expect(await quality()).toEqual(approximately(expectedQuality([...events, corrected])));
    const { rows } = await admin.query(
      'select heat_id, yield::float8 as yield from business.heat_yield order by heat_id',
    );
    expect(rows.map((row) => [row.heat_id, row.yield])).toEqual(approximately(expectedYield([...events, corrected])));
  });
});
