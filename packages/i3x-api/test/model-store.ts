/** A store with the platform's model for the tests, as the API's own start and sync make it. */
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { ModelSync, storePlatformOnce } from '../src/index.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });

/** A PostgreSQL with every store migrated and the platform's types stored, and a pool of `max` on it. */
export async function startModelStore(max: number): Promise<{ server: PostgresServer; admin: pg.Pool }> {
  const server = await (await PostgresServer.create()).start();
  await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
  const admin = new pg.Pool({ connectionString: server.url, max });
  admin.on('error', () => {});
  await storePlatformOnce(admin);
  return { server, admin };
}

/** One sync round: the equipment and objects of the series in metrics.series, then the curated products. */
export async function syncModel(pool: pg.Pool): Promise<void> {
  await new ModelSync({
    curated: pool,
    metrics: pool,
    plant: { uri: 'https://plant.example/ns', displayName: 'plant' },
    log,
    intervalMs: 1_000,
  }).round();
}
