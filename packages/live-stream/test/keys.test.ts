import { describe, expect, it } from 'vitest';
import { bindingKeyForFilter, decodeLiveSamples, encodeLiveSamples, routingKeyForPath } from '../src/index.js';

describe('live stream keys and bodies', () => {
  it('maps series paths to routing keys, a level with dots staying one word', () => {
    expect(routingKeyForPath('plant1/meltshop/eaf1/meter/energy')).toBe('samples.plant1.meltshop.eaf1.meter.energy');
    expect(routingKeyForPath('plant1/line.2/x%y')).toBe('samples.plant1.line%2E2.x%25y');
  });

  it('maps MQTT filters to binding keys, and refuses what MQTT refuses', () => {
    expect(bindingKeyForFilter('plant1/+/+/meter/energy')).toBe('samples.plant1.*.*.meter.energy');
    expect(bindingKeyForFilter('plant1/#')).toBe('samples.plant1.#');
    expect(bindingKeyForFilter('#')).toBe('samples.#');
    expect(bindingKeyForFilter('plant1/line.2/+')).toBe('samples.plant1.line%2E2.*');
    expect(() => bindingKeyForFilter('plant1/#/energy')).toThrow(/last level/);
    expect(() => bindingKeyForFilter('plant1/eaf+/energy')).toThrow(/whole levels/);
  });

  it('round-trips a message and refuses a body that is not one', () => {
    const message = { path: 'a/b', unit: 'KWH', samples: [[1, 2.5, 0]] as Array<[number, number, number]> };
    expect(decodeLiveSamples(encodeLiveSamples(message))).toEqual(message);
    expect(() => decodeLiveSamples(Buffer.from('{"x":1}'))).toThrow(/not a live samples message/);
  });
});
