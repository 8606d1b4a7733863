/**
 * `plantmesh catalog apply`: ODCS and ODPS files written elsewhere (a laboratory's LIMS contract and its
 * product), and files that must be refused with their place and problem.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Asset, Product } from '../../src/model.js';
import {
  contractToModel,
  dataContract,
  dataProduct,
  maxStandardFileBytes,
  parseStandardFile,
  postgresTypeName,
  readStandardFiles,
  StandardFileError,
} from '../../src/standards/index.js';

const fixture = (name: string) => {
  const file = new URL(`fixtures/${name}`, import.meta.url);
  return { file: name, text: readFileSync(file, 'utf8') };
};

/** The problems a file is refused with (fails the test if it is accepted). */
function refused(text: string, file = 'bad.yaml'): string[] {
  try {
    parseStandardFile(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(StandardFileError);
    return (error as StandardFileError).message.split('\n');
  }
  throw new Error('the file was accepted');
}

describe('applying ODCS and ODPS files', () => {
  it("imports a laboratory's ODCS contract: its table, columns, types, units, key, owner and freshness", () => {
    const { file, text } = fixture('lims-heat-chemistry.odcs.yaml');
    const parsed = parseStandardFile(text, file);
    expect(parsed.kind).toBe('DataContract');
    const { product, assets, warnings, contractId } = contractToModel(parsed.document, parsed.at);
    expect(warnings).toEqual([]);
    expect(contractId).toBe('7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13');
    expect(product).toMatchObject({
      name: 'heat_chemistry',
      domain: 'quality',
      owner: 'a.novak@lab.example',
      description: 'Final chemical composition of each heat, as certified by the laboratory',
      status: 'active',
      source: 'manual',
      version: '2.3.1',
      freshnessObjectiveSeconds: 4 * 3600,
      definedBy: 'odcs:7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13',
      ports: [{ assetId: 'postgres_table:lims.heat_chemistry', direction: 'output' }],
    });
    expect(assets).toHaveLength(1);
    const [table] = assets as [Asset];
    expect(table).toMatchObject({
      id: 'postgres_table:lims.heat_chemistry',
      kind: 'postgres_table',
      name: 'lims.heat_chemistry',
      tags: ['certified'],
      properties: { store: 'lims', relation: 'heat_chemistry', host: 'lims-db.lab.example', port: 5432 },
    });
    expect(table.columns).toEqual([
      {
        name: 'sample_id',
        type: 'character varying(20)',
        nullable: false,
        position: 1,
        description: 'LIMS sample number',
        key: true,
      },
      {
        name: 'heat_id',
        type: 'text',
        nullable: false,
        position: 2,
        description: 'The heat the sample was taken from',
      },
      {
        name: 'carbon',
        type: 'numeric(6,4)',
        nullable: false,
        position: 3,
        unit: 'P1',
        description: 'Carbon mass fraction',
      },
      {
        name: 'manganese',
        type: 'numeric(6,4)',
        nullable: true,
        position: 4,
        unit: 'P1',
        description: 'Manganese mass fraction',
      },
      {
        name: 'sulphur',
        type: 'numeric(6,4)',
        nullable: true,
        position: 5,
        unit: 'P1',
        description: 'Sulphur mass fraction',
      },
      { name: 'sampled_at', type: 'timestamp with time zone', nullable: false, position: 6 },
      {
        name: 'released',
        type: 'boolean',
        nullable: true,
        position: 7,
        description: 'Reviewed and released by the laboratory',
      },
    ]);
  });

  it('imports its ODPS product with the contract in the same command, its input port resolved to our own heats', () => {
    const applied = readStandardFiles([
      fixture('lims-heat-chemistry.odps.yaml'),
      fixture('lims-heat-chemistry.odcs.yaml'),
    ]);
    expect(applied.contracts).toHaveLength(1);
    expect(applied.products).toHaveLength(1);
    expect(applied.products[0]?.product).toMatchObject({
      name: 'heat_chemistry',
      owner: 'a.novak@lab.example',
      freshnessObjectiveSeconds: 14_400,
      definedBy: 'odps:urn:lab:product:heat-chemistry',
      ports: [
        { assetId: 'postgres_table:curated.heats', direction: 'input' },
        {
          assetId: 'postgres_table:lims.heat_chemistry',
          direction: 'output',
          description: "The laboratory's certified analyses",
        },
      ],
    });
  });

  it('refuses a product whose port names a contract nobody registered, at that port', () => {
    const { text } = fixture('lims-heat-chemistry.odps.yaml');
    expect(() => readStandardFiles([{ file: 'product.yaml', text }])).toThrowError(
      /^product\.yaml:20:17: \/outputPorts\/0\/contractId: contract "7f3c2a91-5d4e-4b8a-9c61-0e2f4a7b9d13" is not registered/,
    );
  });

  it('reads back what the catalog writes: a generated contract and product apply to the same model', () => {
    const asset: Asset = {
      id: 'postgres_table:curated.heats',
      kind: 'postgres_table',
      name: 'curated.heats',
      description: 'Heats cast at the continuous caster',
      tags: ['steelmaking', 'curated'],
      source: 'discovered',
      columns: [
        { name: 'heat_id', type: 'text', nullable: false, position: 1, key: true },
        { name: 'cast_weight', type: 'numeric', nullable: true, position: 2, unit: 'KGM', description: 'Steel cast' },
        { name: 'finished_at', type: 'timestamp with time zone', nullable: false, position: 3 },
        { name: 'slabs', type: 'integer', nullable: true, position: 4 },
      ],
      properties: { store: 'curated', schema: 'curated', relation: 'heats', timeColumn: 'finished_at' },
    };
    const product: Product = {
      name: 'heats',
      domain: 'steelmaking',
      owner: 'caster-team@plant.local',
      description: 'Heats cast at the continuous caster',
      tags: ['steelmaking'],
      status: 'active',
      source: 'discovered',
      version: '1.0.0',
      freshnessObjectiveSeconds: 900,
      ports: [{ assetId: asset.id, direction: 'output' }],
    };
    const contract = dataContract(product, asset, { postgres: { host: 'db', port: 5432, database: 'plantmesh' } });
    const odps = dataProduct(product, { assets: new Map([[asset.id, asset]]) });
    const applied = readStandardFiles([
      { file: 'heats.odcs.yaml', text: stringify(contract) },
      { file: 'heats.odps.json', text: JSON.stringify(odps, null, 2) },
    ]);
    const back = applied.contracts[0];
    expect(back?.assets[0]?.columns).toEqual(asset.columns);
    expect(back?.assets[0]?.id).toBe(asset.id);
    expect(back?.product).toMatchObject({
      name: 'heats',
      owner: 'caster-team@plant.local',
      freshnessObjectiveSeconds: 900,
      version: '1.0.0',
    });
    expect(applied.products[0]?.product.ports).toEqual([{ assetId: asset.id, direction: 'output' }]);
  });

  it('names the file, line, column, JSON path and problem of every schema violation', () => {
    const problems = refused(
      [
        'apiVersion: v3.1.0',
        'kind: DataContract',
        'id: broken',
        'version: 1.0.0',
        'status: active',
        'owner: someone', // not an ODCS field
        'servers:',
        '  - server: db',
        '    type: postgres',
        '    host: db.example',
        'schema:',
        '  - name: t',
        '    properties:',
        '      - name: c',
        '        logicalType: decimal',
        '',
      ].join('\n'),
      'contract.yaml',
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'contract.yaml:1:1: /: "owner" is not a field of the standard',
        'contract.yaml:8:5: /servers/0: "port" is required',
        'contract.yaml:8:5: /servers/0: "database" is required',
        'contract.yaml:8:5: /servers/0: "schema" is required',
        expect.stringMatching(
          /^contract\.yaml:15:22: \/schema\/0\/properties\/0\/logicalType: must be one of "string", /,
        ),
      ]),
    );
    // The server's own errors explain it: no "host is not a field" noise from the failed branch.
    expect(problems.some((line) => line.includes('"host" is not a field'))).toBe(false);
  });

  it('refuses JSON as well as YAML, with the JSON line', () => {
    const text = '{\n  "apiVersion": "v1.0.0",\n  "kind": "DataProduct",\n  "id": "p",\n  "status": 7\n}\n';
    expect(refused(text, 'product.json')).toEqual(['product.json:5:13: /status: must be string']);
  });

  it('refuses what is not an ODCS or ODPS document, broken YAML, and oversized files', () => {
    expect(refused('apiVersion: plantmesh.dev/v1\nkind: CuratedDefinition\n')).toEqual([
      'bad.yaml:2:7: /kind: kind must be DataContract (ODCS) or DataProduct (ODPS), not "CuratedDefinition"',
    ]);
    expect(refused('kind: DataContract\nid: [unclosed\n')[0]).toMatch(/^bad\.yaml:\d+:\d+: \/: YAML: /);
    expect(refused('- a\n- b\n')).toEqual([
      'bad.yaml:1:1: /: must be a mapping (an ODCS DataContract or an ODPS DataProduct)',
    ]);
    const huge = `kind: DataContract\ndescription:\n  purpose: "${'x'.repeat(maxStandardFileBytes)}"\n`;
    expect(refused(huge)).toEqual([`bad.yaml:1:1: /: larger than ${maxStandardFileBytes} bytes`]);
    // A billion laughs: aliases beyond a hundred are refused rather than expanded.
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 120; i += 1)
      laughs.push(`l${i}: &l${i} [*${i === 1 ? 'a' : `l${i - 1}`}, *${i === 1 ? 'a' : `l${i - 1}`}]`);
    expect(() => parseStandardFile(`kind: DataContract\n${laughs.join('\n')}\n`, 'laughs.yaml')).toThrow();
  });

  it('refuses a contract whose tables are not in PostgreSQL, saying why', () => {
    const text = [
      'apiVersion: v3.1.0',
      'kind: DataContract',
      'id: sales',
      'version: 1.0.0',
      'status: active',
      'servers:',
      '  - server: wh',
      '    type: snowflake',
      '    account: acme',
      '    database: SALES',
      '    schema: PUBLIC',
      'schema:',
      '  - name: orders',
      '',
    ].join('\n');
    expect(() => readStandardFiles([{ file: 'sales.yaml', text }])).toThrowError(
      'sales.yaml:7:3: /servers: the catalog registers PostgreSQL tables and views: give a server of type postgres or postgresql (this contract has snowflake)',
    );
  });

  it('keeps hostile text as text: markup in a description is data, not code', () => {
    const { text } = fixture('lims-heat-chemistry.odcs.yaml');
    const hostile = text.replace(
      'One certified analysis per heat and sample',
      '"<script>alert(1)</script><img src=x onerror=alert(2)>"',
    );
    const parsed = parseStandardFile(hostile, 'hostile.yaml');
    const { assets } = contractToModel(parsed.document, parsed.at);
    expect(assets[0]?.description).toBe('<script>alert(1)</script><img src=x onerror=alert(2)>');
  });

  it('names PostgreSQL types as the catalogs do', () => {
    expect(postgresTypeName('VARCHAR(18)')).toBe('character varying(18)');
    expect(postgresTypeName('int4')).toBe('integer');
    expect(postgresTypeName('timestamptz')).toBe('timestamp with time zone');
    expect(postgresTypeName('float8[]')).toBe('double precision[]');
    expect(postgresTypeName('numeric(6,4)')).toBe('numeric(6,4)');
  });
});
