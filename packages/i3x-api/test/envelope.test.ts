/**
 * The bulk answer built as text (last values, ADR 0023) is the bulk answer the other methods give: the same
 * members in the same order, not-found items and a 206's detail included.
 */
import { describe, expect, it } from 'vitest';
import { bulk, bulkJson, notFound, ok, okJson, Truncation } from '../src/envelope.js';
import { currentItemJson, type Vqt } from '../src/values.js';

const held: Vqt = { value: 21.5, quality: 'Good', timestamp: '2026-12-01T04:00:00.25Z' };
const composed: Vqt = { ...held, components: { 'plantmesh:series:a/b/"c"': { ...held, value: null, quality: 'Bad' } } };

describe('bulk answers as text', () => {
  it('are the JSON of bulk(): found, composed and not-found items in request order', () => {
    const values = new Map([
      ['plantmesh:series:plant1/line1/cell1/speed', { isComposition: false, vqt: held }],
      ['machine "one"', { isComposition: true, vqt: composed }],
    ]);
    const ids = ['plantmesh:series:plant1/line1/cell1/speed', 'unknown', 'machine "one"'];
    const text = bulkJson(
      ids,
      (id) => {
        const value = values.get(id);
        return value && currentItemJson(id, value);
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
    expect(text.json).toBe(JSON.stringify(expected));
  });

  it('keep an item text per held value, and make it again for another element or kind', () => {
    const first = currentItemJson('a', { isComposition: false, vqt: held });
    expect(currentItemJson('a', { isComposition: false, vqt: held })).toBe(first);
    expect(JSON.parse(currentItemJson('b', { isComposition: false, vqt: held })).elementId).toBe('b');
    expect(JSON.parse(currentItemJson('b', { isComposition: true, vqt: held })).result.isComposition).toBe(true);
  });

  it('carry a 206 with its detail when the answer was cut', () => {
    const truncation = new Truncation();
    truncation.add('at most 1 component values per answer (MAX_COMPONENTS)');
    const text = bulkJson(['x'], (id) => okJson(id, '{"isComposition":false,"value":null}'), truncation);
    expect(text.status).toBe(206);
    expect(JSON.parse(text.json)).toEqual({
      success: true,
      results: [{ success: true, elementId: 'x', result: { isComposition: false, value: null } }],
      responseDetail: truncation.detail(),
    });
  });
});
