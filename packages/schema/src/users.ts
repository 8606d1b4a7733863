import { quoteIdentifier, quoteLiteral } from '@plantmesh/core';
import type pg from 'pg';
import { generatePassword, scramVerifier } from './logins.js';

/** What a person's or a model's login may do: read every store, or also write results into raw. */
export const userRoles = { reader: 'plantmesh_reader', 'results-writer': 'plantmesh_results_writer' } as const;
export type UserRole = keyof typeof userRoles;

export interface PlantmeshUser {
  name: string;
  role: UserRole;
  /** When its password was last set. */
  since: string;
}

const marker = 'plantmesh user';

/** A login name PostgreSQL takes unquoted, and none of the platform's own roles. */
function checkName(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`a user name is 1 to 63 lower-case letters, digits and _, starting with a letter (got "${name}")`);
  }
  if (name.startsWith('plantmesh') || name.startsWith('pg_') || name === 'postgres') {
    throw new Error(`"${name}" is reserved for the platform and the server`);
  }
}

async function userOf(client: pg.ClientBase, name: string): Promise<PlantmeshUser | undefined> {
  return (await listUsers(client)).find((user) => user.name === name);
}

/** Creates a login with a generated password, which is returned once and stored only as a verifier. */
export async function createUser(client: pg.ClientBase, name: string, role: UserRole): Promise<string> {
  checkName(name);
  if (!(role in userRoles)) throw new Error(`--role must be one of ${Object.keys(userRoles).join(', ')}`);
  const exists = await client.query('select from pg_roles where rolname = $1', [name]);
  if (exists.rowCount) throw new Error(`a role named "${name}" exists already`);
  const password = generatePassword();
  const comment = JSON.stringify({ role, since: new Date().toISOString() });
  await client.query('begin');
  try {
    await client.query(
      `create role ${quoteIdentifier(name)} login password ${quoteLiteral(scramVerifier(password))} in role ${userRoles[role]}`,
    );
    await client.query(`comment on role ${quoteIdentifier(name)} is ${quoteLiteral(`${marker} ${comment}`)}`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  return password;
}

/** The logins made by `createUser`, by name. */
export async function listUsers(client: pg.ClientBase): Promise<PlantmeshUser[]> {
  const { rows } = await client.query<{ name: string; description: string }>(
    `select r.rolname as name, d.description from pg_roles r
     join pg_shdescription d on d.objoid = r.oid and d.classoid = 'pg_authid'::regclass
     where d.description like $1 order by 1`,
    [`${marker} %`],
  );
  return rows.map((row) => {
    const { role, since } = JSON.parse(row.description.slice(marker.length + 1)) as Omit<PlantmeshUser, 'name'>;
    return { name: row.name, role, since };
  });
}

/** Gives a user a new generated password (the old one stops working at once) and returns it. */
export async function rotateUser(client: pg.ClientBase, name: string): Promise<string> {
  const user = await userOf(client, name);
  if (!user) throw new Error(`no plantmesh user named "${name}" (see plantmesh users list)`);
  const password = generatePassword();
  const comment = JSON.stringify({ role: user.role, since: new Date().toISOString() });
  await client.query(`alter role ${quoteIdentifier(name)} password ${quoteLiteral(scramVerifier(password))}`);
  await client.query(`comment on role ${quoteIdentifier(name)} is ${quoteLiteral(`${marker} ${comment}`)}`);
  return password;
}

/** Drops a user; its open sessions end now rather than keep the access it no longer has. */
export async function dropUser(client: pg.ClientBase, name: string): Promise<void> {
  if (!(await userOf(client, name))) throw new Error(`no plantmesh user named "${name}" (see plantmesh users list)`);
  await client.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [name]);
  await client.query(`drop role ${quoteIdentifier(name)}`);
}
