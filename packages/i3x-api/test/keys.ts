/** API keys for the tests, stored as `plantmesh keys create` stores them (the CLI itself is tested in security.test.ts). */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { hashApiKey, type Scope } from '../src/index.js';

export async function insertKey(pool: pg.Pool, name: string, scopes: Scope[]): Promise<string> {
  const key = `pmk_${randomBytes(32).toString('base64url')}`;
  await pool.query('insert into i3x.api_keys (name, key_hash, key_prefix, scopes) values ($1, $2, $3, $4)', [
    name,
    hashApiKey(key),
    key.slice(0, 8),
    scopes,
  ]);
  return key;
}
