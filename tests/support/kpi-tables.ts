import type { PlantEvent } from '@plantmesh/simulator';
import { expect } from 'vitest';
import {
  approximately,
  expectedEnergyPerTonne,
  expectedEnergyQuench,
  expectedOee,
  expectedQuality,
  expectedTonnage,
  expectedYield,
  type Reading,
  zone,
} from '../../packages/etl-business/test/expected.js';

type Query = <R extends Record<string, unknown>>(sql: string) => Promise<R[]>;
const shiftStart = `to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI')`;

/** The shipped KPI tables as the independent computations of expected.ts give them. */
export async function readKpis(query: Query) {
  return {
    tonnage: (
      await query<{ key: string; heats: number; tonnage: number }>(
        `select ${shiftStart} || ' ' || strand as key, heats, tonnage::float8 as tonnage
         from business.tonnage_cast_per_shift order by 1`,
      )
    ).map((row) => [row.key, row.heats, row.tonnage]),
    quality: await query(
      `select ${shiftStart} as shift, produced, good, rework, quality_ratio::float8 as quality_ratio
       from business.quench_quality_per_shift order by window_start`,
    ),
    yield: (
      await query<{ heat_id: string; yield: number }>(
        'select heat_id, yield::float8 as yield from business.heat_yield order by heat_id',
      )
    ).map((row) => [row.heat_id, row.yield]),
    oee: await query(
      `select ${shiftStart} as shift, availability::float8 as availability, oee::float8 as oee
       from business.iso22400_quench_line_per_shift order by window_start`,
    ),
    energy: await query(
      `select ${shiftStart} as shift, energy, meters, tonnes::float8 as tonnes,
         energy_per_tonne::float8 as energy_per_tonne
       from business.energy_per_tonne_per_shift order by window_start`,
    ),
    energyQuench: await query(
      `select ${shiftStart} as shift, ec, pq,
         comprehensive_energy_consumption::float8 as comprehensive_energy_consumption
       from business.iso22400_energy_quench_line_per_shift order by window_start`,
    ),
  };
}

/** What readKpis must give for these events and meter readings. */
export function expectedKpis(events: PlantEvent[], readings: Reading[] = []) {
  return {
    tonnage: expectedTonnage(events),
    quality: expectedQuality(events),
    yield: expectedYield(events),
    oee: expectedOee(events).map(({ shift, availability, oee }) => ({ shift, availability, oee })),
    energy: expectedEnergyPerTonne(events, readings),
    energyQuench: expectedEnergyQuench(events, readings),
  };
}

/** Whether the KPI tables equal what the events and readings give (approximately), for a wait. */
export async function kpisMatch(query: Query, events: PlantEvent[], readings: Reading[] = []): Promise<boolean> {
  try {
    expect(await readKpis(query)).toEqual(approximately(expectedKpis(events, readings)));
    return true;
  } catch {
    return false;
  }
}
