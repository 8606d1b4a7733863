import { brokerUserNames, env, type Logger, parseEnv, passwordVariable, setupBroker } from '@plantmesh/core';
import {
  type MigrationResult,
  migrate,
  type ServiceName,
  type ServicePasswords,
  serviceLogins,
  stores,
  storeUrlEnv,
  storeUrls,
} from '@plantmesh/schema';

const migrateEnv = {
  ...storeUrlEnv,
  /** The RabbitMQ administrator, who declares the topology; unset when the plant's operators do it. */
  AMQP_URL: env.url(['amqp', 'amqps']).optional(),
  /** The management API with the administrator's credentials, to create the services' users. */
  RABBITMQ_MANAGEMENT_URL: env.url(['http', 'https']).optional(),
};

/** The passwords given in the environment, by service, from each one's variable. */
function passwordsFrom<S extends string>(
  services: readonly S[],
  server: 'DB' | 'AMQP',
  environment: NodeJS.ProcessEnv,
): Partial<Record<S, string>> {
  const passwords: Partial<Record<S, string>> = {};
  for (const service of services) {
    const password = environment[passwordVariable(service, server)];
    if (password) passwords[service] = password;
  }
  return passwords;
}

/**
 * `plantmesh migrate`: applies the pending migrations of every store named by the environment and sets
 * each service login's password from its variable (AMQP_WRITER_DB_PASSWORD, ...); with AMQP_URL and
 * RABBITMQ_MANAGEMENT_URL it also declares the RabbitMQ topology and the services' RabbitMQ users
 * (EVENTS_READER_AMQP_PASSWORD, ...).
 */
export async function migrateCommand(
  log: Logger,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<MigrationResult> {
  const config = parseEnv(migrateEnv, environment);
  const passwords: ServicePasswords = passwordsFrom(Object.keys(serviceLogins) as ServiceName[], 'DB', environment);
  const result = await migrate(storeUrls(config, stores), log, passwords);
  if (config.AMQP_URL && config.RABBITMQ_MANAGEMENT_URL) {
    const users = await setupBroker({
      amqpUrl: config.AMQP_URL,
      managementUrl: config.RABBITMQ_MANAGEMENT_URL,
      passwords: passwordsFrom(brokerUserNames, 'AMQP', environment),
    });
    log.info({ users }, 'rabbitmq topology declared, service users set');
  }
  return result;
}
