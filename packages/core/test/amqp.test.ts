import { RabbitMqServer } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient, createLogger } from '../src/index.js';

describe('AmqpClient.publish', () => {
  let rabbitmq: RabbitMqServer;
  let client: AmqpClient;

  beforeAll(async () => {
    rabbitmq = await RabbitMqServer.create().then((s) => s.start());
    const log = createLogger({ service: 'amqp-test', version: '0', level: 'silent' });
    client = new AmqpClient({
      url: rabbitmq.url,
      log,
      setup: async (channel) => {
        await channel.assertExchange('test.routed', 'direct', { durable: false });
        await channel.assertQueue('test.queue', { durable: false });
        await channel.bindQueue('test.queue', 'test.routed', 'key');
      },
    });
    await client.start();
  });

  afterAll(async () => {
    await client?.close();
    await rabbitmq?.destroy();
  });

  it('resolves once a queue holds the message', async () => {
    await client.publish('test.routed', 'key', Buffer.from('kept'));
    const channel = await client.channel();
    const message = await channel.get('test.queue', { noAck: true });
    expect(message ? message.content.toString() : undefined).toBe('kept');
  });

  it('rejects a message that no queue takes, though the broker confirms it', async () => {
    await expect(client.publish('test.routed', 'no-such-binding', Buffer.from('lost'))).rejects.toThrow(
      /no queue took the message/,
    );
  });
});
