import { finished } from 'node:stream/promises';
import { Simulator } from '@plantmesh/simulator';
import mqtt from 'mqtt';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Baseline A: the fastest direct load of sample rows into metrics.samples (same table, same indexes):
 * COPY in 50,000-row batches over two connections. Rows per second.
 */
export async function directCopy(databaseUrl: string, rows: number, seriesIds: number[]): Promise<number> {
  const batch = 50_000;
  const connections = 2;
  const now = Date.now();
  const chunk = (offset: number) => {
    const lines: string[] = [];
    for (let i = offset; i < Math.min(rows, offset + batch); i += 1) {
      const id = seriesIds[i % seriesIds.length] as number;
      lines.push(`${new Date(now - rows + i).toISOString()}\t${id}\t${(i % 1000) / 7}\t0\n`);
    }
    return lines.join('');
  };
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client(databaseUrl);
      await client.connect();
      return client;
    }),
  );
  const started = performance.now();
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < rows) {
        const offset = next;
        next += batch;
        const copy = client.query(copyFrom('copy metrics.samples (ts, series_id, value, quality) from stdin'));
        copy.end(chunk(offset));
        await finished(copy);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  return rows / seconds;
}

/**
 * Baselines B and C: the same simulator messages straight through the broker to one mqtt.js
 * subscriber, as fast as they go. Messages per second received.
 */
export async function rawDelivery(brokerUrl: string, kind: 'samples' | 'events', messages: number): Promise<number> {
  const qos = kind === 'events' ? 1 : 0;
  const subscriber = await mqtt.connectAsync(brokerUrl, {
    protocolVersion: 5,
    clientId: `baseline-${kind}-${Date.now()}`,
  });
  await subscriber.subscribeAsync('#', { qos });
  let received = 0;
  let first = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    subscriber.on('message', () => {
      received += 1;
      const now = performance.now();
      if (received === 1) first = now;
      last = now;
      if (received === messages) resolve();
    });
  });
  const simulator = new Simulator({
    ...(kind === 'events'
      ? { eventsUrl: brokerUrl, eventsPerSecond: 1_000_000, maxEvents: messages }
      : { eventsPerSecond: 0 }),
    ...(kind === 'samples'
      ? { sensorsUrl: brokerUrl, samplesPerSecond: 1_000_000, maxSamples: messages }
      : { samplesPerSecond: 0 }),
    series: 1_000,
    samplesPerMessage: 1,
    sensorQos: 0,
    eventQos: 1,
    seed: 42,
    site: 'plant1',
  });
  await simulator.run();
  // QoS 0 may drop under overload: stop waiting once nothing more arrives.
  await Promise.race([done, waitQuiet(() => received)]);
  await subscriber.endAsync(true);
  return (received - 1) / ((last - first) / 1000);
}

async function waitQuiet(progress: () => number): Promise<void> {
  let seen = -1;
  while (progress() !== seen) {
    seen = progress();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
