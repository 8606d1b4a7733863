import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Simulator } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { IngestPlatform, ServiceHandle } from '../support/ingest-platform.js';
import { eventPoisons, type Poison, sensorPoisons } from '../support/poison.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const totalEvents = 100_000;
const seed = 7;

/**
 * A plant that sends bad payloads among the good ones: a round of every poison of both profiles each
 * `everyMs`, and an event with the integer id N beside one with the text id "N", until stopped.
 */
function poisonPlant(platform: IngestPlatform, everyMs: number) {
  const published: Poison[] = [];
  let rounds = 0;
  let stopped = false;
  const running = (async () => {
    const events = await mqtt.connectAsync(platform.publisherUrl('events'), {
      protocolVersion: 5,
      reconnectPeriod: 200,
    });
    const sensors = await mqtt.connectAsync(platform.publisherUrl('sensors'), {
      protocolVersion: 5,
      reconnectPeriod: 200,
    });
    while (!stopped) {
      const round = [...eventPoisons(`n${rounds}`), ...sensorPoisons(`n${rounds}`)];
      for (const poison of round) {
        await (poison.topic.includes('/events/') ? events : sensors).publishAsync(poison.topic, poison.payload, {
          qos: 1,
        });
        published.push(poison);
      }
      const id = 7_000_852_944_000 + rounds;
      await events.publishAsync('plant1/mes/events/typed-id', `{"id":${id},"as":"number"}`, { qos: 1 });
      await events.publishAsync('plant1/mes/events/typed-id', `{"id":"${id}","as":"text"}`, { qos: 1 });
      rounds += 1;
      await delay(everyMs);
    }
    await Promise.all([events.endAsync(), sensors.endAsync()]);
  })();
  return {
    published,
    get rounds() {
      return rounds;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

describe('no event lost or stored twice through crashes and restarts, with poison mixed in', () => {
  const platform = useIngestPlatform();

  it(`stores exactly ${totalEvents} events and quarantines every poison once while reader, writer, RabbitMQ (three times) and PostgreSQL fail, and sensors recover each time`, async () => {
    let writer = await platform().startWriter();
    let eventsReader = await platform().startEventsReader();
    await platform().startSensorsReader();
    const eventsPlant = platform().eventsPlant(totalEvents, seed);
    const sensorsPlant = new Simulator({
      sensorsUrl: platform().publisherUrl('sensors'),
      series: 50,
      samplesPerSecond: 2_000,
      samplesPerMessage: 1,
      sensorQos: 0,
      eventsPerSecond: 0,
      eventQos: 1,
      seed,
      site: 'plant1',
    });
    const published = eventsPlant.run();
    const sensorsRunning = sensorsPlant.run();
    const poisons = poisonPlant(platform(), 1_500);

    const events = () => platform().count('select count(*) as n from raw.events');
    const samples = () => platform().count('select count(*) as n from metrics.samples');
    const started = Date.now();
    const sensorsResume = async (after: string) => {
      const before = await samples();
      const faultAt = Date.now();
      await waitFor(`samples arriving again after ${after}`, async () => (await samples()) > before + 1_000, 60_000);
      console.log(
        `${((Date.now() - started) / 1000).toFixed(1)} s: ${await events()} events stored; samples resumed ${((Date.now() - faultAt) / 1000).toFixed(1)} s after ${after}`,
      );
    };
    const kill = async (service: ServiceHandle) => {
      service.process.signal('SIGKILL');
      await service.process.waitExit();
      return service.restart();
    };

    await waitFor('events flowing', async () => (await events()) > 10_000, 60_000);
    eventsReader = await kill(eventsReader);
    await sensorsResume('killing the events reader');

    await waitFor('more events', async () => (await events()) > 30_000, 60_000);
    writer = await kill(writer);
    await sensorsResume('killing the writer');

    for (const [restart, threshold] of [40_000, 50_000, 60_000].entries()) {
      await waitFor('more events', async () => (await events()) > threshold, 60_000);
      await platform().rabbitmq.restart();
      await sensorsResume(`restarting RabbitMQ (${restart + 1} of 3)`);
    }

    await waitFor('more events', async () => (await events()) > 70_000, 60_000);
    await platform().postgres.restart();
    await sensorsResume('restarting PostgreSQL');

    const counts = await published;
    expect(counts.events).toBe(totalEvents);
    await poisons.stop();
    const typedIds = 2 * poisons.rounds;
    const expected = totalEvents + typedIds;
    await waitFor('every event stored', async () => (await events()) >= expected, 120_000).catch(async (error) => {
      throw new Error(
        `${(error as Error).message}; ${await events()} stored\n${await platform().diagnose([eventsReader, writer])}`,
      );
    });
    sensorsPlant.stop();
    await sensorsRunning;

    const [stored] = await platform().query<{ n: number; distinct_ids: number; first: string; last: string }>(
      `select count(*)::int as n, count(distinct id)::int as distinct_ids, min(id) as first, max(id) as last
       from raw.events where id like 'plant1-${seed}-%'`,
    );
    expect(stored).toEqual({
      n: totalEvents,
      distinct_ids: totalEvents,
      first: `plant1-${seed}-000000001`,
      last: `plant1-${seed}-${String(totalEvents).padStart(9, '0')}`,
    });
    // Nothing else was stored (no copy under another id); both events of each typed id were.
    expect(await events()).toBe(expected);
    expect(
      await platform().count(
        `select count(*) as n from raw.events where topic = 'plant1/mes/events/typed-id' and payload->>'as' =
           case id_type when 'integer' then 'number' when 'string' then 'text' end`,
      ),
    ).toBe(typedIds);

    // Every poison quarantined exactly once, with its reason, through the kills and restarts.
    await waitFor(
      'every poison quarantined',
      async () => (await platform().count('select count(*) as n from raw.quarantine')) >= poisons.published.length,
      60_000,
    );
    const quarantined = await platform().query<{ digest: string; copies: number; reason: string }>(
      `select encode(sha256(payload), 'hex') as digest, count(*)::int as copies, min(reason) as reason
       from raw.quarantine group by 1`,
    );
    const byDigest = new Map(quarantined.map((row) => [row.digest, row]));
    for (const poison of poisons.published) {
      const row = byDigest.get(createHash('sha256').update(poison.payload).digest('hex'));
      expect(row?.copies, `${poison.name} on ${poison.topic}`).toBe(1);
      expect(row?.reason, poison.name).toMatch(poison.reason);
    }
    expect(quarantined).toHaveLength(poisons.published.length);

    // Replay works for each of them: published once to its topic, refused again as before, it comes
    // back as exactly one new row that names the row it replays.
    const originals = (await platform().query<{ id: string }>('select id from raw.quarantine')).map((row) => row.id);
    for (const source of ['events', 'sensors'] as const) {
      const replay = await platform().cli([
        'quarantine',
        'replay',
        '--reason',
        '%',
        '--source',
        source,
        '--mqtt-url',
        platform().publisherUrl(source, 'plantmesh-replay'),
      ]);
      expect(replay.code, replay.output).toBe(0);
    }
    await waitFor(
      'every replay refused again',
      async () => (await platform().count('select count(*) as n from raw.quarantine')) >= 2 * originals.length,
      60_000,
    );
    const replays = await platform().query<{ of: string; copies: number }>(
      `select headers->'x-mqtt-user-properties'->>'plantmesh-replay-of' as of, count(*)::int as copies
       from raw.quarantine where replayed_at is null group by 1 order by 1`,
    );
    expect(replays).toEqual(originals.sort().map((id) => ({ of: id, copies: 1 })));
    expect(await platform().count('select count(*) as n from raw.quarantine where replayed_at is not null')).toBe(
      originals.length,
    );

    expect(writer.process.alive && eventsReader.process.alive).toBe(true);
    // Reconnecting after each RabbitMQ restart leaves no listener behind.
    for (const service of ['events-reader', 'sensors-reader', 'amqp-writer'] as const) {
      expect(platform().serviceLog(service), service).not.toMatch(/MaxListenersExceededWarning/);
    }
  }, 600_000);
});
