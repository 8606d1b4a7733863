/**
 * The bulk answer built from kept bytes (last values, ADR 0023) is the bulk answer the other methods give: the same
 * members in the same order, not-found items and a 206's detail included.
 */
import { describe, expect, it } from 'vitest';
import { bulk, bulkBytes, notFound, ok, okItemBytes, Truncation } from '../src/envelope.js';
import { currentItemBytes, type Vqt } from '../src/values.js';

const held: Vqt = { value: 21.5, quality: 'Good', timestamp: '2026-12-01T04:00:00.25Z' };
const composed: Vqt = { ...held, components: { 'plantmesh:series:a/b/"c"': { ...held, value: null, quality: 'Bad' } } };

describe('bulk answers from kept bytes', () => {
  it('are the JSON of bulk(): found, composed and not-found items in request order', () => {
    const values = new Map([
      ['plantmesh:series:plant1/line1/cell1/speed', { isComposition: false, vqt: held }],
      ['machine "one"', { isComposition: true, vqt: composed }],
    ]);
    const ids = ['plantmesh:series:plant1/line1/cell1/speed', 'unknown', 'machine "one"'];
    const text = bulkBytes(
      ids,
      (id) => {
        const value = values.get(id);
        return value && currentItemBytes(id, value);
      },
      new Truncation(),
    );
    const expected = bulk(
      ids.map((id) => {
        const value = values.get(id);
        return value ? ok(id, { isComposition: value.isComposition, ...value.vqt }) : notFound(id);
      }),
    );
    expect(text.status).toBe(200);
    expect(text.body.toString()).toBe(JSON.stringify(expected));
  });

  it('keep an item per held value, and make it again for another element or kind', () => {
    const first = currentItemBytes('a', { isComposition: false, vqt: held });
    expect(currentItemBytes('a', { isComposition: false, vqt: held })).toBe(first);
    expect(JSON.parse(currentItemBytes('b', { isComposition: false, vqt: held }).toString()).elementId).toBe('b');
    const composition = currentItemBytes('b', { isComposition: true, vqt: held });
    expect(JSON.parse(composition.toString()).result.isComposition).toBe(true);
  });

  it('carry a 206 with its detail when the answer was cut', () => {
    const truncation = new Truncation();
    truncation.add('at most 1 component values per answer (MAX_COMPONENTS)');
    const text = bulkBytes(['x'], (id) => okItemBytes(id, '{"isComposition":false,"value":null}'), truncation);
    expect(text.status).toBe(206);
    expect(JSON.parse(text.body.toString())).toEqual({
      success: true,
      results: [{ success: true, elementId: 'x', result: { isComposition: false, value: null } }],
      responseDetail: truncation.detail(),
    });
  });
});
