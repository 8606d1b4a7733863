import type { BrokerService } from '@plantmesh/core';
import type { ServiceName } from '@plantmesh/schema';
import type { LocalPorts } from './ports.js';

/** What `plantmesh up` knows of the platform's infrastructure when it starts a service. */
export interface PlatformEndpoints {
  /** The administrator's: migrations and the person at the keyboard, never a service. */
  databaseUrl: string;
  /** Each service's own login (see serviceLogins). */
  serviceDatabaseUrls: Record<ServiceName, string>;
  /** Each service's own RabbitMQ user (see brokerUsers). */
  amqpUrls: Record<BrokerService, string>;
  mqttEventsUrl: string;
  mqttSensorsUrl: string;
  /** The readers' user on both brokers. */
  mqttReader: { username: string; password: string };
  /** The brokers' URLs as the simulator's user, which publishes under plant1/ only. */
  simulatorUrls: { events: string; sensors: string };
  /** The catalog's registration token (new at every start). */
  catalogToken: string;
  ports: LocalPorts;
}

export interface LocalService {
  name: string;
  /** The service's src/main.ts, relative to the repository root. */
  entry: string;
  args?: string[];
  env: Record<string, string>;
  /** false for a program without an ops port (the simulator). */
  ops?: boolean;
}

/**
 * The plantmesh services the local platform runs, each with the environment a Helm values block
 * would give it, and the simulator feeding them. A new service adds its entry here.
 */
export function localServices(endpoints: PlatformEndpoints): LocalService[] {
  const reader = 'packages/mqtt-reader/src/main.ts';
  return [
    {
      name: 'amqp-writer',
      entry: 'packages/amqp-writer/src/main.ts',
      env: { DATABASE_URL: endpoints.serviceDatabaseUrls['amqp-writer'], AMQP_URL: endpoints.amqpUrls['amqp-writer'] },
    },
    {
      name: 'events-reader',
      entry: reader,
      env: {
        READER_PROFILE: 'events',
        MQTT_URL: endpoints.mqttEventsUrl,
        MQTT_USERNAME: endpoints.mqttReader.username,
        MQTT_PASSWORD: endpoints.mqttReader.password,
        MQTT_CLIENT_ID: 'plantmesh-events-reader-local',
        MQTT_SHARE_GROUP: 'plantmesh-events',
        AMQP_URL: endpoints.amqpUrls['events-reader'],
      },
    },
    {
      name: 'sensors-reader',
      entry: reader,
      env: {
        READER_PROFILE: 'sensors',
        MQTT_URL: endpoints.mqttSensorsUrl,
        MQTT_USERNAME: endpoints.mqttReader.username,
        MQTT_PASSWORD: endpoints.mqttReader.password,
        MQTT_SHARE_GROUP: 'plantmesh-sensors',
        AMQP_URL: endpoints.amqpUrls['sensors-reader'],
      },
    },
    {
      name: 'etl-curated',
      entry: 'packages/etl-curated/src/main.ts',
      // The shipped definitions (the worked steel plant); edit or add files there and they apply live.
      env: { DATABASE_URL: endpoints.serviceDatabaseUrls['etl-curated'] },
    },
    {
      name: 'etl-business',
      entry: 'packages/etl-business/src/main.ts',
      // The shipped KPI definitions; edit or add files there and they apply live.
      env: { DATABASE_URL: endpoints.serviceDatabaseUrls['etl-business'] },
    },
    {
      name: 'i3x-api',
      entry: 'packages/i3x-api/src/main.ts',
      // Plain HTTP on loopback, as every local server (ADR 0007); keys as in production.
      env: {
        DATABASE_URL: endpoints.serviceDatabaseUrls['i3x-api'],
        I3X_HOST: '127.0.0.1',
        I3X_PORT: String(endpoints.ports.i3xApi),
        ALLOW_PLAIN_HTTP: 'true',
        // The live stream that feeds subscriptions, as its own RabbitMQ user (plantmesh-i3x-api).
        AMQP_URL: endpoints.amqpUrls['i3x-api'],
      },
    },
    {
      name: 'catalog',
      entry: 'packages/catalog/src/main.ts',
      // Discovers the stores, the definitions and the topics; a shorter interval than in production, so
      // that what the simulator starts publishing shows within seconds.
      env: {
        DATABASE_URL: endpoints.serviceDatabaseUrls.catalog,
        CATALOG_HOST: '127.0.0.1',
        CATALOG_PORT: String(endpoints.ports.catalog),
        CATALOG_PUBLIC_URL: `http://127.0.0.1:${endpoints.ports.catalog}`,
        REGISTRATION_TOKEN: endpoints.catalogToken,
        // Its registration events on plantmesh.catalog, as its own RabbitMQ user (plantmesh-catalog).
        AMQP_URL: endpoints.amqpUrls.catalog,
        I3X_URL: `http://127.0.0.1:${endpoints.ports.i3xApi}`,
        DISCOVERY_INTERVAL_MS: '15000',
      },
    },
    {
      name: 'simulator',
      entry: 'packages/simulator/src/main.ts',
      args: [
        ...['--sensors-url', endpoints.simulatorUrls.sensors, '--events-url', endpoints.simulatorUrls.events],
        ...['--series', '200', '--rate', '1000', '--events-rate', '5', '--progress-seconds', '10'],
      ],
      env: {},
      ops: false,
    },
  ];
}
