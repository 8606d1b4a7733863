import { Random } from './random.js';

/** An MES / Level-2 event: a JSON document with its own id, published on <site>/<area>/<line>/events/<type>. */
export interface PlantEvent {
  topic: string;
  payload: Record<string, unknown> & { id: string; type: string; occurredAt: string };
}

/** The states of a production unit, as ISO 22400-2 counts its time: producing, waiting, changing over, failed, stopped as planned. */
export type MachineState = 'running' | 'idle' | 'setup' | 'down' | 'planned_stop';

/** Ladle analysis: element, range in mass % (ppm for N and H), digits reported. */
const chemistryRanges: ReadonlyArray<readonly [string, number, number, number]> = [
  ['C', 0.05, 0.22, 3],
  ['Si', 0.1, 0.5, 3],
  ['Mn', 0.8, 1.65, 3],
  ['P', 0.005, 0.025, 4],
  ['S', 0.001, 0.012, 4],
  ['Cr', 0.01, 0.8, 3],
  ['Ni', 0.01, 0.6, 3],
  ['Mo', 0, 0.5, 3],
  ['V', 0, 0.08, 4],
  ['Nb', 0, 0.05, 4],
  ['Ti', 0, 0.03, 4],
  ['Al', 0.02, 0.05, 4],
  ['N_ppm', 30, 90, 0],
  ['H_ppm', 0.8, 2.5, 2],
];

const grades = ['S355J2', 'S460M', 'S690QL', 'HARDOX450', 'X70M', 'P355NL1'] as const;

/**
 * The life of plates through a steel plant: a heat starts and finishes at the caster, the strand is
 * cut into slabs, slabs are rolled into plates that wait for quenching, and each quench reports a
 * result. Each call gives the next event of that flow; ids are unique and stable for a seed.
 */
export class EventGenerator {
  private readonly random: Random;
  private sequence = 0;
  private heat = 0;
  /** What comes next, each step giving its events when its time comes (several at once, or none). */
  private pending: Array<(now: number) => PlantEvent[]> = [];
  private ready: PlantEvent[] = [];
  /** The quench line's state, since when, and the grade it last ran (a new grade needs a setup). */
  private quench = { state: 'idle' as MachineState, since: Number.NaN, grade: '' };

  constructor(
    private readonly seed: number,
    private readonly site = 'plant1',
  ) {
    this.random = new Random(seed ^ 0x5eed);
  }

  next(now = Date.now()): PlantEvent {
    while (this.ready.length === 0) {
      if (this.pending.length === 0) this.planHeat();
      this.ready.push(...(this.pending.shift() as (now: number) => PlantEvent[])(now));
    }
    return this.ready.shift() as PlantEvent;
  }

  /**
   * The quench line goes into `state` now: the state it leaves is reported as one machine.state event
   * with its start and end (ISO 22400's time elements come from these spans). None for an empty span.
   */
  private quenchState(state: MachineState, now: number): PlantEvent[] {
    const { state: left, since } = this.quench;
    this.quench.state = state;
    this.quench.since = now;
    if (left === state || !(now > since)) return [];
    return [
      this.event(
        'heat-treatment',
        'quench1',
        'machine.state',
        {
          machine: 'quench1',
          state: left,
          startedAt: new Date(since).toISOString(),
          endedAt: new Date(now).toISOString(),
          duration_s: (now - since) / 1000,
        },
        now,
      ),
    ];
  }

  private event(area: string, line: string, type: string, fields: Record<string, unknown>, now: number): PlantEvent {
    this.sequence += 1;
    return {
      topic: `${this.site}/${area}/${line}/events/${type}`,
      payload: {
        id: `${this.site}-${this.seed}-${String(this.sequence).padStart(9, '0')}`,
        type,
        occurredAt: new Date(now).toISOString(),
        site: this.site,
        area,
        line,
        recordedBy: { system: `L2-${area}`, version: '4.2.1', host: `l2-${area}-${line}` },
        ...fields,
      },
    };
  }

  private planHeat(): void {
    const r = this.random;
    this.heat += 1;
    const heatId = `H${String(this.seed % 100).padStart(2, '0')}-${String(this.heat).padStart(6, '0')}`;
    const grade = r.pick(grades);
    const strand = r.pick(['strand1', 'strand2']);
    const chemistry = Object.fromEntries(
      chemistryRanges.map(([element, min, max, digits]) => [element, round(r.between(min, max), digits)]),
    );
    const ladleWeightT = round(r.between(150, 180), 1);
    // The production order the heat serves travels with each of its events, as Level-2 systems send it.
    const order = {
      orderId: `PO-${2026}-${String(r.int(1, 99_999)).padStart(5, '0')}`,
      customer: `C${String(r.int(1, 400)).padStart(4, '0')}`,
      specification: r.pick(['EN 10025-2', 'EN 10025-4', 'EN 10025-6', 'EN 10028-3', 'API 5L']),
      deliveryWeek: `2026-W${String(r.int(1, 52)).padStart(2, '0')}`,
      route: ['caster', 'reheat-furnace', 'roughing-stand', 'finishing-stand', 'quench', 'tempering', 'inspection'],
    };
    this.pending.push((now) => [
      this.event(
        'caster',
        strand,
        'heat.started',
        {
          order,
          heatId,
          grade,
          ladleId: `L${r.int(1, 12)}`,
          ladleWeight_t: ladleWeightT,
          tundishTemperature_C: round(r.between(1525, 1560), 1),
          castingSpeed_m_min: round(r.between(0.9, 1.6), 2),
          chemistry,
          operator: { shift: r.pick(['A', 'B', 'C', 'D']), crew: r.int(1, 6) },
        },
        now,
      ),
    ]);
    const slabs = r.int(4, 8);
    const slabIds: string[] = [];
    for (let s = 1; s <= slabs; s += 1) {
      const slabId = `${heatId}-S${s}`;
      slabIds.push(slabId);
      this.pending.push((now) => [
        this.event(
          'caster',
          strand,
          'slab.cut',
          {
            order,
            heatId,
            slabId,
            grade,
            length_mm: r.int(6000, 12000),
            width_mm: r.pick([1600, 1800, 2000, 2200, 2500]),
            thickness_mm: r.pick([150, 200, 250, 300]),
            weight_t: round(r.between(18, 32), 2),
            surfaceTemperature_C: round(r.between(750, 950), 1),
            widthTemperatureProfile_C: series(r, 12, 760, 940, 1),
            torch: {
              id: `T${r.int(1, 4)}`,
              oxygenFlow_m3_h: round(r.between(40, 90), 1),
              cutDuration_s: round(r.between(60, 180), 1),
            },
            defects:
              r.next() < 0.05
                ? [{ kind: r.pick(['crack', 'inclusion', 'oscillation-mark']), position_mm: r.int(0, 6000) }]
                : [],
          },
          now,
        ),
      ]);
    }
    this.pending.push((now) => [
      this.event(
        'caster',
        strand,
        'heat.finished',
        {
          order,
          heatId,
          grade,
          slabs: slabIds.length,
          slabIds,
          castWeight_t: round(ladleWeightT * r.between(0.95, 0.99), 1),
          durationMin: round(r.between(45, 70), 1),
          yield_pct: round(r.between(95, 99), 2),
          additions: ['FeMn', 'FeSi', 'Al-wire', 'CaSi', 'FeNb', 'FeV', 'FeMo', 'lime'].map((material) => ({
            material,
            mass_kg: round(r.between(5, 1200), 1),
            addedAtMin: round(r.between(0, 40), 1),
          })),
        },
        now,
      ),
    ]);
    for (const slabId of slabIds) {
      const plateId = `${slabId}-P1`;
      const thickness = r.pick([8, 10, 12, 15, 20, 25, 30, 40, 50]);
      this.pending.push((now) => [
        // The line starts on this plate: after a setup if the grade changed since it last ran.
        ...(this.quench.state === 'running' || this.quench.state === 'setup'
          ? []
          : this.quenchState(this.quench.grade && this.quench.grade !== grade ? 'setup' : 'running', now)),
        this.event(
          'heat-treatment',
          'quench1',
          'plate.ready_for_quenching',
          {
            order,
            plateId,
            slabId,
            heatId,
            grade,
            thickness_mm: thickness,
            width_mm: r.pick([2000, 2500, 3000, 3200]),
            length_mm: r.int(8000, 18000),
            temperature_C: round(r.between(880, 940), 1),
            targetHardness_HB: r.int(380, 520),
            lengthTemperatureProfile_C: series(r, 24, 870, 945, 1),
            surfaceInspection: { scaleIndex: round(r.between(0, 3), 2), marks: r.int(0, 4), camera: `C${r.int(1, 3)}` },
          },
          now,
        ),
      ]);
      this.pending.push((now) => {
        this.quench.grade = grade;
        const started = this.quench.state === 'setup' ? this.quenchState('running', now) : [];
        const hardness = r.int(360, 540);
        const ok = hardness >= 400 && hardness <= 500;
        // A plate out of the hardness range is quenched again later; out of range again, it is scrapped.
        if (!ok) {
          this.pending.push((later) => this.requench(order, plateId, heatId, later));
          this.pending.push((later) => this.quenchState('idle', later));
        }
        const result = this.event(
          'heat-treatment',
          'quench1',
          'quench.result',
          {
            order,
            plateId,
            heatId,
            pass: 1,
            result: ok ? 'ok' : 'rework',
            hardness_HB: hardness,
            ...quenchMeasurements(r),
            hardnessProfile_HB: series(r, 12, 360, 540, 0),
            flatnessProfile_mm_m: series(r, 12, 0.5, 9, 2),
            headerPressures_bar: series(r, 8, 1.5, 6, 2),
          },
          now,
        );
        // Now and then the line fails after a plate, and is down until the next plate comes.
        const failed = r.next() < 0.04 ? this.quenchState('down', now) : [];
        return [...started, result, ...failed];
      });
    }
    // After the heat's last plate the line waits; every twelfth heat it stops for planned maintenance.
    const heat = this.heat;
    this.pending.push((now) =>
      this.quench.state === 'down' ? [] : this.quenchState(heat % 12 === 0 ? 'planned_stop' : 'idle', now),
    );
  }

  /** The second quench of a plate sent to rework: the line runs for it; ok, or scrap. */
  private requench(order: Record<string, unknown>, plateId: string, heatId: string, now: number): PlantEvent[] {
    const r = this.random;
    const started = this.quench.state === 'running' ? [] : this.quenchState('running', now);
    const hardness = r.int(380, 520);
    const result = this.event(
      'heat-treatment',
      'quench1',
      'quench.result',
      {
        order,
        plateId,
        heatId,
        pass: 2,
        result: hardness >= 400 && hardness <= 500 ? 'ok' : 'scrap',
        hardness_HB: hardness,
        ...quenchMeasurements(r),
      },
      now,
    );
    return [...started, result];
  }
}

/** What the quench line measures of every plate it quenches. */
function quenchMeasurements(r: Random) {
  return {
    waterFlow_m3_h: round(r.between(2500, 4200), 0),
    waterTemperature_C: round(r.between(18, 32), 1),
    flatness_mm_m: round(r.between(1, 9), 2),
    quenchDuration_s: round(r.between(40, 140), 1),
  };
}

/** `count` readings between min and max, e.g. a temperature profile along a plate. */
function series(r: Random, count: number, min: number, max: number, digits: number): number[] {
  return Array.from({ length: count }, () => round(r.between(min, max), digits));
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
