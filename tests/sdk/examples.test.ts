import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Plantmesh } from '@plantmesh/sdk';
import type { MeterReading, PlantEvent } from '@plantmesh/simulator';
import { startServiceProcess, waitFor } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const examples = join(import.meta.dirname, '../../examples');
const eafMeter = 'plant1/meltshop/eaf1/meter/energy';

/** What the soft sensor must find for a heat: its furnace meter's rise over the heat's span, as published. */
function expectedEnergy(heat: PlantEvent['payload'], readings: MeterReading[]): number | undefined {
  const finished = Date.parse(heat.occurredAt);
  const minutes = Math.max(1, Number(heat.durationMin ?? 60));
  const span = readings.filter(
    (r) => r.topic === eafMeter && r.ts >= finished - minutes * 60_000 && r.ts < finished + 1,
  );
  if (span.length === 0) return undefined;
  return Math.round(((span.at(-1) as MeterReading).value - (span[0] as MeterReading).value) * 1000) / 1000;
}

// The documented examples, run as a user runs them, against data that came the platform's way.
describe('examples (docs/sdk.md), end to end', () => {
  const platform = useIngestPlatform();

  it('the TypeScript soft sensor writes results that come back curated, and Python reads the same data', async () => {
    await platform().startWriter();
    await platform().startEventsReader();
    await platform().startSensorsReader();
    await platform().startCuratedEtl();
    const events: PlantEvent[] = [];
    const readings: MeterReading[] = [];
    await platform()
      .eventsPlant(
        1_500,
        8,
        250,
        (event) => events.push(event),
        (reading) => readings.push(reading),
      )
      .run();
    const heats = events.filter((event) => event.payload.type === 'heat.finished').map((event) => event.payload);
    await waitFor(
      'heats curated and readings stored',
      async () =>
        (await platform().count('select count(*) as n from curated.heats')) === heats.length &&
        (await platform().count('select count(*) as n from metrics.samples')) === readings.length,
      60_000,
    );

    // The soft sensor, as a process of its own with a results writer's login.
    const model = startServiceProcess({
      entry: join(examples, 'soft-sensor/soft-sensor.ts'),
      env: { PLANTMESH_URL: await platform().userUrl('soft_sensor', 'results-writer') },
      logFile: join(platform().postgres.dir, 'soft-sensor.log'),
    });
    expect(await model.waitExit(60_000), model.tail()).toBe(0);
    const expected = new Map(
      heats.flatMap((heat) => {
        const energy = expectedEnergy(heat, readings);
        return energy === undefined ? [] : [[heat.heatId as string, energy] as const];
      }),
    );
    expect(expected.size).toBeGreaterThan(2);
    expect(model.tail()).toContain(`"written":${expected.size}`);
    const readerUrl = await platform().userUrl('notebook', 'reader');
    const sdk = await Plantmesh.connect(readerUrl);
    try {
      const curated = async () => {
        const rows: Array<{ subject: string; value: number }> = [];
        for await (const row of sdk.curated<{ subject: string; value: number; model: string }>('model_results')) {
          if (row.model === 'eaf-energy-soft-sensor') rows.push(row);
        }
        return new Map(rows.map((row) => [row.subject, row.value]));
      };
      await waitFor('the results curated', async () => (await curated()).size === expected.size, 30_000);
      expect(await curated()).toEqual(expected);

      // The same series and heats from Python, with psycopg2 and plain SQL on the interface.
      const report = JSON.parse(
        execFileSync('/usr/bin/python3', [join(examples, 'python/samples_report.py'), 'plant1/+/+/meter/energy'], {
          env: { ...process.env, PLANTMESH_URL: readerUrl },
          encoding: 'utf8',
        }),
      ) as {
        from: string;
        to: string;
        series: Array<{ path: string; hours: Array<{ bucket: string; samples: number; last: number }> }>;
        heats: Array<{ heat_id: string }>;
      };
      const meters = await sdk.findSeries('plant1/+/+/meter/energy');
      expect(report.series.map((series) => series.path)).toEqual(meters.map((series) => series.path));
      const eaf = report.series.find((series) => series.path === eafMeter);
      const buckets = await sdk.bucketed(eafMeter, { from: report.from, to: report.to }, '1 hour');
      expect(eaf?.hours.map((h) => [Date.parse(h.bucket), h.samples, h.last])).toEqual(
        buckets.map((b) => [b.bucket.getTime(), b.samples, b.last]),
      );
      expect(eaf?.hours.reduce((sum, h) => sum + h.samples, 0)).toBe(
        readings.filter((r) => r.topic === eafMeter).length,
      );
      expect(report.heats.map((heat) => heat.heat_id)).toEqual(heats.map((heat) => heat.heatId as string).sort());
    } finally {
      await sdk.close();
    }
  });
});
