import { join } from 'node:path';
import { EventGenerator } from '@plantmesh/simulator';
import { describe, expect, it } from 'vitest';
import { compileMapping, loadDefinition } from '../src/index.js';

const definitions = join(import.meta.dirname, '../definitions');
const heats = compileMapping(loadDefinition(join(definitions, 'heats.yaml')));
const slabs = compileMapping(loadDefinition(join(definitions, 'slabs.yaml')));

function firstEvent(type: string) {
  const generator = new EventGenerator(3);
  for (;;) {
    const event = generator.next(Date.parse('2026-11-30T10:00:00Z'));
    if (event.payload.type === type) return event.payload as Record<string, unknown>;
  }
}

describe('mapping a payload to a curated row', () => {
  it('types the values and converts units as the definition says', () => {
    const heat = firstEvent('heat.finished');
    const mapped = heats(heat);
    expect(mapped).toEqual({
      ok: true,
      row: {
        heat_id: heat.heatId,
        grade: heat.grade,
        strand: heat.line,
        slabs: heat.slabs,
        cast_weight: Number(((heat.castWeight_t as number) * 1000).toPrecision(15)),
        duration: heat.durationMin,
        yield: heat.yield_pct,
        finished_at: '2026-11-30T10:00:00.000Z',
      },
    });
    const slab = firstEvent('slab.cut');
    expect(slabs(slab)).toMatchObject({
      ok: true,
      row: { length: (slab.length_mm as number) / 1000, weight: expect.any(Number) },
    });
    expect(slabs({ ...slab, weight_t: 21.37 })).toMatchObject({ ok: true, row: { weight: 21370 } });
  });

  it("names every problem with its JSON path, from the validator's own errors", () => {
    const heat = firstEvent('heat.finished');
    const { heatId: _heatId, ...withoutId } = heat;
    const cases: Array<[unknown, Array<{ path: string; message: string }>]> = [
      [{ ...heat, castWeight_t: '162 t' }, [{ path: '/castWeight_t', message: 'must be number' }]],
      [withoutId, [{ path: '/heatId', message: 'is required' }]],
      [
        { ...heat, castWeight_t: 1e9, yield_pct: -3 },
        [
          { path: '/castWeight_t', message: 'must be <= 400' },
          { path: '/yield_pct', message: 'must be >= 0' },
        ],
      ],
      [{ ...heat, occurredAt: 'yesterday' }, [{ path: '/occurredAt', message: 'must match format "date-time"' }]],
      [{ ...heat, slabs: Array.from({ length: 100_000 }, () => 1) }, [{ path: '/slabs', message: 'must be integer' }]],
      ['not an object', [{ path: '/', message: 'must be object' }]],
    ];
    for (const [payload, errors] of cases) expect(heats(payload)).toEqual({ ok: false, errors });
  });

  it('refuses what the schema lets through but the column cannot hold', () => {
    // A definition whose payload schema is looser than its columns: the columns still hold.
    const loose = compileMapping({
      ...loadDefinition(join(definitions, 'heats.yaml')),
      payloadSchema: { type: 'object' },
    });
    expect(
      loose({ heatId: 'H1', grade: 'S355', castWeight_t: '7', finishedAt: 1, occurredAt: '2026-11-30 10:00' }),
    ).toEqual({
      ok: false,
      errors: [
        { path: '/castWeight_t', message: 'must be a number for column cast_weight' },
        {
          path: '/occurredAt',
          message: 'must be an ISO 8601 date-time with a time zone, years 0001-9999, for column finished_at',
        },
      ],
    });
    expect(loose({ grade: 'S355', occurredAt: '2026-11-30T10:00:00Z' })).toEqual({
      ok: false,
      errors: [{ path: '/heatId', message: 'is required by column heat_id' }],
    });
  });
});
