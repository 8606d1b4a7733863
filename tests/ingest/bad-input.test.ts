import { waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestPlatform } from '../support/ingest-platform.js';

describe('bad input is quarantined with its reason and the pipeline keeps running', () => {
  let platform: IngestPlatform;

  beforeAll(async () => {
    platform = await IngestPlatform.start();
    await platform.startWriter();
    await platform.startEventsReader({ MAX_PAYLOAD_BYTES: '4096' });
    await platform.startSensorsReader({ MAX_PAYLOAD_BYTES: '4096' });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses malformed JSON, non-UTF-8 bytes, oversize payloads, \\u0000 and a wrong value type', async () => {
    const events = await mqtt.connectAsync(platform.eventsBroker.url, { protocolVersion: 5 });
    const sensors = await mqtt.connectAsync(platform.sensorsBroker.url, { protocolVersion: 5 });
    await events.publishAsync('plant1/caster/strand1/events/heat.started', '{"id": "bad-1", "heat":', { qos: 1 });
    await events.publishAsync('plant1/caster/strand1/events/heat.started', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), {
      qos: 1,
    });
    await events.publishAsync(
      'plant1/caster/strand1/events/slab.cut',
      JSON.stringify({ id: 'big', pad: 'x'.repeat(5000) }),
      {
        qos: 1,
      },
    );
    // Valid JSON that PostgreSQL's jsonb cannot hold.
    await events.publishAsync('plant1/caster/strand1/events/slab.cut', '{"id": "nul-1", "note": "a\\u0000b"}', {
      qos: 1,
    });
    await sensors.publishAsync(
      'plant1/caster/strand1/cell1/temperature',
      JSON.stringify({ ts: Date.now(), value: 'hot' }),
      {
        qos: 1,
      },
    );
    // Good messages after the bad ones still arrive.
    await events.publishAsync(
      'plant1/caster/strand1/events/heat.finished',
      JSON.stringify({ id: 'good-1', heatId: 'H1' }),
      {
        qos: 1,
      },
    );
    await sensors.publishAsync(
      'plant1/caster/strand1/cell1/temperature',
      JSON.stringify({ ts: Date.now(), value: 1532.5 }),
      {
        qos: 1,
      },
    );
    await Promise.all([events.endAsync(), sensors.endAsync()]);

    await waitFor(
      'five quarantined payloads',
      async () => (await platform.count('select count(*) as n from raw.quarantine')) === 5,
    );
    const rows = await platform.query<{ stage: string; topic: string; reason: string; size: number }>(
      'select stage, topic, reason, length(payload) as size from raw.quarantine order by id',
    );
    const byReason = (pattern: RegExp) => rows.find((row) => pattern.test(row.reason));
    expect(byReason(/^invalid_json: /)).toMatchObject({
      stage: 'mqtt-reader',
      topic: 'plant1/caster/strand1/events/heat.started',
    });
    expect(byReason(/^not_utf8: /)).toMatchObject({ stage: 'mqtt-reader', size: 4 });
    expect(byReason(/^oversize: \d+ bytes, the limit is 4096/)).toMatchObject({
      topic: 'plant1/caster/strand1/events/slab.cut',
    });
    expect(byReason(/^invalid_event: the payload contains \\u0000/)).toMatchObject({ stage: 'mqtt-reader' });
    expect(
      byReason(/^invalid_sample: sample 0: value must be a finite number or a boolean \(got "hot"\)/),
    ).toMatchObject({
      topic: 'plant1/caster/strand1/cell1/temperature',
    });

    await waitFor(
      'the good event',
      async () => (await platform.count(`select count(*) as n from raw.events where id = 'good-1'`)) === 1,
    );
    await waitFor(
      'the good sample',
      async () => (await platform.count('select count(*) as n from metrics.samples')) === 1,
    );
    expect(await platform.query('select value from metrics.latest')).toEqual([{ value: 1532.5 }]);
    expect(await platform.count('select count(*) as n from raw.events')).toBe(1);
  });
});
