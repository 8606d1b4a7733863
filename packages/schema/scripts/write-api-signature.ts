/**
 * Records the stable SQL interface's signature (packages/schema/api/signature.txt) from a fresh database
 * with every migration: run it after a deliberate change to schema api, and commit the file with it.
 *   pnpm api:signature
 */
import { writeFileSync } from 'node:fs';
import { createLogger } from '@plantmesh/core';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { apiSignature, apiSignatureFile, migrate, stores, storeUrls } from '../src/index.js';

const server = await PostgresServer.create().then((s) => s.start());
try {
  await migrate(
    storeUrls({ DATABASE_URL: server.url }, stores),
    createLogger({ service: 'api-signature', version: '0', level: 'warn' }),
  );
  const client = new pg.Client(server.url);
  await client.connect();
  const signature = await apiSignature({
    query: async (sql, params) => (await client.query(sql, params)).rows,
    exec: async (sql) => {
      await client.query(sql);
    },
  });
  await client.end();
  writeFileSync(apiSignatureFile, signature);
  process.stdout.write(`${apiSignatureFile}: ${signature.trim().split('\n').length} views and functions\n`);
} finally {
  await server.destroy();
}
