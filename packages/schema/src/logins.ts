import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { quoteIdentifier, quoteLiteral, urlWithLogin } from '@plantmesh/core';
import type { SqlSession } from './runner.js';
import type { Store } from './stores.js';

/**
 * The PostgreSQL login of each plantmesh service and the group roles it is granted: the least it needs.
 * Group roles are made by the stores' migrations; a login gets those of the stores on its server.
 * A service added later (the ETL, the I3X API, the catalog) gets its entry here with its own roles.
 */
export const serviceLogins = {
  'amqp-writer': {
    role: 'plantmesh_amqp_writer',
    grants: { raw: 'plantmesh_raw_writer', metrics: 'plantmesh_metrics_writer' },
  },
  // Reads raw events and quarantines what it cannot refine; owns the curated tables it derives.
  'etl-curated': {
    role: 'plantmesh_etl_curated',
    grants: { raw: 'plantmesh_raw_refiner', curated: 'plantmesh_curated_owner' },
  },
  // Reads the curated and metrics stores and maintains the sample rollups; owns the KPI tables it derives.
  'etl-business': {
    role: 'plantmesh_etl_business',
    grants: { curated: 'plantmesh_reader', metrics: 'plantmesh_metrics_rollup', business: 'plantmesh_business_owner' },
  },
  // Serves I3X: keeps the information model in step (model writer on curated), reads values and writes the
  // updates of PUT /objects/value|history through metrics.write_samples (metrics editor; ADR 0018), and its
  // own store: the API keys it checks, its subscriptions, the audit trail it adds to (plantmesh_i3x_server;
  // docs/adr/0015-i3x-api-identities.md).
  'i3x-api': {
    role: 'plantmesh_i3x_api',
    grants: { curated: 'plantmesh_model_writer', metrics: 'plantmesh_metrics_editor', i3x: 'plantmesh_i3x_server' },
  },
  // The catalog: discovers from every store's own catalogs and data (plantmesh_reader on each) and keeps
  // its own store (plantmesh_catalog_server; docs/adr/0016-data-product-catalog.md).
  catalog: {
    role: 'plantmesh_catalog',
    grants: {
      raw: 'plantmesh_reader',
      metrics: 'plantmesh_reader',
      curated: 'plantmesh_reader',
      business: 'plantmesh_reader',
      catalog: 'plantmesh_catalog_server',
    },
  },
} as const satisfies Record<string, { role: string; grants: Partial<Record<Store, string>> }>;

export type ServiceName = keyof typeof serviceLogins;

/** A new password: 32 characters of base64url, fit for a URL and a shell without quoting. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password, so that the password itself never
 * reaches the server (nor its statement log). Printable ASCII only: SASLprep leaves it unchanged.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  if (!/^[\x21-\x7e]{8,}$/.test(password)) {
    throw new Error('a password must be at least 8 printable ASCII characters without spaces');
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates each service's login where missing, grants it the group roles of the stores on this server,
 * and sets its password when one is given (a login without one authenticates by client certificate).
 * Runs with every migration, so that a rotated Secret reaches the database with the next upgrade.
 */
export async function ensureServiceLogins(
  session: SqlSession,
  storesHere: readonly Store[],
  passwords: Partial<Record<ServiceName, string>>,
): Promise<void> {
  for (const [service, login] of Object.entries(serviceLogins) as Array<
    [ServiceName, (typeof serviceLogins)[ServiceName]]
  >) {
    const grants = storesHere.flatMap((store) => {
      const role = (login.grants as Partial<Record<Store, string>>)[store];
      return role ? [role] : [];
    });
    if (grants.length === 0) continue;
    const role = quoteIdentifier(login.role);
    const exists = await session.query('select from pg_roles where rolname = $1', [login.role]);
    if (exists.length === 0) await session.exec(`create role ${role} login`);
    // Whatever was done to it by hand, it is a plain login that inherits its group roles and no more.
    await session.exec(
      `alter role ${role} login nosuperuser nocreatedb nocreaterole inherit noreplication nobypassrls`,
    );
    await session.exec(`grant ${grants.map(quoteIdentifier).join(', ')} to ${role}`);
    const password = passwords[service];
    if (password) await session.exec(`alter role ${role} password ${quoteLiteral(scramVerifier(password))}`);
    await session.exec(`comment on role ${role} is ${quoteLiteral(`plantmesh service: ${service}`)}`);
  }
}

/** A database URL with a service's login in place of the one it has. */
export function serviceUrl(url: string, service: ServiceName, password: string): string {
  return urlWithLogin(url, serviceLogins[service].role, password);
}
