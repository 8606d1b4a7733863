import type { PlantEvent } from '@plantmesh/simulator';
import { expect } from 'vitest';
import {
  approximately,
  expectedOee,
  expectedQuality,
  expectedTonnage,
  expectedYield,
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
  };
}

/** What readKpis must give for these events. */
export function expectedKpis(events: PlantEvent[]) {
  return {
    tonnage: expectedTonnage(events),
    quality: expectedQuality(events),
    yield: expectedYield(events),
    oee: expectedOee(events).map(({ shift, availability, oee }) => ({ shift, availability, oee })),
  };
}

/** Whether the KPI tables equal what the events give (approximately), for a wait. */
export async function kpisMatch(query: Query, events: PlantEvent[]): Promise<boolean> {
  try {
    expect(await readKpis(query)).toEqual(approximately(expectedKpis(events)));
    return true;
  } catch {
    return false;
  }
}
