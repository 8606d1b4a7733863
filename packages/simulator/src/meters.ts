import { Random } from './random.js';

/** An energy meter of a line: a cumulative counter in kWh, published on <site>/<area>/<line>/meter/energy. */
export interface EnergyMeter {
  topic: string;
  unit: 'KWH';
  /** Mean electric power drawn, kW. */
  powerKw: number;
  /** Period of the load's swing, seconds. */
  periodS: number;
}

// Mean electric load per line, kW: the arc furnace dominates, then the reheat furnace and the mill stands.
const loads: ReadonlyArray<readonly [string, number]> = [
  ['meltshop/eaf1', 55_000],
  ['meltshop/ladle-furnace1', 12_000],
  ['meltshop/degasser1', 3_000],
  ['caster/strand1', 1_500],
  ['caster/strand2', 1_500],
  ['plate-mill/reheat-furnace1', 4_000],
  ['plate-mill/roughing-stand', 9_000],
  ['plate-mill/finishing-stand', 8_000],
  ['heat-treatment/quench1', 2_500],
  ['heat-treatment/tempering-furnace1', 1_800],
];

/** The plant's energy meters, one per line, deterministic for a seed. */
export function buildMeters(seed: number, site = 'plant1'): EnergyMeter[] {
  const random = new Random(seed ^ 0xe4e7);
  return loads.map(([line, powerKw]) => ({
    topic: `${site}/${line}/meter/energy`,
    unit: 'KWH',
    powerKw: Math.round(powerKw * random.between(0.9, 1.1)),
    periodS: Math.round(random.between(300, 3_600)),
  }));
}

/**
 * The counter at a time: the integral of a load swinging ±30% around its mean, in kWh since the Unix
 * epoch, to the watt-hour. A pure function of time, so that readings anywhere are consistent.
 */
export function meterReading(meter: EnergyMeter, tsMs: number): number {
  const seconds = tsMs / 1000;
  const swing = ((0.3 * meter.periodS) / (2 * Math.PI)) * (1 - Math.cos((2 * Math.PI * seconds) / meter.periodS));
  return Math.round(((meter.powerKw * (seconds + swing)) / 3600) * 1000) / 1000;
}
