import type { LocalPorts } from './ports.js';

/** What `plantmesh up` knows of the platform's infrastructure when it starts a service. */
export interface PlatformEndpoints {
  databaseUrl: string;
  amqpUrl: string;
  mqttEventsUrl: string;
  mqttSensorsUrl: string;
  ports: LocalPorts;
}

export interface LocalService {
  name: string;
  /** The service's src/main.ts, relative to the repository root. */
  entry: string;
  env: Record<string, string>;
}

/**
 * The plantmesh services the local platform runs, each with the environment a Helm values block
 * would give it. A new service adds its entry here.
 */
export function localServices(_endpoints: PlatformEndpoints): LocalService[] {
  return [];
}
