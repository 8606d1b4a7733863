import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { backoffDelay } from './backoff.js';
import { trackConnection } from './connection-metrics.js';

export type { IClientOptions as MqttClientOptions, MqttClient } from 'mqtt';

export interface MqttOptions {
  url: string;
  log: Logger;
  clientId: string;
  /** false keeps the session (subscriptions and queued QoS 1/2 messages) across reconnects. */
  clean: boolean;
  /** MQTT 5 session expiry; only meaningful with clean = false. */
  sessionExpirySeconds?: number;
  username?: string;
  password?: string;
  /** Extra mqtt.js options (for example manualAcks). */
  client?: Partial<IClientOptions>;
  /** Where the connection's up/lost metrics go; `target` labels them (default mqtt). */
  metrics?: Registry;
  target?: string;
}

/**
 * An MQTT 5 client that reconnects with exponential backoff (mqtt.js retries at a fixed period; the
 * period is raised after each failed attempt and reset on connect) and reports readiness.
 * Subscriptions are re-sent by mqtt.js when the broker did not keep the session.
 */
export class MqttConnection {
  readonly client: MqttClient;
  private failures = 0;

  constructor(private readonly options: MqttOptions) {
    const { log } = options;
    const tracker = trackConnection(options.metrics, options.target ?? 'mqtt');
    this.client = mqtt.connect(options.url, {
      protocolVersion: 5,
      clientId: options.clientId,
      clean: options.clean,
      username: options.username,
      password: options.password,
      reconnectPeriod: backoffDelay(1),
      connectTimeout: 5_000,
      ...options.client,
      // Merged, not replaced: without the session expiry an MQTT 5 session ends with the connection.
      properties: {
        ...options.client?.properties,
        ...(options.clean ? {} : { sessionExpiryInterval: options.sessionExpirySeconds ?? 86_400 }),
      },
    });
    this.client.on('connect', (connack) => {
      this.failures = 0;
      tracker.set(true);
      this.client.options.reconnectPeriod = backoffDelay(1);
      log.info({ sessionPresent: connack.sessionPresent }, 'mqtt connected');
    });
    this.client.on('close', () => {
      tracker.set(false);
      this.failures += 1;
      this.client.options.reconnectPeriod = backoffDelay(this.failures, { maxMs: 5_000 });
      if (this.failures === 1) log.warn('mqtt connection lost, reconnecting');
    });
    this.client.on('error', (error) => log.warn({ err: error }, 'mqtt error'));
  }

  get ready(): boolean {
    return this.client.connected;
  }

  /** Resolves on the first connect; connection errors before it are retried, not thrown. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.client.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Disconnects cleanly; forces the socket closed if that takes longer than `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const outcome = await Promise.race([this.client.endAsync(), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.options.log.warn('mqtt disconnect timed out, closing the connection');
      await this.client.endAsync(true);
    }
  }
}
