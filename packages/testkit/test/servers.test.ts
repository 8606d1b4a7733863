import amqp from 'amqplib';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isPortOpen,
  type MosquittoServer,
  type PlatformServers,
  type PostgresServer,
  type RabbitMqServer,
  startPlatformServers,
} from '../src/index.js';

describe('local servers', () => {
  let servers: PlatformServers;
  let postgres: PostgresServer;
  let rabbitmq: RabbitMqServer;
  let mosquitto: MosquittoServer;

  beforeAll(async () => {
    servers = await startPlatformServers();
    ({ postgres, rabbitmq, mosquitto } = servers);
  });

  afterAll(async () => {
    await servers?.destroy();
  });

  it('postgres keeps committed rows across kill -9 and restart', async () => {
    const client = new pg.Client(postgres.url);
    await client.connect();
    await client.query('create table kept (n int)');
    await client.query('insert into kept values (1), (2)');
    await client.end();
    await postgres.kill();
    expect(await isPortOpen(postgres.port)).toBe(false);
    await postgres.start();
    const again = new pg.Client(postgres.url);
    await again.connect();
    const { rows } = await again.query('select count(*)::int as n from kept');
    await again.end();
    expect(rows[0].n).toBe(2);
  });

  it('rabbitmq keeps a durable queue and persistent messages across a restart', async () => {
    const connection = await amqp.connect(rabbitmq.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('kept', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    channel.sendToQueue('kept', Buffer.from('hello'), { persistent: true });
    await channel.waitForConfirms();
    await connection.close();
    await rabbitmq.restart();
    const again = await amqp.connect(rabbitmq.url);
    const check = await again.createChannel();
    const message = await check.get('kept', { noAck: true });
    await again.close();
    expect(message ? message.content.toString() : undefined).toBe('hello');
  });

  it('mosquitto delivers between two clients and stops when killed', async () => {
    const subscriber = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5 });
    await subscriber.subscribeAsync('plant/test', { qos: 1 });
    const received = new Promise<string>((resolve) =>
      subscriber.on('message', (_t, payload) => resolve(payload.toString())),
    );
    const publisher = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5 });
    await publisher.publishAsync('plant/test', 'sample', { qos: 1 });
    expect(await received).toBe('sample');
    await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
    await mosquitto.kill();
    expect(await isPortOpen(mosquitto.port)).toBe(false);
  });
});
