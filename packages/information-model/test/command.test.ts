/** `plantmesh import nodeset` (importCommand): files in order into a real PostgreSQL, and what it refuses. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import { nodesets } from 'node-opcua-nodesets';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCommand } from '../src/store/index.js';
import { DI } from './nodesets.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });

describe('plantmesh import nodeset (real PostgreSQL)', () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('imports the base NodeSet and DI in order, and says what it stored', async () => {
    const lines: string[] = [];
    const code = await importCommand(
      ['nodeset', nodesets.standard, nodesets.di],
      { DATABASE_URL: server.url },
      (line) => lines.push(line),
    );
    expect(code, lines.join('\n')).toBe(0);
    expect(lines[0]).toMatch(/http:\/\/opcfoundation.org\/UA\/: \d+ object types/);
    expect(lines[1]).toContain(DI);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'select count(*)::int as n from curated.model_object_types where namespace_uri = $1',
        [DI],
      );
      expect(rows[0].n).toBeGreaterThan(10);
    } finally {
      await client.end();
    }
  });

  it('refuses what is not a NodeSet with exit 1, and bad usage with 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeset-'));
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<html><body>not a nodeset</body></html>');
    const lines: string[] = [];
    expect(await importCommand(['nodeset', bad], { DATABASE_URL: server.url }, (line) => lines.push(line))).toBe(1);
    expect(lines.at(-1)).toMatch(/bad.xml: refused/);
    expect(await importCommand(['nodeset'], { DATABASE_URL: server.url }, () => {})).toBe(2);
    expect(await importCommand(['types', bad], { DATABASE_URL: server.url }, () => {})).toBe(2);
    expect(await importCommand(['nodeset', bad], {}, () => {})).toBe(2);
  });
});
