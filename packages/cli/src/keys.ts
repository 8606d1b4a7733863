/**
 * `plantmesh keys`: the I3X API's keys (docs/adr/0015-i3x-api-identities.md). A key is `pmk_` and 256
 * random bits in base64url, printed once; the i3x store keeps its SHA-256 (the API hashes what a client
 * sends the same way: packages/i3x-api/src/auth/api-keys.ts), its scopes and who made it when. Revoking
 * stops the key in every API replica at once (the store notifies them) and keeps its row for the record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseEnv } from '@plantmesh/core';
import { storeUrlEnv, storeUrls } from '@plantmesh/schema';
import pg from 'pg';

export const keyScopes = ['read', 'write', 'subscribe'] as const;
export type KeyScope = (typeof keyScopes)[number];

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const usage = `usage: plantmesh keys create NAME --scopes ${keyScopes.join(',')} | list [--all] | revoke NAME
  a key for the I3X API, shown once; scopes: read (explore and query), write (updates), subscribe (subscriptions)
  I3X_DATABASE_URL or DATABASE_URL: a login that may write i3x.api_keys (an administrator, or the store's owner role)`;

/** A new API key: `pmk_` and 32 random bytes in base64url. */
export function generateApiKey(): string {
  return `pmk_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function parseScopes(text: string | undefined): KeyScope[] {
  const scopes = [
    ...new Set(
      (text ?? '')
        .split(',')
        .map((scope) => scope.trim())
        .filter(Boolean),
    ),
  ];
  if (scopes.length === 0) throw new Error(`give --scopes, some of ${keyScopes.join(',')}`);
  for (const scope of scopes) {
    if (!(keyScopes as readonly string[]).includes(scope)) {
      throw new Error(`unknown scope "${scope}": the scopes are ${keyScopes.join(', ')}`);
    }
  }
  return scopes as KeyScope[];
}

interface Queryable {
  query: pg.Client['query'];
}

/** Makes a key NAME with these scopes and returns it (the only time it is seen). */
export async function createApiKey(client: Queryable, name: string, scopes: KeyScope[]): Promise<string> {
  if (!namePattern.test(name)) {
    throw new Error('a key name is 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  const key = generateApiKey();
  try {
    await client.query('insert into i3x.api_keys (name, key_hash, key_prefix, scopes) values ($1, $2, $3, $4)', [
      name,
      hashApiKey(key),
      key.slice(0, 8),
      scopes,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new Error(`a key named ${name} exists; revoke it first`);
    throw error;
  }
  return key;
}

export interface ApiKeyRow {
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  created_by: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function listApiKeys(client: Queryable, all = false): Promise<ApiKeyRow[]> {
  const { rows } = await client.query<ApiKeyRow>(
    `select name, key_prefix as prefix, scopes, created_at, created_by, last_used_at, revoked_at
       from i3x.api_keys ${all ? '' : 'where revoked_at is null'} order by name, created_at`,
  );
  return rows;
}

/** Revokes the live key NAME; false when there is none. */
export async function revokeApiKey(client: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await client.query(
    'update i3x.api_keys set revoked_at = now() where name = $1 and revoked_at is null',
    [name],
  );
  return (rowCount ?? 0) > 0;
}

const when = (date: Date | null) => (date ? date.toISOString() : '-');

export async function keysCommand(args: string[], say: (line: string) => void): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { scopes: { type: 'string' }, all: { type: 'boolean', default: false } },
  });
  const name = positionals[0];
  if (!action || !['create', 'list', 'revoke'].includes(action) || (action !== 'list' && !name)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let scopes: KeyScope[] = [];
  if (action === 'create') {
    try {
      scopes = parseScopes(values.scopes);
    } catch (error) {
      process.stderr.write(`plantmesh keys create: ${(error as Error).message}\n${usage}\n`);
      return 2;
    }
  }
  const url = storeUrls(parseEnv(storeUrlEnv), ['i3x']).i3x;
  const client = new pg.Client({ connectionString: url, application_name: 'plantmesh-keys' });
  await client.connect();
  try {
    if (action === 'create') {
      const key = await createApiKey(client, name as string, scopes);
      say(`created key ${name} (${scopes.join(', ')}); the key, shown only now:`);
      say(key);
    } else if (action === 'list') {
      const keys = await listApiKeys(client, values.all);
      for (const key of keys) {
        say(
          [
            key.name,
            `${key.prefix}...`,
            key.scopes.join(','),
            `created ${when(key.created_at)} by ${key.created_by}`,
            `last used ${when(key.last_used_at)}`,
            ...(key.revoked_at ? [`revoked ${when(key.revoked_at)}`] : []),
          ].join('\t'),
        );
      }
      say(`${keys.length} key(s)`);
    } else {
      if (!(await revokeApiKey(client, name as string))) {
        process.stderr.write(`plantmesh keys revoke: no live key named ${name}\n`);
        return 1;
      }
      say(`revoked ${name}: it stops working at once`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`plantmesh keys ${action}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.end();
  }
}
