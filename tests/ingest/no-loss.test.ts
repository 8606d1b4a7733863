import { Simulator } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import type { ServiceHandle } from '../support/ingest-platform.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const totalEvents = 100_000;
const seed = 7;

describe('no event lost or stored twice through crashes and restarts', () => {
  const platform = useIngestPlatform();

  it(`stores exactly ${totalEvents} events while reader, writer, RabbitMQ and PostgreSQL fail, and sensors recover each time`, async () => {
    let writer = await platform().startWriter();
    let eventsReader = await platform().startEventsReader();
    await platform().startSensorsReader();
    const eventsPlant = platform().eventsPlant(totalEvents, seed);
    const sensorsPlant = new Simulator({
      sensorsUrl: platform().sensorsBroker.url,
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

    await waitFor('more events', async () => (await events()) > 50_000, 60_000);
    await platform().rabbitmq.restart();
    await sensorsResume('restarting RabbitMQ');

    await waitFor('more events', async () => (await events()) > 70_000, 60_000);
    await platform().postgres.restart();
    await sensorsResume('restarting PostgreSQL');

    const counts = await published;
    expect(counts.events).toBe(totalEvents);
    await waitFor('every event stored', async () => (await events()) >= totalEvents, 120_000).catch(async (error) => {
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
    // Nothing else was stored (no copy under another id), and nothing was quarantined.
    expect(await events()).toBe(totalEvents);
    expect(await platform().count('select count(*) as n from raw.quarantine')).toBe(0);
    expect(writer.process.alive && eventsReader.process.alive).toBe(true);
  }, 600_000);
});
