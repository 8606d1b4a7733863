/**
 * Subscriptions fed by the live stream, with real processes: the plant publishes over MQTT, the sensors reader
 * and the writer bring the samples into PostgreSQL, the writer publishes what it committed on plantmesh.live,
 * and two i3x-api replicas (each with its own queue, as its own RabbitMQ user and PostgreSQL login) stage
 * them. One subscription is served by either replica with one sequence; both replicas stopped and one started
 * again serves it on without a gap (what came meanwhile is read from the store); a stream on one replica
 * ends when the other opens one; a value written through one replica reaches a stream on the other; a
 * replica killed with a stream open leaves nothing behind that /sync on the other does not get.
 */
import { join } from 'node:path';
import { seriesObjectId } from '@plantmesh/information-model';
import { freePort, startServiceProcess, waitFor } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../../../tests/support/use-ingest-platform.js';
import { apiEntry, LiveApi, type Replica } from './live-api.js';

const path = 'plant1/quench/line1/cell1/temperature';
const element = seriesObjectId(path);

describe('subscriptions fed by the live stream, across restarts and replicas (real processes)', () => {
  const platform = useIngestPlatform();
  const api = new LiveApi(platform);
  let key: string;
  let writeKey: string;
  // An hour ago, whole seconds: samples in the past, and a written value (never in the future) newer than them.
  let clock = Math.floor(Date.now() / 1_000) * 1_000 - 3_600_000;

  const start = (name: string) => api.start(name, { SSE_KEEPALIVE_MS: '500' });
  const replica = (name: string) => api.replicas.get(name) as Replica;

  async function call(
    replica: Replica,
    route: string,
    body: Record<string, unknown>,
    // biome-ignore lint/suspicious/noExplicitAny: read freely
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${replica.port}/v1${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** A subscription created on one replica with the series registered on another (or the same); its id. */
  async function subscribe(createOn: Replica, registerOn: Replica, clientId: string): Promise<string> {
    const created = await call(createOn, '/subscriptions', { clientId });
    const subscriptionId = created.body.result.subscriptionId as string;
    const registered = await call(registerOn, '/subscriptions/register', {
      clientId,
      subscriptionId,
      elementIds: [element],
    });
    expect(registered.body).toEqual({ success: true, results: [{ success: true, elementId: element, result: null }] });
    return subscriptionId;
  }

  /** Opens the subscription's SSE stream on a replica; its text grows as it is read, `done` once it ended. */
  async function openStream(replica: Replica, clientId: string, subscriptionId: string) {
    const response = await fetch(`http://127.0.0.1:${replica.port}/v1/subscriptions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ clientId, subscriptionId }),
    });
    expect(response.status).toBe(200);
    const stream = { text: '', done: false };
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) break;
        stream.text += new TextDecoder().decode(value);
      }
      stream.done = true;
    })();
    return stream;
  }

  /** The plant publishes samples of the series over MQTT; resolves once the writer has stored them. */
  async function plant(...values: number[]): Promise<void> {
    const first = clock + 1_000;
    clock += 1_000 * values.length;
    await api.plant(
      path,
      'CEL',
      values.map((value, i) => [first + i * 1_000, value] as const),
    );
  }

  beforeAll(async () => {
    await api.setUp();
    key = await api.key('live-test', 'read,subscribe');
    writeKey = await api.key('live-test-writer', 'write');
    // The series exists before the API starts: its object is there from the first model sync.
    await plant(10);
    await start('a');
    await start('b');
  });

  afterAll(() => api.tearDown());

  it('serves one subscription from either replica with one sequence, and on without a gap after both restarted', async () => {
    const a = replica('a');
    const b = replica('b');
    const subscriptionId = await subscribe(a, b, 'line-hmi');

    // Gathers updates through /sync on the given replicas in turn, acknowledging each answer.
    let acknowledged: number | undefined;
    const sequences: number[] = [];
    const received: number[] = [];
    const drain = async (on: Replica[], count: number) => {
      let turn = 0;
      await waitFor(`${count} updates`, async () => {
        const replica = on[turn++ % on.length] as Replica;
        const answer = await call(replica, '/subscriptions/sync', {
          clientId: 'line-hmi',
          subscriptionId,
          ...(acknowledged === undefined ? {} : { lastSequenceNumber: acknowledged }),
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        for (const batch of answer.body.result as Array<{
          sequenceNumber: number;
          updates: Array<{ value: number }>;
        }>) {
          if (acknowledged !== undefined && batch.sequenceNumber <= acknowledged) continue;
          sequences.push(batch.sequenceNumber);
          received.push(...batch.updates.map((update) => update.value));
          acknowledged = batch.sequenceNumber;
        }
        return received.length >= count;
      });
    };

    await plant(11, 12, 13);
    await drain([a, b], 3);
    expect(received).toEqual([11, 12, 13]);

    // Both replicas go away; the plant goes on; one comes back and reads what it missed from the store.
    expect(await a.process.stop('SIGTERM')).toBe(0);
    expect(await b.process.stop('SIGTERM')).toBe(0);
    await plant(14, 15);
    const back = await start('a');
    await plant(16);
    await drain([back], 6);
    expect(received).toEqual([11, 12, 13, 14, 15, 16]);
    // The second replica joins again and continues the same sequence.
    const again = await start('b');
    await plant(17);
    await drain([again, back], 7);
    expect(received).toEqual([11, 12, 13, 14, 15, 16, 17]);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(sequences[0]).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${back.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_i3x_live_messages_total\{[^}]*outcome="delivered"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/plantmesh_i3x_streams_open\{[^}]*\} 0/);
  });

  it('stops cleanly on SIGTERM while it is still connecting to the live stream', async () => {
    const child = startServiceProcess({
      entry: apiEntry,
      env: api.environment({ port: await freePort(), opsPort: await freePort() }),
      logFile: join(platform().logDir, 'i3x-api-early-stop.log'),
      // At once when it says it started, before its live-stream connection is up.
      onLine: (line) => {
        if (line.includes('"msg":"started"')) child.signal('SIGTERM');
      },
    });
    expect(await child.waitExit(20_000), child.tail()).toBe(0);
  });

  it('streams from one replica until the client opens a stream on the other, which ends the first', async () => {
    const a = replica('a');
    const b = replica('b');
    const subscriptionId = await subscribe(b, a, 'dashboard');
    const open = (replica: Replica) => openStream(replica, 'dashboard', subscriptionId);
    const values = (stream: { text: string }) =>
      [...stream.text.matchAll(/^data: (.*)$/gm)].flatMap((m) =>
        JSON.parse(m[1] as string).map((u: { value: number }) => u.value),
      );
    const first = await open(a);
    await plant(20);
    await waitFor('the update on the first stream', async () => values(first).includes(20));
    const second = await open(b);
    await waitFor('the first stream ended by the second', async () => first.done);
    await plant(21);
    await waitFor('the update on the second stream', async () => values(second).includes(21));
    expect(values(first)).not.toContain(21);
    await waitFor('keepalives', async () => second.text.includes(': keepalive'));

    // A value written through the replica without the stream reaches it, by the live stream.
    clock += 1_000;
    const written = new Date(clock).toISOString();
    const put = await fetch(`http://127.0.0.1:${a.port}/v1/objects/value`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writeKey}` },
      body: JSON.stringify({
        updates: [{ elementId: element, value: { value: 22, quality: 'Good', timestamp: written } }],
      }),
    });
    const answer = (await put.json()) as { success: boolean };
    expect(answer.success, JSON.stringify(answer)).toBe(true);
    await waitFor('the written value on the stream of the other replica', async () => values(second).includes(22));
    expect(values(second).filter((value) => value === 22)).toHaveLength(1);
  });

  it('a replica killed with a stream open: /sync on the other gets what the stream had not sent, and after', async () => {
    const a = replica('a');
    const b = replica('b');
    const subscriptionId = await subscribe(a, a, 'crashing-hmi');
    const stream = await openStream(a, 'crashing-hmi', subscriptionId);
    await plant(30);
    await waitFor('the update streamed', async () => stream.text.includes('"value":30'));
    a.process.signal('SIGKILL');
    await a.process.waitExit();
    await plant(31, 32);
    // While the stream looks alive (a few keepalives), /sync is refused; then it serves what came after.
    const received: number[] = [];
    await waitFor('31 and 32 by /sync on the other replica', async () => {
      const answer = await call(b, '/subscriptions/sync', { clientId: 'crashing-hmi', subscriptionId });
      if (answer.status === 409) return false;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      received.splice(
        0,
        received.length,
        ...answer.body.result.flatMap((batch: { updates: Array<{ value: number }> }) =>
          batch.updates.map((update) => update.value),
        ),
      );
      return received.includes(32);
    });
    // 30 may come again (the stream's marks are saved every few seconds), nothing older, nothing missing.
    expect(received.filter((value) => value !== 30)).toEqual([31, 32]);
    await start('a');
  });
});
