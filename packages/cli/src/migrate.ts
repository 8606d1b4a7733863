import { type Logger, parseEnv } from '@plantmesh/core';
import { type MigrationResult, migrate, stores, storeUrlEnv, storeUrls } from '@plantmesh/schema';

/** `plantmesh migrate`: applies the pending migrations of every store named by the environment. */
export async function migrateCommand(
  log: Logger,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<MigrationResult> {
  const config = parseEnv(storeUrlEnv, environment);
  return migrate(storeUrls(config, stores), log);
}
