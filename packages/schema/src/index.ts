export { commonSet, loadMigrations, type Migration, type MigrationSet } from './migrations.js';
export { type MigrationResult, migrate, migrateDatabase, pgSession, type SqlSession } from './runner.js';
export { type Store, stores, storeUrlEnv, storeUrls } from './stores.js';
