import { describe, expect, it } from 'vitest';
import { parseEvent, parseSamples } from '../src/index.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const limits = { maxBytes: 1000, maxDepth: 512 };

describe('parseEvent', () => {
  it("uses the payload's own id with its JSON type, else a content hash that is the same for a redelivered copy", () => {
    expect(parseEvent('t', json({ id: 'evt-1', x: 1 }), 'id', limits)).toMatchObject({
      ok: true,
      value: { id: 'evt-1', idType: 'string' },
    });
    expect(parseEvent('t', json({ eventId: 42 }), 'eventId', limits)).toMatchObject({
      ok: true,
      value: { id: '42', idType: 'integer' },
    });
    expect(parseEvent('t', json({ id: '42' }), 'id', limits)).toMatchObject({
      ok: true,
      value: { id: '42', idType: 'string' },
    });
    const first = parseEvent('plant/a/events/x', json({ heat: 'H1' }), 'id', limits);
    const again = parseEvent('plant/a/events/x', json({ heat: 'H1' }), 'id', limits);
    const otherTopic = parseEvent('plant/b/events/x', json({ heat: 'H1' }), 'id', limits);
    expect(first).toMatchObject({
      ok: true,
      value: { id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), idType: 'hash' },
    });
    expect(again).toEqual(first);
    expect(otherTopic).not.toEqual(first);
    expect(parseEvent('t', json({ id: null }), 'id', limits)).toMatchObject({ ok: true, value: { idType: 'hash' } });
  });

  it('refuses an id that is neither a text of 1 to 200 characters nor a safe integer, naming it', () => {
    const refused: unknown[] = ['', 'x'.repeat(201), 1.5, 2 ** 53, -(2 ** 53), true, ['a'], { a: 1 }];
    for (const id of refused) {
      const parsed = parseEvent('t', json({ id }), 'id', limits);
      expect(parsed, JSON.stringify(id)).toMatchObject({ ok: false, kind: 'invalid_event_id' });
      expect(parsed.ok ? '' : parsed.reason).toMatch(
        /^invalid_event_id: "id" must be a text of 1 to 200 characters or an integer within ±9007199254740991 \(got /,
      );
    }
    expect(parseEvent('t', json({ id: 2 ** 53 - 1 }), 'id', limits)).toMatchObject({
      ok: true,
      value: { idType: 'integer' },
    });
  });

  it("refuses what PostgreSQL's jsonb cannot hold, and takes a byte order mark off", () => {
    const cases: Array<[string, RegExp]> = [
      ['{"a":"\\u0000"}', /\\u0000/],
      ['{"a":"\\ud800"}', /lone UTF-16 high surrogate \\ud800/],
      ['{"\\udc00":1}', /lone UTF-16 low surrogate \\udc00/],
      ['{"a":1e999999}', /the number 1e999999 is outside PostgreSQL's numeric range/],
      [`{"a":${'['.repeat(600)}${']'.repeat(600)}}`, /nesting deeper than 512 levels/],
    ];
    for (const [payload, reason] of cases) {
      const parsed = parseEvent('t', Buffer.from(payload), 'id', { ...limits, maxBytes: 10_000 });
      expect(parsed, payload).toMatchObject({ ok: false, kind: 'unstorable_json' });
      expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
    }
    const bom = parseEvent('t', Buffer.from('\ufeff{"id":"b"}'), 'id', limits);
    expect(bom).toEqual({ ok: true, value: { id: 'b', idType: 'string', text: '{"id":"b"}' } });
  });

  it('refuses what is not a JSON object, with a reason', () => {
    expect(parseEvent('t', Buffer.from('{"a":'), 'id', limits)).toMatchObject({ ok: false, kind: 'invalid_json' });
    expect(parseEvent('t', Buffer.from([0xc3, 0x28]), 'id', limits)).toMatchObject({ ok: false, kind: 'not_utf8' });
    expect(parseEvent('t', json([1, 2]), 'id', limits)).toMatchObject({ ok: false, kind: 'invalid_event' });
    expect(parseEvent('t', json({ pad: 'x'.repeat(100) }), 'id', { ...limits, maxBytes: 50 })).toMatchObject({
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
      [{ ts: 1e20, value: 1 }, /ts must be epoch milliseconds or ISO 8601 within the years 0001 to 9999/],
      [{ ts: '+010000-01-01T00:00:00Z', value: 1 }, /within the years 0001 to 9999/],
      [{ value: 1, quality: 'great' }, /quality must be good, uncertain or bad/],
      [{ value: 1, unit: 7 }, /unit must be text/],
      [{ value: 1, unit: 'C\u0000' }, /unit must be text without/],
      [{ value: 1, unit: '\ud800' }, /unit must be text without/],
      [[], /no samples/],
    ];
    for (const [payload, reason] of cases) {
      const parsed = parseSamples('t', json(payload), 1000, receivedAt);
      expect(parsed).toMatchObject({ ok: false, kind: 'invalid_sample' });
      expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
    }
  });
});
