/**
 * Last values answered from memory (ADR 0023) stay true, with real processes: the plant publishes over MQTT,
 * the sensors reader and the writer store the samples and announce them on plantmesh.live, and i3x-api
 * replicas hold the last values they were asked for. Replicas a and b hold a value for ten minutes unless the
 * live stream announces a newer one, so only the live stream can make them answer a new value; replica c
 * holds one for 1.5 s, the bound on a value whose announcement never came. RabbitMQ is stopped and started
 * under them.
 */
import { seriesObjectId } from '@plantmesh/information-model';
import { waitFor } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../../../tests/support/use-ingest-platform.js';
import { LiveApi, type Replica } from './live-api.js';

const path = 'plant1/furnace/line1/cell1/temperature';
const element = seriesObjectId(path);

describe('last values answered from memory stay true (real MQTT, RabbitMQ, writer and API replicas)', () => {
  const platform = useIngestPlatform();
  const api = new LiveApi(platform);
  let key: string;
  // An hour ago, whole seconds: samples in the past, and written values (never in the future) newer than them.
  let clock = Math.floor(Date.now() / 1_000) * 1_000 - 3_600_000;

  const start = (name: string, maxAgeMs: number) => api.start(name, { LAST_VALUES_MAX_AGE_MS: String(maxAgeMs) });
  const replica = (name: string) => api.replicas.get(name) as Replica;
  const log = (replica: Replica) => api.log(replica.name);

  async function request(replica: Replica, method: 'POST' | 'PUT', route: string, body: Record<string, unknown>) {
    const response = await fetch(`http://127.0.0.1:${replica.port}/v1${route}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: read freely
    return { status: response.status, body: (await response.json()) as any };
  }

  /** The series' last value as the replica answers it. */
  async function value(replica: Replica): Promise<number | undefined> {
    const answer = await request(replica, 'POST', '/objects/value', { elementIds: [element] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.results[0].result?.value;
  }

  /** How many last values the replica answered from memory so far. */
  async function fromMemory(replica: Replica): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${replica.opsPort}/metrics`)).text();
    return Number(/^plantmesh_i3x_last_values_total\{[^}]*source="memory"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
  }

  /** Asks until the replica answers the value from memory: it is held (the series bound, a read kept). */
  async function held(replica: Replica, expected: number): Promise<void> {
    const before = await fromMemory(replica);
    await waitFor(`${replica.name} answering ${expected} from memory`, async () => {
      expect(await value(replica)).toBe(expected);
      return (await fromMemory(replica)) > before;
    });
  }

  /** The plant publishes a sample over MQTT; resolves once the writer has stored it. */
  async function plant(sample: number): Promise<void> {
    clock += 1_000;
    await api.plant(path, 'CEL', [[clock, sample]]);
  }

  /** A commit the live stream never announces: the last value changed in the store alone. */
  async function unannounced(sample: number): Promise<void> {
    clock += 1_000;
    await platform().query(
      `update metrics.latest set value = $2, ts = $3 where series_id = (select id from metrics.series where path = $1)`,
      [path, sample, new Date(clock).toISOString()],
    );
  }

  beforeAll(async () => {
    await api.setUp();
    key = await api.key('last-values', 'read,write');
    // The series exists before the replicas start: its object is there from their first model sync.
    await plant(10);
    await start('a', 600_000);
    await start('b', 600_000);
  });

  afterAll(() => api.tearDown());

  it('a sample the writer commits replaces the value every replica holds, by the live stream', async () => {
    const a = replica('a');
    const b = replica('b');
    await held(a, 10);
    await held(b, 10);
    await plant(11);
    await waitFor('11 on both replicas', async () => (await value(a)) === 11 && (await value(b)) === 11);
    // And the new value is held in turn.
    await held(a, 11);
  });

  it('a value written through one replica is read back at once there, and on the other by the live stream', async () => {
    const a = replica('a');
    const b = replica('b');
    await held(a, 11);
    await held(b, 11);
    clock += 1_000;
    const written = await request(a, 'PUT', '/objects/value', {
      updates: [
        { elementId: element, value: { value: 20, quality: 'Good', timestamp: new Date(clock).toISOString() } },
      ],
    });
    expect(written.body.success, JSON.stringify(written.body)).toBe(true);
    expect(await value(a)).toBe(20);
    await waitFor('20 on the other replica', async () => (await value(b)) === 20);
  });

  it('a commit whose announcement never came is answered at most LAST_VALUES_MAX_AGE_MS later', async () => {
    const c = await start('c', 1_500);
    await plant(30);
    await held(c, 30);
    await unannounced(31);
    await waitFor('31, once the held value is 1.5 s old', async () => (await value(c)) === 31);
    await c.process.stop('SIGTERM');
    // Replicas a and b (ten minutes) hold 30 still; the next sample is announced and replaces it.
    await plant(32);
  });

  it('while the live stream is down nothing is answered from memory; once it is back, values are held again', async () => {
    const a = replica('a');
    await waitFor('32 on a', async () => (await value(a)) === 32);
    await held(a, 32);
    const lost = log(a).split('live stream unavailable').length;
    await platform().rabbitmq.stop();
    await waitFor('a has lost the live stream', async () => log(a).split('live stream unavailable').length > lost);
    // No announcement can come now: what a held is no longer answered.
    await unannounced(40);
    expect(await value(a)).toBe(40);
    const served = await fromMemory(a);
    expect(await value(a)).toBe(40);
    expect(await fromMemory(a)).toBe(served);

    const consuming = log(a).split('consuming the live stream').length;
    await platform().rabbitmq.start();
    await waitFor(
      'a consuming the live stream again',
      async () => {
        return log(a).split('consuming the live stream').length > consuming;
      },
      60_000,
    );
    await held(a, 40);
    await plant(41);
    await waitFor('41 on a, announced', async () => (await value(a)) === 41);
  });
});
