/**
 * `plantmesh catalog apply FILE...`: ODCS contracts and ODPS products read and validated (apply.ts), then
 * registered with the catalog's API (PUT /v1/products/{name} with the registration token): a contract
 * registers its product with its tables described as assets, a product file registers its ports. Without
 * a catalog URL (or with --dry-run) the files are validated and reported, nothing is registered.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Asset, Product } from '../model.js';
import { type AppliedFiles, readStandardFiles, StandardFileError } from './apply.js';

/** One registration: the product's name, the body the API takes, and the file it came from. */
export interface Registration {
  name: string;
  body: Record<string, unknown>;
  from: string;
}

function productBody(product: Product, assets: Asset[] = []): Record<string, unknown> {
  return {
    ...(product.title ? { title: product.title } : {}),
    domain: product.domain,
    owner: product.owner,
    description: product.description,
    tags: product.tags,
    status: product.status,
    ...(product.version ? { version: product.version } : {}),
    freshnessObjectiveSeconds: product.freshnessObjectiveSeconds,
    ports: product.ports.map((port) => ({
      assetId: port.assetId,
      direction: port.direction,
      ...(port.description ? { description: port.description } : {}),
    })),
    ...(assets.length > 0
      ? {
          assets: assets.map((asset) => ({
            kind: asset.kind,
            name: asset.name,
            ...(asset.description ? { description: asset.description } : {}),
            tags: asset.tags,
            columns: asset.columns.map((column) => ({
              name: column.name,
              type: column.type,
              nullable: column.nullable,
              ...(column.unit ? { unit: column.unit } : {}),
              ...(column.description ? { description: column.description } : {}),
              ...(column.key ? { key: true } : {}),
            })),
            properties: asset.properties,
          })),
        }
      : {}),
  };
}

/**
 * What the applied files register, in order: each contract's product with its tables (so that the
 * assets exist), then each product file, which replaces a contract's product of the same name with its
 * own ports.
 */
export function registrations(applied: AppliedFiles): Registration[] {
  return [
    ...applied.contracts.map((contract) => ({
      name: contract.product.name,
      body: productBody(contract.product, contract.assets),
      from: contract.file,
    })),
    ...applied.products.map((entry) => ({
      name: entry.product.name,
      body: productBody(entry.product),
      from: entry.file,
    })),
  ];
}

/** The catalog refused a registration: its RFC 9457 problem. */
export class RegistrationError extends Error {
  constructor(
    readonly product: string,
    readonly status: number,
    detail: string,
  ) {
    super(`product ${product}: the catalog answered ${status}: ${detail}`);
    this.name = 'RegistrationError';
  }
}

/** PUTs each registration to the catalog; stops at the first refusal. */
export async function registerWithCatalog(
  catalogUrl: string,
  token: string,
  items: readonly Registration[],
): Promise<Array<{ name: string; outcome: 'created' | 'replaced' }>> {
  const base = catalogUrl.replace(/\/$/, '');
  const done: Array<{ name: string; outcome: 'created' | 'replaced' }> = [];
  for (const item of items) {
    const response = await fetch(`${base}/products/${encodeURIComponent(item.name)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(item.body),
    });
    if (!response.ok) {
      const text = await response.text();
      let detail = text;
      try {
        const problem = JSON.parse(text) as { detail?: string; title?: string };
        detail = problem.detail ?? problem.title ?? text;
      } catch {}
      throw new RegistrationError(item.name, response.status, detail.slice(0, 2_000));
    }
    done.push({ name: item.name, outcome: response.status === 201 ? 'created' : 'replaced' });
  }
  return done;
}

/**
 * The contracts the catalog already holds, by id: the tables registered from a contract keep its id
 * (asset property `contractId`), so that a product file applied later may name it.
 */
export async function registeredContracts(catalogUrl: string): Promise<Map<string, string[]>> {
  const base = catalogUrl.replace(/\/$/, '');
  const contracts = new Map<string, string[]>();
  for (const kind of ['postgres_table', 'postgres_view']) {
    for (let offset = 0; ; offset += 1_000) {
      const response = await fetch(`${base}/assets?kind=${kind}&limit=1000&offset=${offset}`);
      if (!response.ok) throw new RegistrationError('-', response.status, `listing the catalog's ${kind} assets`);
      const page = (await response.json()) as { assets: Asset[]; total: number };
      for (const asset of page.assets) {
        const id = asset.properties?.contractId;
        if (typeof id === 'string') contracts.set(id, [...(contracts.get(id) ?? []), asset.id]);
      }
      if (page.assets.length === 0 || offset + page.assets.length >= page.total) break;
    }
  }
  return contracts;
}

export const catalogApplyUsage = `usage: plantmesh catalog apply FILE [FILE ...] [--dry-run]
  registers ODCS data contracts (kind: DataContract) and ODPS data products (kind: DataProduct), YAML or
  JSON, after validating them against the published schemas; contracts first, so that products may name
  them. CATALOG_URL: the catalog's API (e.g. http://catalog:8080/v1); CATALOG_TOKEN: its registration token.
  Without CATALOG_URL, or with --dry-run, the files are only validated.`;

/**
 * The command: exit 0 when every file is valid (and registered), 1 when the catalog refused one, 2 for
 * invalid files or arguments (each problem printed as file:line:column: path: problem).
 */
export async function catalogApply(
  args: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
  printError: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    print(catalogApplyUsage);
    return 0;
  }
  if (positionals.length === 0) {
    printError(catalogApplyUsage);
    return 2;
  }
  const files: Array<{ file: string; text: string }> = [];
  for (const file of positionals) {
    try {
      files.push({ file, text: readFileSync(file, 'utf8') });
    } catch (error) {
      printError(`${file}: cannot be read (${(error as Error).message})`);
      return 2;
    }
  }
  // Product files may name contracts the catalog already holds.
  let known = new Map<string, string[]>();
  if (env.CATALOG_URL && files.some(({ text }) => /^kind:\s*DataProduct|"kind"\s*:\s*"DataProduct"/m.test(text))) {
    try {
      known = await registeredContracts(env.CATALOG_URL);
    } catch (error) {
      printError(
        `cannot list the catalog's contracts (${(error as Error).message}); only these files' contracts are known`,
      );
    }
  }
  let applied: AppliedFiles;
  try {
    applied = readStandardFiles(files, (id) => known.get(id));
  } catch (error) {
    if (!(error instanceof StandardFileError)) throw error;
    for (const line of error.message.split('\n')) printError(line);
    printError(`${error.problems.length} problem(s); nothing registered`);
    return 2;
  }
  for (const contract of applied.contracts) {
    print(
      `${contract.file}: ODCS contract ${contract.contractId} -> product ${contract.product.name}, ${contract.assets
        .map((asset) => `${asset.name} (${asset.columns.length} columns)`)
        .join(', ')}`,
    );
    for (const warning of contract.warnings) print(`${contract.file}: warning: ${warning}`);
  }
  for (const entry of applied.products) {
    print(`${entry.file}: ODPS product ${entry.product.name}, ${entry.product.ports.length} port(s)`);
    for (const warning of entry.warnings) print(`${entry.file}: warning: ${warning}`);
  }
  const items = registrations(applied);
  if (values['dry-run'] || !env.CATALOG_URL) {
    print(
      `valid; nothing registered (${values['dry-run'] ? '--dry-run' : 'no CATALOG_URL'}): ${items.length} registration(s) would be made`,
    );
    return 0;
  }
  if (!env.CATALOG_TOKEN) {
    printError('CATALOG_TOKEN is required to register (the catalog registration token)');
    return 2;
  }
  try {
    for (const { name, outcome } of await registerWithCatalog(env.CATALOG_URL, env.CATALOG_TOKEN, items)) {
      print(`${outcome} product ${name}`);
    }
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    printError(error.message);
    return 1;
  }
  return 0;
}
