import type { PlantEvent } from '@plantmesh/simulator';
import { expect } from 'vitest';

/**
 * The shipped KPIs computed independently of the ETL: in TypeScript, from the simulator's own record of
 * the events it published (never from the same SQL).
 */

export const zone = 'Europe/Berlin';

/** The plant's local date and time of an instant, as 'YYYY-MM-DD HH:MI'. */
const localFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: zone,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

export function local(time: number): string {
  const parts = Object.fromEntries(localFormat.formatToParts(time).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The local start of the shift an instant is in (early 06:00, late 14:00, night 22:00 to 06:00). */
export function shiftStart(time: number): string {
  const [date, clock] = local(time).split(' ') as [string, string];
  if (clock < '06:00') return `${local(time - 12 * 3_600_000).split(' ')[0]} 22:00`;
  return `${date} ${clock < '14:00' ? '06:00' : clock < '22:00' ? '14:00' : '22:00'}`;
}

/** The bounds of the shift an instant is in, as instants: the minute boundaries around it searched. */
export function shiftBounds(time: number): { start: number; end: number } {
  const key = shiftStart(time);
  let start = time - (time % 60_000);
  while (shiftStart(start - 60_000) === key) start -= 60_000;
  let end = time - (time % 60_000) + 60_000;
  while (shiftStart(end) === key) end += 60_000;
  return { start, end };
}

/**
 * `value` with every number as "close to it" (|difference| < 0.0005): the database rounds its KPIs to a
 * few decimals and sums exact decimals, the computation here sums floats.
 */
export function approximately<T>(value: T): T {
  if (typeof value === 'number') return expect.closeTo(value, 3) as T;
  if (Array.isArray(value)) return value.map(approximately) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, approximately(item)])) as T;
  }
  return value;
}

/** Quench results per shift as the events say: produced, good, rework (the latest result per plate). */
export function expectedQuality(all: PlantEvent[]) {
  const latest = new Map<string, PlantEvent['payload']>();
  for (const { payload } of all.filter((event) => event.payload.type === 'quench.result')) {
    const held = latest.get(payload.plateId as string);
    if (!held || held.occurredAt <= payload.occurredAt) latest.set(payload.plateId as string, payload);
  }
  const shifts = new Map<string, { produced: number; good: number; rework: number }>();
  for (const payload of latest.values()) {
    const shift = shiftStart(Date.parse(payload.occurredAt));
    const counts = shifts.get(shift) ?? { produced: 0, good: 0, rework: 0 };
    counts.produced += 1;
    if (payload.result === 'ok') counts.good += 1;
    if (payload.result === 'rework') counts.rework += 1;
    shifts.set(shift, counts);
  }
  return [...shifts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([shift, counts]) => ({ shift, ...counts, quality_ratio: counts.good / counts.produced }));
}

/** Heats and tonnes cast per shift and strand, keyed 'YYYY-MM-DD HH:MI strand' (the shift's local start). */
export function expectedTonnage(all: PlantEvent[]): Array<[string, number, number]> {
  const sums = new Map<string, { heats: number; tonnage: number }>();
  for (const { topic, payload } of all.filter((event) => event.payload.type === 'heat.finished')) {
    const key = `${shiftStart(Date.parse(payload.occurredAt))} ${topic.split('/')[2]}`;
    const sum = sums.get(key) ?? { heats: 0, tonnage: 0 };
    sum.heats += 1;
    sum.tonnage += payload.castWeight_t as number;
    sums.set(key, sum);
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, sum]) => [key, sum.heats, sum.tonnage]);
}

/**
 * Yield per heat, to 4 digits: good plate tonnes (thickness x width x length x 7.85 t/m3 of each plate
 * whose latest quench result is ok) over the steel cast.
 */
export function expectedYield(all: PlantEvent[]): Array<[string, number]> {
  const plates = all.filter((event) => event.payload.type === 'plate.ready_for_quenching').map((e) => e.payload);
  const results = new Map<string, PlantEvent['payload']>();
  for (const { payload } of all.filter((event) => event.payload.type === 'quench.result')) {
    const held = results.get(payload.plateId as string);
    if (!held || held.occurredAt <= payload.occurredAt) results.set(payload.plateId as string, payload);
  }
  const tonnes = (plate: PlantEvent['payload']) =>
    ((plate.thickness_mm as number) / 1000) *
    ((plate.width_mm as number) / 1000) *
    ((plate.length_mm as number) / 1000) *
    7.85;
  return all
    .filter((event) => event.payload.type === 'heat.finished')
    .map(({ payload: heat }) => {
      const good = plates
        .filter((plate) => plate.heatId === heat.heatId && results.get(plate.plateId as string)?.result === 'ok')
        .reduce((sum, plate) => sum + tonnes(plate), 0);
      return [heat.heatId as string, good / (heat.castWeight_t as number)] as [string, number];
    })
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * The quench line's ISO 22400 elements and OEE per shift (keyed by the shift's local start): machine
 * state spans clipped to the shift, quench results (the latest per plate) counted in it.
 */
export function expectedOee(all: PlantEvent[]): Array<Record<string, number | string | null>> {
  const shifts = new Map<string, { start: number; end: number }>();
  const shiftOf = (time: number) => {
    const key = shiftStart(time);
    if (!shifts.has(key)) shifts.set(key, shiftBounds(time));
    return key;
  };
  const rows = new Map<
    string,
    {
      pbt: number;
      apt: number;
      aust: number;
      adet: number;
      fe: number;
      pq: number;
      gq: number;
      rq: number;
      firstPassGood: number;
    }
  >();
  const row = (key: string) => {
    const bounds = shifts.get(key) as { start: number; end: number };
    const held = rows.get(key) ?? {
      pbt: (bounds.end - bounds.start) / 1000,
      apt: 0,
      aust: 0,
      adet: 0,
      fe: 0,
      pq: 0,
      gq: 0,
      rq: 0,
      firstPassGood: 0,
    };
    rows.set(key, held);
    return held;
  };
  for (const { payload } of all.filter((event) => event.payload.type === 'machine.state')) {
    const [from, to] = [Date.parse(payload.startedAt as string), Date.parse(payload.endedAt as string)];
    for (let at = from; at < to; ) {
      const key = shiftOf(at);
      const bounds = shifts.get(key) as { start: number; end: number };
      const seconds = (Math.min(to, bounds.end) - at) / 1000;
      const sums = row(key);
      if (payload.state === 'running') sums.apt += seconds;
      if (payload.state === 'setup') sums.aust += seconds;
      if (payload.state === 'down') sums.adet += seconds;
      if (payload.state === 'planned_stop') sums.pbt -= seconds;
      if (payload.state === 'down' && at === from) sums.fe += 1;
      at = Math.min(to, bounds.end);
    }
  }
  const latest = new Map<string, PlantEvent['payload']>();
  for (const { payload } of all.filter((event) => event.payload.type === 'quench.result')) {
    const held = latest.get(payload.plateId as string);
    if (!held || held.occurredAt <= payload.occurredAt) latest.set(payload.plateId as string, payload);
  }
  for (const payload of latest.values()) {
    const sums = row(shiftOf(Date.parse(payload.occurredAt)));
    sums.pq += 1;
    if (payload.result === 'ok') sums.gq += 1;
    if (payload.result === 'rework') sums.rq += 1;
    if (payload.result === 'ok' && payload.pass === 1) sums.firstPassGood += 1;
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([shift, e]) => ({
      shift,
      apt: e.apt,
      pq: e.pq,
      fe: e.fe,
      availability: e.apt / e.pbt,
      effectiveness: e.apt > 0 ? (90 * e.pq) / e.apt : null,
      quality_ratio: e.pq > 0 ? e.gq / e.pq : null,
      oee: e.apt > 0 && e.pq > 0 ? (e.apt / e.pbt) * ((90 * e.pq) / e.apt) * (e.gq / e.pq) : null,
      technical_efficiency: e.apt + e.adet > 0 ? e.apt / (e.apt + e.adet) : null,
      first_pass_yield: e.pq > 0 ? e.firstPassGood / e.pq : null,
      mttr: e.fe > 0 ? e.adet / 60 / e.fe : null,
    }));
}

/** A meter reading as the simulator published it. */
export interface Reading {
  topic: string;
  ts: number;
  value: number;
}

/**
 * Per shift, how much the meters whose topic passes `metered` counted: for each meter with a reading in
 * the shift, its last reading there minus its last reading in the hour before the shift (else its first
 * reading in the shift); summed over the meters.
 */
function energyPerShift(readings: Reading[], metered: (topic: string) => boolean) {
  const byMeter = new Map<string, Reading[]>();
  for (const reading of readings.filter((r) => metered(r.topic))) {
    byMeter.set(reading.topic, [...(byMeter.get(reading.topic) ?? []), reading]);
  }
  const shifts = new Map<string, { kwh: number; meters: number }>();
  for (const meterReadings of byMeter.values()) {
    const sorted = [...meterReadings].sort((a, b) => a.ts - b.ts);
    for (const key of new Set(sorted.map((reading) => shiftStart(reading.ts)))) {
      const inShift = sorted.filter((reading) => shiftStart(reading.ts) === key);
      const { start } = shiftBounds((inShift[0] as Reading).ts);
      const before = sorted.filter((reading) => reading.ts < start && reading.ts >= start - 3_600_000).at(-1);
      const increase = (inShift.at(-1) as Reading).value - (before ?? (inShift[0] as Reading)).value;
      const sum = shifts.get(key) ?? { kwh: 0, meters: 0 };
      sum.kwh += increase;
      sum.meters += 1;
      shifts.set(key, sum);
    }
  }
  return shifts;
}

const sortedByShift = <T extends { shift: string }>(rows: T[]) => rows.sort((a, b) => (a.shift < b.shift ? -1 : 1));

/** The plant's electric energy per tonne cast, per shift: every line's meter over the heats finished. */
export function expectedEnergyPerTonne(all: PlantEvent[], readings: Reading[]) {
  const energy = energyPerShift(readings, (topic) => /^[^/]+\/[^/]+\/[^/]+\/meter\/energy$/.test(topic));
  const tonnes = new Map<string, number>();
  for (const { payload } of all.filter((event) => event.payload.type === 'heat.finished')) {
    const key = shiftStart(Date.parse(payload.occurredAt));
    tonnes.set(key, (tonnes.get(key) ?? 0) + (payload.castWeight_t as number));
  }
  return sortedByShift(
    [...new Set([...energy.keys(), ...tonnes.keys()])].map((shift) => {
      const kwh = energy.get(shift)?.kwh ?? null;
      const cast = tonnes.get(shift) ?? null;
      return {
        shift,
        energy: kwh,
        meters: energy.get(shift)?.meters ?? 0,
        tonnes: cast,
        energy_per_tonne: kwh !== null && cast ? kwh / cast : null,
      };
    }),
  );
}

/** ISO 22400 comprehensive energy consumption of the quench line per shift: its meter over plates quenched. */
export function expectedEnergyQuench(all: PlantEvent[], readings: Reading[]) {
  const energy = energyPerShift(readings, (topic) => /^[^/]+\/heat-treatment\/quench1\/meter\/energy$/.test(topic));
  const produced = new Map(expectedQuality(all).map((row) => [row.shift, row.produced]));
  return sortedByShift(
    [...new Set([...energy.keys(), ...produced.keys()])].map((shift) => {
      const ec = energy.get(shift)?.kwh ?? null;
      const pq = produced.get(shift) ?? 0;
      return { shift, ec, pq, comprehensive_energy_consumption: ec !== null && pq > 0 ? ec / pq : null };
    }),
  );
}
