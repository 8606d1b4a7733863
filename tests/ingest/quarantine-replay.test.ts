import { waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

describe('plantmesh quarantine', () => {
  const platform = useIngestPlatform();

  const plantmesh = (args: string[]) => platform().cli(args);

  it('lists what was refused and replays it through the pipeline once the cause is fixed', async () => {
    await platform().startWriter();
    // A reader whose payload limit is too small for the plant's documents.
    const strict = await platform().startEventsReader({ MAX_PAYLOAD_BYTES: '500', MQTT_CLIENT_ID: 'strict-reader' });
    const publisher = await mqtt.connectAsync(platform().publisherUrl('events'), { protocolVersion: 5 });
    const document = JSON.stringify({ id: 'big-heat', heatId: 'H1', notes: 'x'.repeat(800) });
    await publisher.publishAsync('plant1/caster/strand1/events/heat.finished', document, { qos: 1 });
    await publisher.endAsync();
    await waitFor(
      'quarantined',
      async () => (await platform().count('select count(*) as n from raw.quarantine')) === 1,
    );

    const listed = await plantmesh(['quarantine', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(
      /\tmqtt-reader\tplant1\/caster\/strand1\/events\/heat\.finished\t\d+ B\toversize: \d+ bytes, the limit is 500/,
    );

    // The cause is fixed: a reader with the default limit.
    expect(await strict.process.stop('SIGTERM')).toBe(0);
    await platform().startEventsReader({ MQTT_CLIENT_ID: 'fixed-reader' });
    const replay = await plantmesh([
      'quarantine',
      'replay',
      '--reason',
      'oversize%',
      '--mqtt-url',
      platform().publisherUrl('events', 'plantmesh-replay'),
    ]);
    expect(replay.code, replay.output).toBe(0);
    expect(replay.output).toMatch(/replayed 1 payload\(s\)/);

    await waitFor(
      'the event stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id = 'big-heat'`)) === 1,
    );
    const [row] = await platform().query<{ replayed: boolean }>(
      'select replayed_at is not null as replayed from raw.quarantine',
    );
    expect(row?.replayed).toBe(true);
    expect((await plantmesh(['quarantine', 'list'])).output).toMatch(/^0 row\(s\)$/m);
    expect(
      (await plantmesh(['quarantine', 'replay', '--mqtt-url', platform().publisherUrl('events', 'plantmesh-replay')]))
        .code,
    ).toBe(2);
  });

  it('replays a payload the database refused in a batch, once, to its own topic, after the cause is fixed', async () => {
    // The writer and the fixed reader of the test before are running. An operator's rule the plant's
    // documents break: the database refuses one event of a batch.
    await platform().query(
      `alter table raw.events add constraint no_blocked_heats check (payload->>'heatId' is distinct from 'H-blocked') not valid`,
    );
    const publisher = await mqtt.connectAsync(platform().publisherUrl('events'), { protocolVersion: 5 });
    const topic = 'plant1/caster/strand2/events/heat.finished';
    await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        publisher.publishAsync(topic, JSON.stringify({ id: `heat-${index}`, heatId: `H${index}` }), { qos: 1 }),
      ),
    );
    await publisher.publishAsync(topic, JSON.stringify({ id: 'blocked', heatId: 'H-blocked' }), {
      qos: 1,
      properties: { userProperties: { shift: 'night' } },
    });
    await publisher.endAsync();
    const refused = `select id, topic, reason, headers from raw.quarantine where stage = 'amqp-writer'`;
    await waitFor('the refused event quarantined', async () => (await platform().query(refused)).length === 1);
    await waitFor(
      'the rest stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id like 'heat-%'`)) === 50,
    );
    const [row] = await platform().query<{ id: string; topic: string; reason: string; headers: object }>(refused);
    expect(row).toMatchObject({
      topic,
      reason: expect.stringMatching(/violates check constraint "no_blocked_heats"/),
      headers: expect.objectContaining({ 'x-event-id': 'blocked', 'x-mqtt-user-properties': { shift: 'night' } }),
    });

    await platform().query('alter table raw.events drop constraint no_blocked_heats');
    // Two operators replay at once: the row is published by one of them only.
    const replays = await Promise.all(
      [1, 2].map(() =>
        plantmesh([
          'quarantine',
          'replay',
          '--id',
          String(row?.id),
          '--mqtt-url',
          platform().publisherUrl('events', 'plantmesh-replay'),
        ]),
      ),
    );
    const replayed = replays.map(({ code, output }) => {
      expect(code, output).toBe(0);
      return Number(/replayed (\d+) payload/.exec(output)?.[1]);
    });
    expect(replayed.sort()).toEqual([0, 1]);
    await waitFor(
      'the replayed event stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id = 'blocked'`)) === 1,
    );
    expect(
      await platform().query(
        `select headers->'mqtt_user_properties' as properties from raw.events where id = 'blocked'`,
      ),
    ).toEqual([{ properties: { shift: 'night', 'plantmesh-replay-of': String(row?.id) } }]);
    expect(await platform().count(`select count(*) as n from raw.quarantine where replayed_at is null`)).toBe(0);
  });
});
