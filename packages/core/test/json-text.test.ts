import { describe, expect, it } from 'vitest';
import {
  decodeEventRecord,
  eventBatchRecords,
  eventRecord,
  isStorableText,
  jsonArrayElements,
  jsonbRefusal,
  jsonObjectMembers,
  storableText,
} from '../src/index.js';

describe('jsonbRefusal', () => {
  it('takes what jsonb holds, however it is escaped or nested', () => {
    const taken = [
      '{"a":"\\\\u0000"}', // an escaped backslash, then the text u0000
      '{"a":"\\ud83d\\ude00","\\uD83D\\uDE00":1}',
      '{"a":"x\\"[[[[\\"","b":[1,-0.5e-3,2E+5]}',
      '{"a":1e131071,"b":1e-16383,"c":1.5e-16382,"d":0e999999,"e":-12.000}',
      `{"a":${'['.repeat(10)}${']'.repeat(10)}}`,
    ];
    for (const text of taken) expect(jsonbRefusal(text, 11), text).toBeUndefined();
  });

  it('names what jsonb refuses', () => {
    const refused: Array<[string, RegExp]> = [
      ['{"a":"\\u0000"}', /\\u0000/],
      ['{"a":"\\ud800"}', /lone UTF-16 high surrogate/],
      ['{"a":"\\ud800x"}', /lone UTF-16 high surrogate/],
      ['{"a":"\\ud800\\ud800"}', /lone UTF-16 high surrogate/],
      ['{"a":"\\ude00\\ud83d"}', /lone UTF-16 low surrogate/],
      ['{"a":1e131072}', /numeric range/],
      ['{"a":1e-16384}', /numeric range/],
      ['{"a":0e-999999}', /numeric range/],
      ['{"a":1e99999999999999999999}', /numeric range/],
      [`{"a":0.${'1'.repeat(16_384)}}`, /the number 0\.1{18}…\(16386 characters\) is outside/],
      [`{"a":${'['.repeat(12)}${']'.repeat(12)}}`, /nesting deeper than 11 levels/],
    ];
    for (const [text, reason] of refused) expect(jsonbRefusal(text, 11), text.slice(0, 40)).toMatch(reason);
  });
});

describe('raw JSON parts', () => {
  it('splits arrays and objects without touching numbers or escapes', () => {
    expect(jsonArrayElements(' [ 1e999 , "a,\\"]" ,{"b":[1,2]},[], null ] ')).toEqual([
      '1e999',
      '"a,\\"]"',
      '{"b":[1,2]}',
      '[]',
      'null',
    ]);
    expect(jsonArrayElements('[]')).toEqual([]);
    expect([...jsonObjectMembers('{ "a" : 0.10 , "b\\"" : {"c":"}"} }')]).toEqual([
      ['a', '0.10'],
      ['b"', '{"c":"}"}'],
    ]);
  });

  it('reads an event record back with its payload exactly as it came', () => {
    const payload = '{"id":7000852944000,"x":1e999999,"s":"\\ud800"}';
    const envelope = {
      id: '7000852944000',
      idType: 'integer' as const,
      topic: 'plant/events/a',
      source: 'events',
      receivedAt: Date.parse('2026-11-30T10:00:00.000Z'),
      headers: { mqtt_user_properties: { payload: 'not this one' } },
      traceparent: null,
    };
    const record = eventRecord(envelope, payload);
    expect(decodeEventRecord(record)).toEqual({ envelope, payload });
    expect(eventBatchRecords(`[${record},${record}]`)).toEqual([record, record]);
    expect(eventBatchRecords(`${record} , ${record}`)).toEqual([record, record]);
  });
});

describe('storable text', () => {
  it('replaces NUL and lone surrogates, keeps pairs', () => {
    expect(isStorableText('a😀b')).toBe(true);
    for (const text of ['a\u0000', '\ud800', 'x\udc00', '\ude00\ud83d']) expect(isStorableText(text), text).toBe(false);
    expect(storableText('a\u0000b\ud800c😀')).toBe('a\uFFFDb\uFFFDc😀');
  });
});
