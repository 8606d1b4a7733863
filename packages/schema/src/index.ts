export { apiSignature, apiSignatureFile, recordedApiSignature } from './api-signature.js';
export {
  ensureServiceLogins,
  generatePassword,
  type ServiceName,
  scramVerifier,
  serviceLogins,
  serviceUrl,
} from './logins.js';
export { commonSet, loadMigrations, type Migration, type MigrationSet } from './migrations.js';
export {
  type MigrationResult,
  migrate,
  migrateDatabase,
  pgSession,
  type ServicePasswords,
  type SqlSession,
} from './runner.js';
export { type Store, stores, storeUrlEnv, storeUrls } from './stores.js';
export { createUser, dropUser, listUsers, type PlantmeshUser, rotateUser, type UserRole, userRoles } from './users.js';
