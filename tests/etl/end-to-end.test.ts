import type { PlantEvent } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import {
  approximately,
  expectedOee,
  expectedQuality,
  expectedTonnage,
  expectedYield,
  zone,
} from '../../packages/etl-business/test/expected.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

// The whole path, each part a real process with its own login: the simulated plant publishes over MQTT,
// the events reader and the writer store raw events, the curated ETL refines them, the business ETL
// computes the KPIs. The KPIs must equal a computation from the simulator's own record of what it sent.
describe('simulator -> ingestion -> curated -> business', () => {
  const platform = useIngestPlatform();

  it('ends with every KPI equal to an independent computation over what the plant published', async () => {
    await platform().startWriter();
    await platform().startEventsReader();
    await platform().startCuratedEtl();
    await platform().startBusinessEtl();
    const published: PlantEvent[] = [];
    const plant = platform().eventsPlant(3_000, 23, 600, (event) => published.push(event));
    expect((await plant.run()).events).toBe(3_000);

    const kpis = async () => ({
      tonnage: (
        await platform().query<{ key: string; heats: number; tonnage: number }>(
          `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') || ' ' || strand as key, heats,
             tonnage::float8 as tonnage from business.tonnage_cast_per_shift order by 1`,
        )
      ).map((row) => [row.key, row.heats, row.tonnage]),
      quality: await platform().query(
        `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift, produced, good, rework,
           quality_ratio::float8 as quality_ratio from business.quench_quality_per_shift order by window_start`,
      ),
      yield: (
        await platform().query<{ heat_id: string; yield: number }>(
          'select heat_id, yield::float8 as yield from business.heat_yield order by heat_id',
        )
      ).map((row) => [row.heat_id, row.yield]),
      oee: (
        await platform().query<{ shift: string; oee: number | null; availability: number | null }>(
          `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') as shift,
             availability::float8 as availability, oee::float8 as oee
           from business.iso22400_quench_line_per_shift order by window_start`,
        )
      ).map((row) => ({
        shift: row.shift,
        availability: row.availability,
        oee: row.oee,
      })),
    });
    const expected = {
      tonnage: expectedTonnage(published),
      quality: expectedQuality(published),
      yield: expectedYield(published),
      oee: expectedOee(published).map(({ shift, availability, oee }) => ({ shift, availability, oee })),
    };
    expect(expected.yield.length).toBeGreaterThan(50);
    const settled = async () => {
      try {
        expect(await kpis()).toEqual(approximately(expected));
        return true;
      } catch {
        return false;
      }
    };
    await waitFor('the KPIs of everything published', settled, 90_000).catch(() => {});
    expect(await kpis()).toEqual(approximately(expected));
  });
});
