/**
 * Written values and values that come in over MQTT, with real processes: the plant publishes over MQTT, the
 * sensors reader and the writer store the samples, and the i3x-api (its own login and RabbitMQ user) takes
 * updates. The last known value is the newest by timestamp whichever path it came by — a later MQTT value wins
 * over an older written one and a later written value over an older MQTT one, whatever the order they
 * arrive in — history holds both, and a subscription sees written values as it sees ingested ones.
 */
import { seriesObjectId } from '@plantmesh/information-model';
import { waitFor } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../../../tests/support/use-ingest-platform.js';
import { LiveApi, type Replica } from './live-api.js';

const path = 'plant1/rolling/line2/cell1/speed';
const element = seriesObjectId(path);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

describe('written and ingested values agree (real MQTT, RabbitMQ, writer and API processes)', () => {
  const platform = useIngestPlatform();
  const api = new LiveApi(platform);
  let replica: Replica;
  let key: string;
  // Whole seconds, ten minutes ago: every timestamp of the test is in the past.
  const base = Math.floor(Date.now() / 1_000) * 1_000 - 600_000;

  async function call(
    method: 'POST' | 'PUT',
    route: string,
    body: Record<string, unknown>,
    // biome-ignore lint/suspicious/noExplicitAny: read freely
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${replica.port}/v1${route}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** The plant publishes a sample at `at` over MQTT; resolves once the writer has stored it. */
  const plant = (value: number, at: number) => api.plant(path, 'MTS', [[at, value]]);

  async function write(value: number, at: number): Promise<void> {
    const answer = await call('PUT', '/objects/value', {
      updates: [{ elementId: element, value: { value, quality: 'Good', timestamp: iso(at) } }],
    });
    expect(answer.body, JSON.stringify(answer.body)).toEqual({
      success: true,
      results: [{ success: true, elementId: element, result: null }],
    });
  }

  async function current(): Promise<{ value: number; timestamp: string }> {
    const answer = await call('POST', '/objects/value', { elementIds: [element] });
    expect(answer.status).toBe(200);
    return answer.body.results[0].result;
  }

  beforeAll(async () => {
    await api.setUp();
    key = await api.key('line-mes', 'read,write,subscribe');
    await plant(10, base);
    replica = await api.start('updates');
    await waitFor('the series as an object', async () => (await current().catch(() => undefined))?.value === 10);
  });

  afterAll(() => api.tearDown());

  it('the newest by timestamp is the last known value, whichever path it came by and whatever the order of arrival', async () => {
    // A written value newer than the MQTT one wins.
    await write(20, base + 10_000);
    expect(await current()).toMatchObject({ value: 20, timestamp: iso(base + 10_000) });
    // An MQTT sample that arrives later but is older than the written value does not displace it.
    await plant(30, base + 5_000);
    expect(await current()).toMatchObject({ value: 20, timestamp: iso(base + 10_000) });
    // A later MQTT value wins over the older written one.
    await plant(40, base + 20_000);
    expect(await current()).toMatchObject({ value: 40, timestamp: iso(base + 20_000) });
    // A value written now but older than the MQTT one goes into history only.
    await write(50, base + 15_000);
    expect(await current()).toMatchObject({ value: 40, timestamp: iso(base + 20_000) });
    // History is one: both paths, in time order.
    const history = await call('POST', '/objects/history', {
      elementIds: [element],
      startTime: iso(base),
      endTime: iso(base + 20_000),
    });
    expect(history.body.results[0].result.values.map((vqt: { value: number }) => vqt.value)).toEqual([
      10, 30, 20, 50, 40,
    ]);
    const audited = await platform().query<{ became_current: boolean }>(
      'select became_current from i3x.update_audit where element_id = $1 order by id',
      [element],
    );
    expect(audited.map((row) => row.became_current)).toEqual([true, false]);
  });

  it('a subscription sees written values as it sees ingested ones', async () => {
    const created = await call('POST', '/subscriptions', { clientId: 'hmi' });
    const subscriptionId = created.body.result.subscriptionId as string;
    await call('POST', '/subscriptions/register', { clientId: 'hmi', subscriptionId, elementIds: [element] });
    // Bound and caught up first, so the written value can only come by the update's own staging.
    await waitFor('the series bound', async () => api.log('updates').includes('series bound'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const received: Array<{ value: number; timestamp: string }> = [];
    let acknowledged: number | undefined;
    const drain = (count: number) =>
      waitFor(`${count} updates`, async () => {
        const answer = await call('POST', '/subscriptions/sync', {
          clientId: 'hmi',
          subscriptionId,
          ...(acknowledged === undefined ? {} : { lastSequenceNumber: acknowledged }),
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        for (const batch of answer.body.result) {
          if (acknowledged !== undefined && batch.sequenceNumber <= acknowledged) continue;
          received.push(...batch.updates);
          acknowledged = batch.sequenceNumber;
        }
        return received.length >= count;
      });
    await write(60, base + 25_000);
    await drain(1);
    await plant(70, base + 30_000);
    await drain(2);
    expect(received.map((update) => [update.value, update.timestamp])).toEqual([
      [60, iso(base + 25_000)],
      [70, iso(base + 30_000)],
    ]);
  });
});
