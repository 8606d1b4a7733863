/**
 * Payloads that must be refused with a reason and quarantined exactly once, never stored and never
 * allowed to take a valid payload with them. `tag` makes each copy unique, so that a test can publish
 * the set several times and count every copy.
 */
export interface Poison {
  name: string;
  topic: string;
  payload: Buffer;
  /** What the quarantine row's reason must say. */
  reason: RegExp;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

export function eventPoisons(tag: string): Poison[] {
  const topic = `plant1/caster/strand1/events/poison.${tag}`;
  const text = (name: string, payload: string, reason: RegExp): Poison => ({
    name,
    topic,
    payload: Buffer.from(payload),
    reason,
  });
  return [
    text('malformed JSON', `{"id": "${tag}-malformed", "heat":`, /^invalid_json: /),
    {
      name: 'not UTF-8',
      topic,
      payload: Buffer.concat([Buffer.from(`{"id":"${tag}-bytes","x":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      reason: /^not_utf8: /,
    },
    text('oversize', JSON.stringify({ id: `${tag}-big`, pad: 'x'.repeat(1_100_000) }), /^oversize: \d+ bytes/),
    text('not an object', `["${tag}-array"]`, /^invalid_event: an event must be a JSON object/),
    text('\\u0000', `{"id":"${tag}-nul","note":"a\\u0000b"}`, /^unstorable_json: .*\\u0000/),
    text('lone surrogate', `{"id":"${tag}-surrogate","note":"\\ud800"}`, /^unstorable_json: .*lone UTF-16 high/),
    text(
      'number out of range',
      `{"id":"${tag}-huge","t":1e999999}`,
      /^unstorable_json: PostgreSQL's jsonb cannot hold it: the number 1e999999 is outside/,
    ),
    text(
      '200,000 nested arrays',
      `{"id":"${tag}-deep","a":${nested(200_000)}}`,
      /^unstorable_json: .*: nesting deeper than 512 levels/,
    ),
    text('fractional id', `{"id":1.5,"tag":"${tag}-fraction"}`, /^invalid_event_id: "id" must be/),
    text('boolean id', `{"id":true,"tag":"${tag}-boolean"}`, /^invalid_event_id: "id" must be/),
  ];
}

export function sensorPoisons(tag: string): Poison[] {
  const topic = `plant1/caster/strand1/cell9/poison-${tag}`;
  const json = (name: string, payload: unknown, reason: RegExp): Poison => ({
    name,
    topic,
    payload: Buffer.from(JSON.stringify(payload)),
    reason,
  });
  return [
    json(
      'text value',
      { ts: Date.now(), value: 'hot', tag },
      /^invalid_sample: sample 0: value must be a finite number/,
    ),
    json('time out of range', [{ value: 1 }, { ts: 1e20, value: 2, tag }], /^invalid_sample: sample 1: ts must be/),
    json('unit with NUL', { value: 1, unit: `C\u0000${tag}` }, /^invalid_sample: sample 0: unit must be text without/),
    {
      name: 'malformed JSON',
      topic,
      payload: Buffer.from(`{"value": 1, "tag": "${tag}"`),
      reason: /^invalid_json: /,
    },
  ];
}
