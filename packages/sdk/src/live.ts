import { bindingKeysForFilter, decodeLiveMessage, liveExchange, matchesFilter } from '@plantmesh/live-stream';
import amqp, { type ConsumeMessage } from 'amqplib';
import { PlantmeshError } from './errors.js';
import type { Quality } from './types.js';

/** A sample the writer has committed, as the live stream carries it. */
export interface LiveSample {
  /** The series' path. */
  path: string;
  /** UNECE Recommendation 20 code. */
  unit: string | null;
  /** When it was measured. */
  ts: Date;
  /** The value; null when the sensor sent none. */
  value: number | null;
  /** How far the value can be trusted. */
  quality: Quality;
}

/** How a live subscription behaves. */
export interface LiveOptions {
  /** Ends the subscription: the iteration stops without an error and the queue is deleted. */
  signal?: AbortSignal;
  /**
   * Messages (a series' samples of one committed batch each) the broker keeps for a consumer that falls
   * behind (default 10,000); beyond, the oldest are dropped, so that a slow reader costs bounded memory.
   */
  maxQueued?: number;
  /** Messages in the SDK's hands at once (default 50): the broker sends more as they are consumed. */
  prefetch?: number;
}

/** An AMQP connection failure as a PlantmeshError that says what to check. */
function explainAmqp(error: unknown, what: string): PlantmeshError {
  const text = String((error as Error)?.message ?? error);
  if (/ACCESS_REFUSED|403/.test(text)) {
    return new PlantmeshError(
      /login|authenticat|PLAIN/i.test(text) ? 'authentication' : 'permission',
      `${what}: RabbitMQ refused the live stream's user (${text}); it needs the live-reader permissions (plantmesh-live-reader)`,
      { cause: error },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(text)) {
    return new PlantmeshError('connection', `${what}: cannot reach RabbitMQ (${text}); check liveUrl`, {
      cause: error,
    });
  }
  return new PlantmeshError('database', `${what}: ${text}`, { cause: error });
}

/**
 * The samples of the series matching an MQTT filter as the writer commits them, from the live stream
 * (a queue of the subscriber's own, bound to plantmesh.live, deleted when it stops). Back-pressure: the
 * broker hands over `prefetch` messages at a time, and each is acknowledged once its samples were
 * taken from the iterator.
 */
export async function* liveSamples(
  url: string,
  pattern: string,
  options: LiveOptions = {},
): AsyncGenerator<LiveSample> {
  const what = `live values of ${pattern}`;
  let bindings: string[];
  try {
    bindings = bindingKeysForFilter(pattern);
  } catch (error) {
    throw new PlantmeshError('bad-argument', `${what}: ${(error as Error).message}`);
  }
  if (options.signal?.aborted) return;
  let connection: amqp.ChannelModel;
  try {
    connection = await amqp.connect(url);
  } catch (error) {
    throw explainAmqp(error, what);
  }
  const waiting: ConsumeMessage[] = [];
  let failure: PlantmeshError | undefined;
  let wake: () => void = () => {};
  const stop = () => wake();
  options.signal?.addEventListener('abort', stop, { once: true });
  connection.on('error', (error) => {
    failure = explainAmqp(error, what);
  });
  connection.on('close', () => {
    failure ??= new PlantmeshError('connection', `${what}: the connection to RabbitMQ closed`);
    wake();
  });
  try {
    const channel = await connection.createChannel();
    channel.on('error', (error) => {
      failure = explainAmqp(error, what);
    });
    await channel.prefetch(options.prefetch ?? 50);
    const { queue } = await channel.assertQueue('', {
      exclusive: true,
      autoDelete: true,
      arguments: { 'x-max-length': options.maxQueued ?? 10_000, 'x-overflow': 'drop-head' },
    });
    for (const binding of bindings) await channel.bindQueue(queue, liveExchange, binding);
    await channel.consume(queue, (message) => {
      if (message) waiting.push(message);
      else failure = new PlantmeshError('connection', `${what}: the broker cancelled the subscription`);
      wake();
    });
    for (;;) {
      if (options.signal?.aborted) return;
      const message = waiting.shift();
      if (!message) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      // A message carries a parent path's series: the pattern's, and their siblings.
      for (const { path, unit, samples } of decodeLiveMessage(message.content)) {
        if (!matchesFilter(pattern, path)) continue;
        for (const [ts, value, quality] of samples) {
          if (options.signal?.aborted) return;
          yield { path, unit, ts: new Date(ts), value, quality: quality as Quality };
        }
      }
      channel.ack(message);
    }
  } catch (error) {
    throw error instanceof PlantmeshError ? error : explainAmqp(error, what);
  } finally {
    options.signal?.removeEventListener('abort', stop);
    // Closing the connection deletes the exclusive queue with it.
    await connection.close().catch(() => {});
  }
}
