import type { Logger } from '@plantmesh/core';
import pg from 'pg';
import { ensureServiceLogins, type ServiceName } from './logins.js';
import { commonSet, loadMigrations, type Migration, type MigrationSet } from './migrations.js';
import type { Store } from './stores.js';

/** What the runner needs of a database connection; pg's Client and PGlite both fit behind it. */
export interface SqlSession {
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements. */
  exec(sql: string): Promise<void>;
}

export interface MigrationResult {
  applied: Array<{ set: MigrationSet; version: number; name: string }>;
  alreadyApplied: number;
}

const bootstrap = `
  create schema if not exists plantmesh;
  create table if not exists plantmesh.schema_migrations (
    set_name    text        not null,
    version     integer     not null,
    name        text        not null,
    checksum    text        not null,
    applied_at  timestamptz not null default now(),
    primary key (set_name, version)
  );`;

/** Passwords of the services' logins (see serviceLogins), by service. */
export type ServicePasswords = Partial<Record<ServiceName, string>>;

/**
 * Applies the pending migrations of the given stores to one database, each in its own transaction,
 * then brings the services' logins up to date (see ensureServiceLogins).
 * A session-level advisory lock serialises runners, so that several replicas (or a Helm hook and a
 * developer) can start at once: the second waits, then finds nothing left to do. An applied migration
 * whose file has changed since is an error, never silently re-run.
 */
export async function migrateDatabase(
  session: SqlSession,
  storesHere: Store[],
  log: Logger,
  passwords: ServicePasswords = {},
): Promise<MigrationResult> {
  const result: MigrationResult = { applied: [], alreadyApplied: 0 };
  await session.exec(`select pg_advisory_lock(hashtext('plantmesh.migrate'))`);
  try {
    await session.exec(bootstrap);
    const rows = await session.query<{ set_name: string; version: number; checksum: string }>(
      'select set_name, version, checksum from plantmesh.schema_migrations',
    );
    const applied = new Map(rows.map((row) => [`${row.set_name}/${row.version}`, row.checksum]));
    for (const set of [commonSet, ...storesHere] as MigrationSet[]) {
      for (const migration of loadMigrations(set)) {
        const checksum = applied.get(`${set}/${migration.version}`);
        if (checksum === undefined) {
          await apply(session, migration, log);
          result.applied.push({ set, version: migration.version, name: migration.name });
        } else if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${set}/${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`,
          );
        } else {
          result.alreadyApplied += 1;
        }
      }
    }
    await ensureServiceLogins(session, storesHere, passwords);
  } finally {
    await session.exec(`select pg_advisory_unlock(hashtext('plantmesh.migrate'))`);
  }
  return result;
}

async function apply(session: SqlSession, migration: Migration, log: Logger): Promise<void> {
  const label = `${migration.set}/${String(migration.version).padStart(4, '0')}_${migration.name}`;
  log.info({ migration: label }, 'applying migration');
  await session.exec('begin');
  try {
    await session.exec(migration.sql);
    await session.query(
      'insert into plantmesh.schema_migrations (set_name, version, name, checksum) values ($1, $2, $3, $4)',
      [migration.set, migration.version, migration.name, migration.checksum],
    );
    await session.exec('commit');
  } catch (error) {
    await session.exec('rollback');
    throw new Error(`migration ${label} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Wraps a pg Client; the server's notices (such as the storage path chosen) go to the log. */
export function pgSession(client: pg.Client, log: Logger): SqlSession {
  client.on('notice', (notice) => log.info({ notice: notice.message }, 'database notice'));
  return {
    query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[],
    exec: async (sql: string) => {
      await client.query(sql);
    },
  };
}

/**
 * Migrates every store, each in the database its URL names; stores that share a database are
 * migrated over one connection.
 */
export async function migrate(
  urls: Record<Store, string>,
  log: Logger,
  passwords: ServicePasswords = {},
): Promise<MigrationResult> {
  const byDatabase = new Map<string, Store[]>();
  for (const [store, url] of Object.entries(urls) as Array<[Store, string]>) {
    byDatabase.set(url, [...(byDatabase.get(url) ?? []), store]);
  }
  const total: MigrationResult = { applied: [], alreadyApplied: 0 };
  for (const [url, storesHere] of byDatabase) {
    const client = new pg.Client({ connectionString: url, application_name: 'plantmesh-migrate' });
    await client.connect();
    try {
      const result = await migrateDatabase(pgSession(client, log), storesHere, log, passwords);
      total.applied.push(...result.applied);
      total.alreadyApplied += result.alreadyApplied;
    } finally {
      await client.end();
    }
  }
  log.info({ applied: total.applied.length, alreadyApplied: total.alreadyApplied }, 'migrations done');
  return total;
}
