import { setTimeout as delay } from 'node:timers/promises';
import { generatePassword } from '@plantmesh/schema';
import { MosquittoServer } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('MQTT users and ACLs on the local brokers, as on the chart’s (real Mosquitto)', () => {
  let broker: MosquittoServer;

  beforeAll(async () => {
    broker = await (
      await MosquittoServer.create({
        users: [
          { username: 'plantmesh-reader', password: generatePassword(), read: ['#'] },
          { username: 'caster-l2', password: generatePassword(), write: ['plant1/caster/#'] },
        ],
      })
    ).start();
  });

  afterAll(async () => {
    await broker?.destroy();
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow(
      /Not authorized|Bad User Name or Password/,
    );
    const wrong = broker.urlFor('caster-l2').replace(/:[^:@]+@/, ':wrong@');
    await expect(mqtt.connectAsync(wrong, { protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow(
      /Not authorized|Bad User Name or Password/,
    );
  });

  it('lets a publisher publish under its subtree only, and a reader read only', async () => {
    const reader = await mqtt.connectAsync(broker.urlFor('plantmesh-reader'), { protocolVersion: 5 });
    const received: string[] = [];
    reader.on('message', (topic) => received.push(topic));
    await reader.subscribeAsync('$share/readers/#', { qos: 1 });
    const caster = await mqtt.connectAsync(broker.urlFor('caster-l2'), { protocolVersion: 5 });

    await caster.publishAsync('plant1/caster/strand1/events/heat.finished', '{"id":"h1"}', { qos: 1 });
    await expect(
      caster.publishAsync('plant1/quench/line1/events/quench.done', '{"id":"q1"}', { qos: 1 }),
    ).rejects.toThrow(/Not authorized/);
    await expect(reader.publishAsync('plant1/caster/strand1/events/forged', '{"id":"f1"}', { qos: 1 })).rejects.toThrow(
      /Not authorized/,
    );
    await delay(500);
    expect(received).toEqual(['plant1/caster/strand1/events/heat.finished']);
    await Promise.all([reader.endAsync(), caster.endAsync()]);
  });
});
