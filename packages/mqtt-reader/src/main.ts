import { AmqpClient, ConfigError, checkIngestTopology, ingest, MqttConnection, runService } from '@plantmesh/core';
import { defaultClientId, readerEnv } from './config.js';
import { createReaderMetrics } from './metrics.js';
import { Reader } from './reader.js';

await runService(
  { name: 'mqtt-reader', packageJson: new URL('../package.json', import.meta.url), env: readerEnv },
  async ({ config, log, metrics, readiness, shutdown }) => {
    const profile = config.READER_PROFILE;
    const qos = Number(config.MQTT_QOS ?? (profile === 'events' ? 1 : 0)) as 0 | 1 | 2;
    if (profile === 'events' && qos === 0) {
      throw new ConfigError(
        'invalid configuration: MQTT_QOS must be 1 or 2 for the events profile (no event may be lost)',
      );
    }
    const stream = createReaderMetrics(metrics, profile);

    const amqp = new AmqpClient({
      url: config.AMQP_URL,
      log,
      metrics,
      // Declared by the administrator (plantmesh migrate); this service's user may only publish.
      setup: (channel) => checkIngestTopology(channel, { exchanges: [ingest.exchange, ingest.deadLetterExchange] }),
    });
    await amqp.start();
    readiness.register('amqp', () => amqp.ready);
    shutdown.add('amqp', () => amqp.close());

    // The events session outlives the reader (clean start off, stable client id): what arrives while
    // it is away waits in the broker. Sensors start clean: old samples are worth less than a quick start.
    const mqtt = new MqttConnection({
      url: config.MQTT_URL,
      log,
      metrics,
      clientId: config.MQTT_CLIENT_ID ?? defaultClientId(profile),
      clean: profile === 'sensors',
      sessionExpirySeconds: config.MQTT_SESSION_EXPIRY_SECONDS,
      username: config.MQTT_USERNAME,
      password: config.MQTT_PASSWORD,
      client: { properties: { receiveMaximum: Math.min(config.MAX_IN_FLIGHT, 65_535) } },
    });
    const reader = new Reader(
      mqtt.client,
      amqp,
      {
        profile,
        source: config.SOURCE_NAME ?? profile,
        eventIdField: config.EVENT_ID_FIELD,
        maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
        maxJsonDepth: config.MAX_JSON_DEPTH,
        maxInFlight: config.MAX_IN_FLIGHT,
        batchMaxSamples: config.BATCH_MAX_SAMPLES,
        batchMaxMs: config.BATCH_MAX_MS,
        eventBatchMax: config.EVENT_BATCH_MAX,
        eventBatchMaxMs: config.EVENT_BATCH_MAX_MS,
      },
      log,
      stream,
    );
    await mqtt.start(shutdown.signal);
    readiness.register('mqtt', () => mqtt.ready);
    shutdown.add('mqtt', () => mqtt.close());
    shutdown.add('drain', () => reader.drain(Math.max(1_000, config.SHUTDOWN_TIMEOUT_MS - 3_000)));
    shutdown.add('intake', () => reader.stopIntake());
    await reader.subscribe(
      config.MQTT_TOPICS.split(',')
        .map((topic) => topic.trim())
        .filter(Boolean),
      qos,
      config.MQTT_SHARE_GROUP,
    );
  },
);
