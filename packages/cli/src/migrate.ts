import { type Logger, parseEnv } from '@plantmesh/core';
import {
  type MigrationResult,
  migrate,
  passwordVariable,
  type ServiceName,
  type ServicePasswords,
  serviceLogins,
  stores,
  storeUrlEnv,
  storeUrls,
} from '@plantmesh/schema';

/**
 * `plantmesh migrate`: applies the pending migrations of every store named by the environment, and
 * sets each service login's password from its variable (AMQP_WRITER_DB_PASSWORD, ...) where given.
 */
export async function migrateCommand(
  log: Logger,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<MigrationResult> {
  const config = parseEnv(storeUrlEnv, environment);
  const passwords: ServicePasswords = {};
  for (const service of Object.keys(serviceLogins) as ServiceName[]) {
    const password = environment[passwordVariable(service)];
    if (password) passwords[service] = password;
  }
  return migrate(storeUrls(config, stores), log, passwords);
}
