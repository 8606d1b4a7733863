import { brokerUrl, catalogExchange, ingest, setupBroker } from '@plantmesh/core';
import { generatePassword } from '@plantmesh/schema';
import { freePort, RabbitMqServer } from '@plantmesh/testkit';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Runs `work` on a fresh channel of `url`; resolves with the broker's refusal, or undefined. */
async function refusal(
  url: string,
  work: (channel: amqp.ConfirmChannel) => Promise<unknown>,
): Promise<string | undefined> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  const channel = await connection.createConfirmChannel();
  const closed = new Promise<string>((resolve) => channel.on('error', (error: Error) => resolve(error.message)));
  try {
    const outcome = await Promise.race([work(channel).then(() => undefined), closed]);
    // A refusal can also come just after the work seemed done: give the broker a moment to say so.
    const late = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 300));
    return outcome ?? (await Promise.race([closed, late]));
  } catch (error) {
    return (error as Error).message;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Publishes one message with confirms as the user of `url`; resolves with the broker's refusal, or undefined. */
const publishRefusal = (url: string, exchange: string, routingKey: string, body = '{}') =>
  refusal(url, async (channel) => {
    channel.publish(exchange, routingKey, Buffer.from(body));
    await channel.waitForConfirms();
  });

describe('RabbitMQ users: each service may do its job and nothing else (real RabbitMQ)', () => {
  let rabbitmq: RabbitMqServer;
  const passwords = {
    'events-reader': generatePassword(),
    'sensors-reader': generatePassword(),
    'amqp-writer': generatePassword(),
    'i3x-api': generatePassword(),
    catalog: generatePassword(),
  };
  const reader = () => brokerUrl(rabbitmq.url, 'events-reader', passwords['events-reader']);
  const writer = () => brokerUrl(rabbitmq.url, 'amqp-writer', passwords['amqp-writer']);
  const catalog = () => brokerUrl(rabbitmq.url, 'catalog', passwords.catalog);
  const i3x = () => brokerUrl(rabbitmq.url, 'i3x-api', passwords['i3x-api']);

  beforeAll(async () => {
    rabbitmq = await (await RabbitMqServer.create({ managementPort: await freePort() })).start();
    const users = await setupBroker({
      amqpUrl: rabbitmq.url,
      managementUrl: rabbitmq.managementApiUrl as string,
      passwords,
    });
    expect(users).toEqual(['events-reader', 'sensors-reader', 'amqp-writer', 'i3x-api', 'catalog']);
  });

  afterAll(async () => {
    await rabbitmq?.destroy();
  });

  it('a reader publishes to the ingest exchanges, and may not consume, declare or delete', async () => {
    expect(
      await refusal(reader(), async (channel) => {
        channel.publish(ingest.exchange, ingest.routingKeys.events, Buffer.from('[]'), {
          headers: { [ingest.headers.count]: 0 },
        });
        channel.publish(ingest.deadLetterExchange, '', Buffer.from('x'), {
          headers: { [ingest.headers.reason]: 'test' },
        });
        await channel.waitForConfirms();
      }),
    ).toBeUndefined();
    expect(await refusal(reader(), (channel) => channel.consume(ingest.queues.events, () => {}))).toMatch(
      /ACCESS_REFUSED - access to queue 'plantmesh.events' in vhost '\/' refused for user 'plantmesh-events-reader'/,
    );
    expect(await refusal(reader(), (channel) => channel.assertQueue('mine', { durable: true }))).toMatch(
      /ACCESS_REFUSED/,
    );
    expect(await refusal(reader(), (channel) => channel.deleteQueue(ingest.queues.events))).toMatch(/ACCESS_REFUSED/);
  });

  it('the writer consumes its queues, and may not publish or declare', async () => {
    expect(await refusal(writer(), (channel) => channel.consume(ingest.queues.events, () => {}))).toBeUndefined();
    expect(await publishRefusal(writer(), ingest.exchange, ingest.routingKeys.events, '[]')).toMatch(
      /ACCESS_REFUSED - access to exchange 'plantmesh.ingest' in vhost '\/' refused for user 'plantmesh-amqp-writer'/,
    );
    expect(
      await refusal(writer(), (channel) => channel.assertExchange('plantmesh.forged', 'fanout', { durable: true })),
    ).toMatch(
      /ACCESS_REFUSED - access to exchange 'plantmesh.forged' in vhost '\/' refused for user 'plantmesh-amqp-writer'/,
    );
  });

  it('the catalog publishes its registration events on plantmesh.catalog, and may not publish elsewhere, consume or declare', async () => {
    expect(
      await refusal(catalog(), async (channel) => {
        await channel.checkExchange(catalogExchange);
        channel.publish(catalogExchange, 'product.registered.models.twin', Buffer.from('{}'), { persistent: true });
        await channel.waitForConfirms();
      }),
    ).toBeUndefined();
    expect(await publishRefusal(catalog(), ingest.exchange, ingest.routingKeys.events, '[]')).toMatch(
      /ACCESS_REFUSED - access to exchange 'plantmesh.ingest' in vhost '\/' refused for user 'plantmesh-catalog'/,
    );
    expect(await publishRefusal(catalog(), 'plantmesh.live', 'samples.x')).toMatch(
      /ACCESS_REFUSED - access to exchange 'plantmesh.live'/,
    );
    expect(await refusal(catalog(), (channel) => channel.consume(ingest.queues.events, () => {}))).toMatch(
      /ACCESS_REFUSED - access to queue 'plantmesh.events' in vhost '\/' refused for user 'plantmesh-catalog'/,
    );
    // Nor a queue of its own on its exchange, to read its own events (or anything else).
    expect(await refusal(catalog(), (channel) => channel.assertQueue('', { exclusive: true }))).toMatch(
      /ACCESS_REFUSED/,
    );
    expect(
      await refusal(catalog(), (channel) => channel.assertExchange('plantmesh.forged', 'topic', { durable: true })),
    ).toMatch(/ACCESS_REFUSED - access to exchange 'plantmesh.forged'/);
    expect(await refusal(catalog(), (channel) => channel.deleteExchange(catalogExchange))).toMatch(/ACCESS_REFUSED/);
  });

  it('the I3X API binds a queue of its own to the live stream and publishes written values there, nothing else', async () => {
    expect(
      await refusal(i3x(), async (channel) => {
        const { queue } = await channel.assertQueue('', { exclusive: true });
        await channel.bindQueue(queue, 'plantmesh.live', 'samples.#');
        await channel.consume(queue, () => {});
        channel.publish('plantmesh.live', 'samples.plant1.x', Buffer.from('{}'));
        await channel.waitForConfirms();
      }),
    ).toBeUndefined();
    expect(await publishRefusal(i3x(), ingest.exchange, ingest.routingKeys.events, '[]')).toMatch(
      /ACCESS_REFUSED - access to exchange 'plantmesh.ingest' in vhost '\/' refused for user 'plantmesh-i3x-api'/,
    );
    expect(await refusal(i3x(), (channel) => channel.consume(ingest.queues.samples, () => {}))).toMatch(
      /ACCESS_REFUSED - access to queue 'plantmesh.samples'/,
    );
    expect(
      await refusal(i3x(), (channel) => channel.assertExchange('plantmesh.forged', 'topic', { durable: true })),
    ).toMatch(/ACCESS_REFUSED - access to exchange 'plantmesh.forged'/);
  });

  it('a wrong or rotated password is refused at login', async () => {
    await expect(amqp.connect(brokerUrl(rabbitmq.url, 'amqp-writer', 'wrong-password'))).rejects.toThrow(
      /ACCESS_REFUSED|Login was refused/,
    );
    const rotated = generatePassword();
    await setupBroker({
      amqpUrl: rabbitmq.url,
      managementUrl: rabbitmq.managementApiUrl as string,
      passwords: { 'amqp-writer': rotated },
    });
    await expect(amqp.connect(writer())).rejects.toThrow(/ACCESS_REFUSED|Login was refused/);
    const connection = await amqp.connect(brokerUrl(rabbitmq.url, 'amqp-writer', rotated));
    await connection.close();
  });
});
