import { type LiveSample, Plantmesh } from '@plantmesh/sdk';
import type { MeterReading } from '@plantmesh/simulator';
import { Simulator } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

/** Takes from a live iterator in the background until stopped. */
function collect(samples: AsyncIterable<LiveSample>) {
  const taken: LiveSample[] = [];
  const done = (async () => {
    for await (const sample of samples) taken.push(sample);
  })();
  return { taken, done };
}

// Live values come from the live stream: what the writer committed, published on plantmesh.live after
// the commit, to a queue of the subscriber's own.
describe('@plantmesh/sdk live values (real writer, RabbitMQ and PostgreSQL)', () => {
  const platform = useIngestPlatform();
  let sdk: Plantmesh;

  beforeAll(async () => {
    await platform().startWriter();
    await platform().startSensorsReader();
    sdk = await Plantmesh.connect({
      url: await platform().userUrl('live_dashboard', 'reader'),
      liveUrl: platform().liveUrl(),
    });
    return () => sdk?.close();
  });

  it('delivers the matching series exactly as published, each sample already stored, and no other', async () => {
    const stop = new AbortController();
    const live = collect(sdk.live('plant1/+/+/meter/energy', { signal: stop.signal }));
    // The subscription's queue is bound once the iterator has started; a moment for it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const readings: MeterReading[] = [];
    await new Simulator({
      sensorsUrl: platform().publisherUrl('sensors'),
      series: 20,
      samplesPerSecond: 400,
      samplesPerMessage: 5,
      maxSamples: 2_000,
      sensorQos: 1,
      meterIntervalMs: 250,
      onReading: (reading) => readings.push(reading),
      eventsPerSecond: 0,
      eventQos: 1,
      seed: 3,
      site: 'plant1',
    }).run();
    await waitFor('every reading delivered', async () => live.taken.length >= readings.length, 30_000);
    // Each delivered sample is in the store by the time it arrives (checked for the whole set at once:
    // no later than now is enough, since the writer publishes after the commit).
    const stored = await platform().query<{ n: number }>(
      `select count(*)::int as n from metrics.samples s join metrics.series p on p.id = s.series_id
       where p.path like '%/meter/energy'`,
    );
    expect(stored[0]?.n).toBe(readings.length);
    stop.abort();
    await live.done;
    const key = (s: { path?: string; topic?: string; ts: number | Date; value: number | null }) =>
      `${s.path ?? s.topic} ${Number(s.ts)} ${s.value}`;
    expect(live.taken.map(key).sort()).toEqual(readings.map(key).sort());
    expect(live.taken.every((sample) => sample.unit === 'KWH' && sample.quality === 0)).toBe(true);
    expect(await platform().count('select count(*) as n from metrics.samples')).toBeGreaterThan(readings.length);
  });

  it('keeps a slow reader bounded: the oldest messages are dropped, the newest come, and a stop is clean', async () => {
    const stop = new AbortController();
    const iterator = sdk.live('plant1/#', { signal: stop.signal, maxQueued: 20, prefetch: 5 })[Symbol.asyncIterator]();
    // Nothing is read while a burst goes by: the first next() opens the subscription, then it waits.
    const first = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const plant = new Simulator({
      sensorsUrl: platform().publisherUrl('sensors'),
      series: 50,
      samplesPerSecond: 2_000,
      samplesPerMessage: 1,
      maxSamples: 6_000,
      sensorQos: 1,
      eventsPerSecond: 0,
      eventQos: 1,
      seed: 4,
      site: 'plant1',
    });
    await plant.run();
    await waitFor(
      'the burst stored',
      async () => (await platform().count('select count(*) as n from metrics.samples')) >= 6_000,
    );
    const taken: LiveSample[] = [(await first).value as LiveSample];
    for (;;) {
      const next = await Promise.race([
        iterator.next(),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_000)),
      ]);
      if (!next || next.done) break;
      taken.push(next.value);
    }
    // 6,000 samples went by; what reached this reader is what 25 messages (20 queued, 5 in hand) hold.
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.length).toBeLessThan(6_000);
    // The writer publishes a message per series per batch, so what is kept is the last messages published:
    // the series of the last one taken came with its newest stored sample.
    const lastPath = taken.at(-1)?.path;
    const newest = Math.max(...taken.filter((sample) => sample.path === lastPath).map((sample) => sample.ts.getTime()));
    const [stored] = await platform().query<{ ts: Date }>(
      'select max(s.ts) as ts from metrics.samples s join metrics.series r on r.id = s.series_id where r.path = $1',
      [lastPath],
    );
    expect(newest).toBe(stored?.ts.getTime());
    stop.abort();
    const end = await iterator.next();
    expect(end.done).toBe(true);
    const management = new URL(platform().rabbitmq.managementApiUrl as string);
    const authorization = `Basic ${Buffer.from(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`).toString('base64')}`;
    const queues = await fetch(`${management.protocol}//${management.host}/api/queues`, {
      headers: { authorization },
    }).then((response) => response.json() as Promise<Array<{ name: string }>>);
    expect(queues.filter((queue) => queue.name.startsWith('amq.gen-'))).toEqual([]);
  });

  it('refuses a filter MQTT refuses, and live values without a live stream URL', async () => {
    const failure = await (async () => {
      try {
        for await (const _ of sdk.live('plant1/#/energy')) break;
      } catch (error) {
        return error as { code: string };
      }
    })();
    expect(failure?.code).toBe('bad-argument');
    const withoutLive = await Plantmesh.connect(await platform().userUrl('no_live', 'reader'));
    try {
      expect(() => withoutLive.live('#')).toThrow(/liveUrl/);
    } finally {
      await withoutLive.close();
    }
  });
});
