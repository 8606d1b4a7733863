/**
 * `plantmesh catalog apply` against a real catalog: its API on a real PostgreSQL that discovered the
 * curated heats; a laboratory's ODCS contract and ODPS product are validated and registered over HTTP,
 * and the catalog then lists the product with its table, columns, units and its input from our heats.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@plantmesh/core';
import { applyDefinition, loadDefinition, shippedDefinitions } from '@plantmesh/etl-curated';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../../src/discovery.js';
import type { ProductDetail } from '../../src/model.js';
import { buildServer } from '../../src/server.js';
import { catalogApply, productDocuments, validateOdcs, validateOdps } from '../../src/standards/index.js';
import { CatalogStore } from '../../src/store.js';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const token = 'registration-token-for-the-test';
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

describe('plantmesh catalog apply against the catalog API (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let app: FastifyInstance;
  let url: string;

  /** Runs the command, returning its exit code and what it printed. */
  const run = async (args: string[], env: Record<string, string | undefined>) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await catalogApply(
      args,
      env,
      (line) => out.push(line),
      (line) => err.push(line),
    );
    return { code, out, err };
  };

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 4 });
    admin.on('error', () => {});
    const client = await admin.connect();
    try {
      await applyDefinition(client, loadDefinition(join(shippedDefinitions, 'heats.yaml')));
    } finally {
      client.release();
    }
    const store = new CatalogStore(admin);
    await store.reconcile(await discover({ pools: { raw: admin, metrics: admin, curated: admin, business: admin } }));
    app = await buildServer({ store, log, version: '0.1.0', registrationToken: token });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}/v1`;
  });

  afterAll(async () => {
    await app?.close();
    await admin?.end();
    await server?.destroy();
  });

  it('validates without registering when asked to (or when no catalog is named)', async () => {
    const files = [fixture('lims-heat-chemistry.odps.yaml'), fixture('lims-heat-chemistry.odcs.yaml')];
    const dry = await run([...files, '--dry-run'], { CATALOG_URL: url, CATALOG_TOKEN: token });
    expect(dry.code).toBe(0);
    expect(dry.out.at(-1)).toBe('valid; nothing registered (--dry-run): 2 registration(s) would be made');
    const offline = await run(files, {});
    expect(offline.code).toBe(0);
    expect(offline.out.at(-1)).toContain('no CATALOG_URL');
    expect((await fetch(`${url}/products/heat_chemistry`)).status).toBe(404);
  });

  it("registers a laboratory's contract and product: the catalog lists its table, columns, units and its input", async () => {
    const { code, out, err } = await run(
      [fixture('lims-heat-chemistry.odps.yaml'), fixture('lims-heat-chemistry.odcs.yaml')],
      { CATALOG_URL: url, CATALOG_TOKEN: token },
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('created product heat_chemistry');
    expect(out).toContain('replaced product heat_chemistry');
    const detail = (await (await fetch(`${url}/products/heat_chemistry`)).json()) as ProductDetail;
    expect(detail).toMatchObject({
      name: 'heat_chemistry',
      domain: 'quality',
      owner: 'a.novak@lab.example',
      source: 'manual',
      freshnessObjectiveSeconds: 14_400,
    });
    expect(detail.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ assetId: 'postgres_table:curated.heats', direction: 'input' }),
        expect.objectContaining({ assetId: 'postgres_table:lims.heat_chemistry', direction: 'output' }),
      ]),
    );
    const table = detail.assets.find((asset) => asset.id === 'postgres_table:lims.heat_chemistry');
    expect(table?.columns.find((column) => column.name === 'carbon')).toMatchObject({
      type: 'numeric(6,4)',
      unit: 'P1',
      nullable: false,
    });
    expect(table?.columns.find((column) => column.name === 'sample_id')).toMatchObject({ key: true });
    // What the catalog now holds, written back in the standards: valid, with the laboratory's units.
    const documents = productDocuments(detail, {
      postgres: { host: 'lims-db.lab.example', port: 5432, database: 'lims' },
      catalogUrl: url,
    });
    expect(validateOdps(documents.product)).toEqual([]);
    expect(documents.contracts).toHaveLength(1);
    expect(validateOdcs(documents.contracts[0])).toEqual([]);
    // The laboratory's contract id is kept, so that its own product file still names it.
    expect(documents.contracts[0]?.id).toBe('7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13');
    expect(documents.product.outputPorts).toEqual([
      expect.objectContaining({ name: 'lims.heat_chemistry', contractId: '7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13' }),
    ]);
    expect(documents.product.inputPorts).toEqual([
      { name: 'curated.heats', version: '1.0.0', contractId: 'urn:plantmesh:contract:curated.heats' },
    ]);
    // Applying again replaces, it does not duplicate.
    const again = await run([fixture('lims-heat-chemistry.odcs.yaml')], { CATALOG_URL: url, CATALOG_TOKEN: token });
    expect(again.out).toContain('replaced product heat_chemistry');
  });

  it("reports the catalog's refusal (a wrong token) and invalid files, with exit codes 1 and 2", async () => {
    const refused = await run([fixture('lims-heat-chemistry.odcs.yaml')], { CATALOG_URL: url, CATALOG_TOKEN: 'wrong' });
    expect(refused.code).toBe(1);
    expect(refused.err).toEqual([
      'product heat_chemistry: the catalog answered 401: the registration token is not valid',
    ]);
    // The laboratory's contract is registered now: its product file alone applies, naming it.
    const later = await run([fixture('lims-heat-chemistry.odps.yaml')], { CATALOG_URL: url, CATALOG_TOKEN: token });
    expect(later.err).toEqual([]);
    expect(later.out).toContain('replaced product heat_chemistry');
    // Without the catalog to ask, that contract is unknown.
    const invalid = await run([fixture('lims-heat-chemistry.odps.yaml')], {});
    expect(invalid.code).toBe(2);
    expect(invalid.err[0]).toMatch(
      /lims-heat-chemistry\.odps\.yaml:20:17: \/outputPorts\/0\/contractId: contract "7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13" is not registered/,
    );
    expect(invalid.err.at(-1)).toBe('1 problem(s); nothing registered');
    const missing = await run(['/nonexistent/contract.yaml'], {});
    expect(missing.code).toBe(2);
  });
});
