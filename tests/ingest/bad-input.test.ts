import { encodeEventBatch, encodeSampleBatch, eventRecord, ingest } from '@plantmesh/core';
import { waitFor } from '@plantmesh/testkit';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceHandle } from '../support/ingest-platform.js';
import { eventPoisons, sensorPoisons } from '../support/poison.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const eventTopic = 'plant1/caster/strand1/events/heat.finished';
const sampleTopic = 'plant1/caster/strand1/cell1/temperature';

describe('bad input is quarantined once with its reason, and takes nothing valid with it', () => {
  const platform = useIngestPlatform();
  let writer: ServiceHandle;

  beforeAll(async () => {
    writer = await platform().startWriter();
    await platform().startEventsReader();
    await platform().startSensorsReader();
  });

  it('readers refuse every payload the store cannot take, amid valid ones, for both profiles', async () => {
    const events = await mqtt.connectAsync(platform().publisherUrl('events'), { protocolVersion: 5 });
    const sensors = await mqtt.connectAsync(platform().publisherUrl('sensors'), { protocolVersion: 5 });
    const poisons = [...eventPoisons('r'), ...sensorPoisons('r')];
    const eventsBefore = await platform().count('select count(*) as n from raw.events');
    for (const [index, poison] of poisons.entries()) {
      const broker = poison.topic.includes('/events/') ? events : sensors;
      await Promise.all([
        broker.publishAsync(poison.topic, poison.payload, { qos: 1 }),
        events.publishAsync(eventTopic, JSON.stringify({ id: `valid-${index}`, heatId: `H${index}` }), { qos: 1 }),
        sensors.publishAsync(sampleTopic, JSON.stringify({ ts: 1_000_000 + index, value: index }), { qos: 1 }),
      ]);
    }
    // Ids keep their JSON type; a byte order mark is taken off.
    await events.publishAsync(eventTopic, '{"id":7000852944000,"kind":"number"}', { qos: 1 });
    await events.publishAsync(eventTopic, '{"id":"7000852944000","kind":"text"}', { qos: 1 });
    await events.publishAsync(eventTopic, '\ufeff{"id":"with-bom"}', { qos: 1 });
    await Promise.all([events.endAsync(), sensors.endAsync()]);

    await waitFor(
      'every poison quarantined',
      async () => (await platform().count('select count(*) as n from raw.quarantine')) >= poisons.length,
    );
    await waitFor(
      'every valid event and sample stored',
      async () =>
        (await platform().count('select count(*) as n from raw.events')) === eventsBefore + poisons.length + 3 &&
        (await platform().count('select count(*) as n from metrics.samples')) === poisons.length,
    );
    const rows = await platform().query<{ stage: string; topic: string; reason: string; payload: Buffer }>(
      'select stage, topic, reason, payload from raw.quarantine order by id',
    );
    expect(rows).toHaveLength(poisons.length);
    for (const poison of poisons) {
      const matching = rows.filter((row) => row.payload.equals(poison.payload));
      expect(matching, poison.name).toHaveLength(1);
      expect(matching[0], poison.name).toMatchObject({ stage: 'mqtt-reader', topic: poison.topic });
      expect(matching[0]?.reason, poison.name).toMatch(poison.reason);
    }
    expect(
      await platform().query(
        `select id, id_type, payload->>'kind' as kind from raw.events where id = '7000852944000' order by id_type`,
      ),
    ).toEqual([
      { id: '7000852944000', id_type: 'integer', kind: 'number' },
      { id: '7000852944000', id_type: 'string', kind: 'text' },
    ]);
    expect(await platform().count(`select count(*) as n from raw.events where id = 'with-bom'`)).toBe(1);
  });

  it('the writer isolates what the database refuses, quarantines it with its own topic, and stores the rest', async () => {
    // As a reader from before these checks (or any other publisher) would send them.
    const connection = await amqp.connect(platform().rabbitmq.url);
    const channel = await connection.createConfirmChannel();
    const receivedAt = Date.now();
    const record = (index: number, payload: string) =>
      eventRecord(
        {
          id: `direct-${index}`,
          idType: 'string',
          topic: `plant1/mill/stand${index}/events/plate.rolled`,
          source: 'old-reader',
          receivedAt,
          headers: { mqtt_user_properties: { line: `stand${index}` } },
          traceparent: null,
        },
        payload,
      );
    const refused = new Map([
      [17, '{"id":"direct-17","note":"\\ud800"}'],
      [93, '{"id":"direct-93","t":1e999999}'],
      [150, `{"id":"direct-150","a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
    ]);
    const records = Array.from({ length: 200 }, (_, index) =>
      record(index, refused.get(index) ?? `{"id":"direct-${index}","plate":${index}}`),
    );
    channel.publish(ingest.exchange, ingest.routingKeys.events, encodeEventBatch(records), {
      persistent: true,
      headers: { [ingest.headers.count]: records.length, [ingest.headers.receivedAt]: new Date().toISOString() },
    });
    const group = (topic: string, samples: Array<[number, number, number]>, unit: string | null = 'CEL') => ({
      topic,
      unit,
      receivedAt,
      samples,
    });
    channel.publish(
      ingest.exchange,
      ingest.routingKeys.samples,
      encodeSampleBatch([
        group('plant1/mill/stand1/force', [
          [1_000, 1, 0],
          [2_000, 2, 0],
        ]),
        group('plant1/mill/stand2/force', [
          [1_000, 3, 0],
          [1e20, 4, 0], // no time PostgreSQL (or JavaScript's Date) can write
          [3_000, 5, 1],
        ]),
        group('plant1/mill/stand3/force', [[1_000, 6, 0]], 'C\u0000'),
      ]),
      { persistent: true, headers: { [ingest.headers.source]: 'old-reader' } },
    );
    await channel.waitForConfirms();
    await connection.close();

    await waitFor(
      'the valid events stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id like 'direct-%'`)) === 197,
    );
    await waitFor(
      'the valid samples stored',
      async () =>
        (await platform().count(
          `select count(*) as n from metrics.samples s join metrics.series r on r.id = s.series_id
           where r.path like 'plant1/mill/%'`,
        )) === 4,
    );
    await waitFor(
      'the refused parts quarantined',
      async () =>
        (await platform().count(`select count(*) as n from raw.quarantine where stage = 'amqp-writer'`)) === 5,
    );
    const rows = await platform().query<{ topic: string; reason: string; payload: string; headers: object }>(
      `select topic, reason, convert_from(payload, 'UTF8') as payload, headers from raw.quarantine
       where stage = 'amqp-writer' order by topic`,
    );
    expect(rows.slice(0, 3)).toEqual([
      {
        topic: 'plant1/mill/stand150/events/plate.rolled',
        reason: expect.stringMatching(/^the database refused it: stack depth limit exceeded/),
        payload: refused.get(150),
        headers: expect.objectContaining({
          'x-event-id': 'direct-150',
          'x-mqtt-user-properties': { line: 'stand150' },
        }),
      },
      {
        topic: 'plant1/mill/stand17/events/plate.rolled',
        reason: expect.stringMatching(/^the database refused it: invalid input syntax for type json/),
        payload: refused.get(17),
        headers: expect.objectContaining({ 'x-event-id': 'direct-17', 'x-event-id-type': 'string' }),
      },
      {
        topic: 'plant1/mill/stand2/force',
        reason: expect.stringMatching(/^the database refused it: Invalid time value/),
        payload: JSON.stringify([{ ts: 1e20, value: 4, quality: 'good', unit: 'CEL' }]),
        headers: expect.objectContaining({ 'x-topic': 'plant1/mill/stand2/force' }),
      },
    ]);
    expect(rows.slice(3)).toMatchObject([
      {
        topic: 'plant1/mill/stand3/force',
        reason: expect.stringMatching(/invalid byte sequence for encoding "UTF8": 0x00/),
      },
      {
        topic: 'plant1/mill/stand93/events/plate.rolled',
        reason: expect.stringMatching(/value overflows numeric format/),
      },
    ]);
  });

  it('a dead letter delivered twice is quarantined once', async () => {
    const connection = await amqp.connect(platform().rabbitmq.url);
    const channel = await connection.createConfirmChannel();
    const headers = {
      [ingest.headers.topic]: 'plant1/caster/strand1/events/twice',
      [ingest.headers.reason]: 'invalid_json: twice',
      [ingest.headers.stage]: 'mqtt-reader',
      [ingest.headers.mqttUserProperties]: { shift: 'B' },
    };
    for (let copy = 0; copy < 2; copy += 1) {
      channel.publish(ingest.deadLetterExchange, '', Buffer.from('{"twice":'), { persistent: true, headers });
    }
    channel.publish(ingest.deadLetterExchange, '', Buffer.from('{"twice":'), {
      persistent: true,
      headers: { ...headers, [ingest.headers.mqttUserProperties]: { shift: 'B', 'plantmesh-replay-of': '1' } },
    });
    await channel.waitForConfirms();
    await connection.close();
    const twice = `select count(*) as n from raw.quarantine where topic = 'plant1/caster/strand1/events/twice'`;
    await waitFor('the dead letters consumed', async () => (await platform().count(twice)) >= 2);
    await waitFor('the writer counted the second copy as a duplicate', async () =>
      /plantmesh_writer_duplicates_total\{[^}]*stream="dead-letter"[^}]*\} 1$/m.test(
        await fetch(`http://127.0.0.1:${writer.opsPort}/metrics`).then((response) => response.text()),
      ),
    );
    // The copy and the original are one row; the replay's own refusal is a row of its own.
    expect(await platform().count(twice)).toBe(2);
  });
});
