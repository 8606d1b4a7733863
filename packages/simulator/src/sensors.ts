import { Random } from './random.js';

/** One simulated sensor: its topic (site/area/line/cell/tag), UNECE unit and signal shape. */
export interface SensorSeries {
  topic: string;
  unit: string;
  base: number;
  amplitude: number;
  periodS: number;
  noise: number;
}

// Tags of a steel plant's lines, with UNECE Recommendation 20 unit codes and plausible ranges.
const tags = [
  { tag: 'temperature', unit: 'CEL', base: [20, 1550], amplitude: 0.02 },
  { tag: 'pressure', unit: 'BAR', base: [1, 250], amplitude: 0.05 },
  { tag: 'flow', unit: 'MQH', base: [5, 900], amplitude: 0.1 },
  { tag: 'speed', unit: 'MTS', base: [0.5, 12], amplitude: 0.05 },
  { tag: 'current', unit: 'AMP', base: [10, 4000], amplitude: 0.08 },
  { tag: 'vibration', unit: 'MMT', base: [0.1, 8], amplitude: 0.3 },
  { tag: 'level', unit: 'P1', base: [10, 95], amplitude: 0.1 },
  { tag: 'force', unit: 'KNT', base: [100, 40000], amplitude: 0.04 },
] as const;

const areas = {
  meltshop: ['eaf1', 'ladle-furnace1', 'degasser1'],
  caster: ['strand1', 'strand2'],
  'plate-mill': ['reheat-furnace1', 'roughing-stand', 'finishing-stand'],
  'heat-treatment': ['quench1', 'tempering-furnace1'],
} as const;

/** `count` distinct series, deterministic for a seed, spread over areas, lines and cells. */
export function buildSeries(count: number, seed: number, site = 'plant1'): SensorSeries[] {
  const random = new Random(seed);
  const lines = Object.entries(areas).flatMap(([area, lineNames]) => lineNames.map((line) => `${area}/${line}`));
  const series: SensorSeries[] = [];
  for (let i = 0; i < count; i += 1) {
    const line = lines[i % lines.length] as string;
    const tag = tags[Math.floor(i / lines.length) % tags.length] as (typeof tags)[number];
    const cell = `cell${Math.floor(i / (lines.length * tags.length)) + 1}`;
    const base = random.between(tag.base[0], tag.base[1]);
    series.push({
      topic: `${site}/${line}/${cell}/${tag.tag}`,
      unit: tag.unit,
      base,
      amplitude: base * tag.amplitude,
      periodS: random.between(30, 600),
      noise: base * 0.005,
    });
  }
  return series;
}

/** The value of a series at a time: a slow oscillation plus measurement noise. */
export function sampleValue(series: SensorSeries, tsMs: number, random: Random): number {
  const phase = ((tsMs / 1000) * 2 * Math.PI) / series.periodS;
  return (
    Math.round((series.base + series.amplitude * Math.sin(phase) + series.noise * random.gaussian()) * 1000) / 1000
  );
}
