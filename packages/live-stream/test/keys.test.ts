import { describe, expect, it } from 'vitest';
import {
  bindingKeysForFilter,
  decodeLiveMessage,
  liveMessages,
  matchesFilter,
  routingKeyForPath,
} from '../src/index.js';

/** What a topic exchange does with a binding key and a routing key (`*` one word, `#` zero or more). */
function routes(binding: string, key: string): boolean {
  const match = (words: string[], rest: string[]): boolean => {
    const [head, ...tail] = words;
    if (head === undefined) return rest.length === 0;
    if (head === '#') return rest.some((_, i) => match(tail, rest.slice(i))) || match(tail, []);
    return rest.length > 0 && (head === '*' || head === rest[0]) && match(tail, rest.slice(1));
  };
  return match(binding.split('.'), key.split('.'));
}

describe('live stream keys and bodies', () => {
  it("sends a series under its parent's key, a level with dots staying one word", () => {
    expect(routingKeyForPath('plant1/meltshop/eaf1/meter/energy')).toBe('samples.plant1.meltshop.eaf1.meter');
    expect(routingKeyForPath('plant1/line.2/x%y')).toBe('samples.plant1.line%2E2');
    expect(routingKeyForPath('energy')).toBe('samples');
  });

  it('maps MQTT filters to binding keys that bring every matching series, and refuses what MQTT refuses', () => {
    expect(bindingKeysForFilter('plant1/+/+/meter/energy')).toEqual(['samples.plant1.*.*.meter']);
    expect(bindingKeysForFilter('plant1/#')).toEqual(['samples.plant1.#', 'samples']);
    expect(bindingKeysForFilter('plant1/line/#')).toEqual(['samples.plant1.line.#', 'samples.plant1']);
    expect(bindingKeysForFilter('#')).toEqual(['samples.#']);
    expect(bindingKeysForFilter('plant1/line.2/+')).toEqual(['samples.plant1.line%2E2']);
    expect(() => bindingKeysForFilter('plant1/#/energy')).toThrow(/last level/);
    expect(() => bindingKeysForFilter('plant1/eaf+/energy')).toThrow(/whole levels/);
    // Every path a filter matches travels under a key one of its bindings routes.
    const paths = ['plant1', 'plant1/line', 'plant1/line/cell/t', 'plant1/line/cell', 'plant2/line/cell/t'];
    for (const filter of ['plant1/#', 'plant1/line/#', '+/line/+/t', '#', 'plant1/+', 'plant1']) {
      for (const path of paths.filter((p) => matchesFilter(filter, p))) {
        const key = routingKeyForPath(path);
        expect(
          bindingKeysForFilter(filter).some((binding) => routes(binding, key)),
          `${filter} ${path}`,
        ).toBe(true);
      }
    }
  });

  it('matches paths as MQTT does', () => {
    expect(matchesFilter('plant1/#', 'plant1')).toBe(true);
    expect(matchesFilter('plant1/#', 'plant1/a/b')).toBe(true);
    expect(matchesFilter('plant1/+', 'plant1/a/b')).toBe(false);
    expect(matchesFilter('plant1/+/b', 'plant1/a/b')).toBe(true);
    expect(matchesFilter('plant1/a', 'plant1/a/b')).toBe(false);
    expect(matchesFilter('plant1/a/b', 'plant1/a')).toBe(false);
  });

  it('groups a batch by parent path, round-trips it, and refuses a body that is not one', () => {
    const series = [
      { path: 'a/b/t', unit: 'CEL', samples: [[1, 2.5, 0]] as Array<[number, number, number]> },
      { path: 'a/b/p', unit: 'BAR', samples: [[1, 1, 0]] as Array<[number, number, number]> },
      { path: 'a/c/t', unit: 'CEL', samples: [[2, 3, 1]] as Array<[number, number, number]> },
    ];
    const messages = liveMessages(series);
    expect(messages.map((message) => message.routingKey)).toEqual(['samples.a.b', 'samples.a.c']);
    expect(messages.flatMap((message) => decodeLiveMessage(message.body))).toEqual(series);
    expect(() => decodeLiveMessage(Buffer.from('{"x":1}'))).toThrow(/not a live samples message/);
    expect(() => decodeLiveMessage(Buffer.from('{"series":[{"path":1}]}'))).toThrow(/not a live samples message/);
  });
});
