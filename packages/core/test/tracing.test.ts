import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { MosquittoServer, RabbitMqServer } from '@plantmesh/testkit';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, extractTraceContext, injectTraceContext, startTracing } from '../src/index.js';

describe('tracing', () => {
  let mosquitto: MosquittoServer;
  let rabbitmq: RabbitMqServer;
  const exported: Array<{ path: string; bytes: number }> = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      exported.push({ path: req.url ?? '', bytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  beforeAll(async () => {
    [mosquitto, rabbitmq] = await Promise.all([
      MosquittoServer.create().then((s) => s.start()),
      RabbitMqServer.create().then((s) => s.start()),
    ]);
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    collector.close();
    await Promise.all([mosquitto?.destroy(), rabbitmq?.destroy()]);
  });

  it('exports spans over OTLP, logs their trace id, and carries the context through MQTT and AMQP', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const tracing = startTracing('tracing-test', '1.0.0', endpoint);
    const lines: string[] = [];
    const log = createLogger({
      service: 'tracing-test',
      version: '1.0.0',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });

    const span = trace.getTracer('test').startSpan('publish sample');
    const traceId = span.spanContext().traceId;
    await context.with(trace.setSpan(context.active(), span), async () => {
      log.info('inside the span');

      // MQTT v5 user properties, through a real broker.
      const subscriber = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5 });
      await subscriber.subscribeAsync('trace/test', { qos: 1 });
      const received = new Promise<Record<string, string | string[]>>((resolve) =>
        subscriber.on('message', (_topic, _payload, packet) => resolve(packet.properties?.userProperties ?? {})),
      );
      const publisher = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5 });
      await publisher.publishAsync('trace/test', 'x', {
        qos: 1,
        properties: { userProperties: injectTraceContext({}) },
      });
      const fromMqtt = extractTraceContext(await received);
      await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
      expect(trace.getSpanContext(fromMqtt)?.traceId).toBe(traceId);

      // AMQP headers, through a real broker.
      const connection = await amqp.connect(rabbitmq.url);
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('trace-test', { durable: false });
      channel.sendToQueue('trace-test', Buffer.from('x'), { headers: injectTraceContext({}) });
      await channel.waitForConfirms();
      const message = await channel.get('trace-test', { noAck: true });
      await connection.close();
      expect(message).not.toBe(false);
      const fromAmqp = extractTraceContext(message ? message.properties.headers : undefined);
      expect(trace.getSpanContext(fromAmqp)?.traceId).toBe(traceId);
    });
    span.end();
    await tracing.shutdown();

    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      service: 'tracing-test',
      version: '1.0.0',
      trace_id: traceId,
      msg: 'inside the span',
    });
    expect(exported.some((request) => request.path === '/v1/traces' && request.bytes > 0)).toBe(true);
  });
});
