import { describe, expect, it } from 'vitest';
import { parseEvent, parseSamples } from '../src/index.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseEvent', () => {
  it("uses the payload's own id, else a content hash that is the same for a redelivered copy", () => {
    expect(parseEvent('t', json({ id: 'evt-1', x: 1 }), 'id', 1000)).toEqual({ ok: true, value: { id: 'evt-1' } });
    expect(parseEvent('t', json({ eventId: 42 }), 'eventId', 1000)).toEqual({ ok: true, value: { id: '42' } });
    const first = parseEvent('plant/a/events/x', json({ heat: 'H1' }), 'id', 1000);
    const again = parseEvent('plant/a/events/x', json({ heat: 'H1' }), 'id', 1000);
    const otherTopic = parseEvent('plant/b/events/x', json({ heat: 'H1' }), 'id', 1000);
    expect(first.ok && first.value.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(again).toEqual(first);
    expect(otherTopic).not.toEqual(first);
  });

  it('refuses what is not a JSON object, with a reason', () => {
    expect(parseEvent('t', Buffer.from('{"a":'), 'id', 1000)).toMatchObject({ ok: false, kind: 'invalid_json' });
    expect(parseEvent('t', Buffer.from([0xc3, 0x28]), 'id', 1000)).toMatchObject({ ok: false, kind: 'not_utf8' });
    expect(parseEvent('t', json([1, 2]), 'id', 1000)).toMatchObject({ ok: false, kind: 'invalid_event' });
    expect(parseEvent('t', json({ pad: 'x'.repeat(100) }), 'id', 50)).toMatchObject({
      ok: false,
      kind: 'oversize',
      reason: expect.stringMatching(/^oversize: \d+ bytes, the limit is 50$/),
    });
  });
});

describe('parseSamples', () => {
  const receivedAt = Date.parse('2026-11-22T10:00:00Z');

  it('reads one sample or an array, with epoch or ISO times, qualities, booleans and the unit', () => {
    const one = parseSamples('s/a/l/c/temp', json({ ts: 1_000, value: 21.5, unit: 'CEL' }), 1000, receivedAt);
    expect(one).toEqual({
      ok: true,
      value: { topic: 's/a/l/c/temp', unit: 'CEL', receivedAt, samples: [[1_000, 21.5, 0]] },
    });
    const many = parseSamples(
      's/a/l/c/run',
      json([
        { ts: '2026-11-22T09:59:59Z', value: true, quality: 'uncertain' },
        { value: 0, quality: 2 },
      ]),
      1000,
      receivedAt,
    );
    expect(many).toEqual({
      ok: true,
      value: {
        topic: 's/a/l/c/run',
        unit: null,
        receivedAt,
        samples: [
          [receivedAt - 1000, 1, 1],
          [receivedAt, 0, 2],
        ],
      },
    });
  });

  it('refuses the whole message when one sample is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ts: 1, value: 'hot' }, /value must be a finite number or a boolean \(got "hot"\)/],
      [[{ value: 1 }, { value: null }], /sample 1: value must be/],
      [{ ts: 'yesterday', value: 1 }, /ts must be epoch milliseconds or ISO 8601/],
      [{ value: 1, quality: 'great' }, /quality must be good, uncertain or bad/],
      [{ value: 1, unit: 7 }, /unit must be text/],
      [[], /no samples/],
    ];
    for (const [payload, reason] of cases) {
      const parsed = parseSamples('t', json(payload), 1000, receivedAt);
      expect(parsed).toMatchObject({ ok: false, kind: 'invalid_sample' });
      expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
    }
  });
});
