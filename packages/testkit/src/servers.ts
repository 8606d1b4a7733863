import { MosquittoServer } from './mosquitto.js';
import { freePort } from './ports.js';
import { PostgresServer } from './postgres.js';
import { RabbitMqServer } from './rabbitmq.js';

export interface PlatformServers {
  postgres: PostgresServer;
  rabbitmq: RabbitMqServer;
  mosquitto: MosquittoServer;
  /** Stops all three and removes their temporary folders. */
  destroy(): Promise<void>;
}

/** The three servers most integration tests need, started side by side on free ports. */
export async function startPlatformServers(): Promise<PlatformServers> {
  const [postgres, rabbitmq, mosquitto] = await Promise.all([
    PostgresServer.create().then((s) => s.start()),
    // With its management API, where `plantmesh migrate` makes the services' users.
    freePort()
      .then((managementPort) => RabbitMqServer.create({ managementPort }))
      .then((s) => s.start()),
    MosquittoServer.create().then((s) => s.start()),
  ]);
  return {
    postgres,
    rabbitmq,
    mosquitto,
    destroy: async () => {
      await Promise.all([postgres.destroy(), rabbitmq.destroy(), mosquitto.destroy()]);
    },
  };
}
