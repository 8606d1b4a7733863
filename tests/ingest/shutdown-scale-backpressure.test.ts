import { waitFor } from '@plantmesh/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestPlatform } from '../support/ingest-platform.js';

async function metric(opsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('graceful shutdown, scaling out and back-pressure', () => {
  let platform: IngestPlatform;

  beforeEach(async () => {
    platform = await IngestPlatform.start();
  });

  afterEach(async () => {
    await platform?.stop();
  });

  it('SIGTERM on the reader and on the writer under load exits 0 and loses nothing', async () => {
    const total = 30_000;
    let writer = await platform.startWriter();
    let reader = await platform.startEventsReader();
    const published = platform.eventsPlant(total, 11).run();
    const events = () => platform.count('select count(*) as n from raw.events');

    await waitFor('events flowing', async () => (await events()) > 5_000, 60_000);
    expect(await reader.process.stop('SIGTERM')).toBe(0);
    expect(reader.process.tail(40)).toMatch(/shutdown complete/);
    reader = await reader.restart();

    await waitFor('more events', async () => (await events()) > 15_000, 60_000);
    expect(await writer.process.stop('SIGTERM')).toBe(0);
    writer = await writer.restart();

    expect((await published).events).toBe(total);
    await waitFor('every event stored', async () => (await events()) >= total, 60_000);
    const [stored] = await platform.query<{ n: number; distinct_ids: number }>(
      'select count(*)::int as n, count(distinct id)::int as distinct_ids from raw.events',
    );
    expect(stored).toEqual({ n: total, distinct_ids: total });
    expect(reader.process.alive && writer.process.alive).toBe(true);
  });

  it('two readers in one share group split the event stream and together store all of it', async () => {
    const total = 6_000;
    await platform.startWriter();
    const share = { MQTT_SHARE_GROUP: 'plantmesh-events' };
    const first = await platform.startEventsReader({ ...share, MQTT_CLIENT_ID: 'events-reader-a' });
    const second = await platform.startEventsReader({ ...share, MQTT_CLIENT_ID: 'events-reader-b' });
    expect((await platform.eventsPlant(total, 12).run()).events).toBe(total);
    await waitFor(
      'every event stored',
      async () => (await platform.count('select count(*) as n from raw.events')) === total,
    );

    const forwarded = await Promise.all(
      [first, second].map((reader) => metric(reader.opsPort, 'plantmesh_reader_forwarded_total')),
    );
    expect(forwarded[0]).toBeGreaterThan(total * 0.2);
    expect(forwarded[1]).toBeGreaterThan(total * 0.2);
    expect((forwarded[0] ?? 0) + (forwarded[1] ?? 0)).toBe(total);
  });

  it('a reader facing an unreachable RabbitMQ holds at most MAX_IN_FLIGHT messages, then loses nothing', async () => {
    const total = 3_000;
    await platform.startWriter();
    const reader = await platform.startEventsReader({ MAX_IN_FLIGHT: '300' });
    await platform.rabbitmq.stop();
    // The broker takes the events while the reader cannot forward them.
    expect((await platform.eventsPlant(total, 13).run()).events).toBe(total);
    await waitFor(
      'the reader holding its window',
      async () => (await metric(reader.opsPort, 'plantmesh_reader_in_flight')) === 300,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await metric(reader.opsPort, 'plantmesh_reader_received_total')).toBe(300);
    expect((await fetch(`http://127.0.0.1:${reader.opsPort}/readyz`)).status).toBe(503);

    await platform.rabbitmq.start();
    await waitFor(
      'every event stored',
      async () => (await platform.count('select count(*) as n from raw.events')) === total,
      60_000,
    );
  });
});
