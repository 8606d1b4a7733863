/**
 * Reading ODCS contracts and ODPS products written elsewhere (`plantmesh catalog apply FILE`): YAML or
 * JSON, checked against the published schemas with every problem at its place (file, line, column, JSON
 * path, what is wrong), then turned into the catalog's model: a contract's tables and views become assets
 * with their columns, units and keys, and a product owning them; a product's ports are resolved to the
 * assets of the contracts they name.
 */
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import {
  type Asset,
  assetId,
  type CatalogColumn,
  type Port,
  type Product,
  type ProductStatus,
  productStatuses,
} from '../model.js';
import { type SchemaProblem, validateOdcs, validateOdps } from './schemas.js';

/** Files larger than this are refused before they are parsed. */
export const maxStandardFileBytes = 1024 * 1024;

/** One problem of a file, where it is. */
export interface FileProblem {
  file: string;
  line: number;
  column: number;
  /** JSON Pointer of the place in the document ('/' for the whole). */
  path: string;
  message: string;
}

/** A file that cannot be applied, with every problem as `file:line:column: path: problem`. */
export class StandardFileError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path}: ${p.message}`).join('\n'));
    this.name = 'StandardFileError';
  }
}

/** A problem at a JSON path of a document: its file, line and column. */
export type Locate = (path: string, message: string) => FileProblem;

export interface StandardDocument {
  kind: 'DataContract' | 'DataProduct';
  document: Record<string, unknown>;
  /** Where a path of the document is in its file. */
  at: Locate;
}

/** A locator for documents that come without a file (line 1, column 1). */
export const nowhere =
  (file: string): Locate =>
  (path, message) => ({ file, line: 1, column: 1, path, message });

function pathParts(pointer: string): Array<string | number> {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/**
 * Parses an ODCS or ODPS file (YAML, or JSON, which is YAML) and validates it against its standard's
 * published schema (chosen by `kind`). Throws a StandardFileError naming every problem's place.
 */
export function parseStandardFile(text: string, file: string): StandardDocument {
  const problem = (line: number, column: number, path: string, message: string): FileProblem => ({
    file,
    line,
    column,
    path,
    message,
  });
  if (Buffer.byteLength(text, 'utf8') > maxStandardFileBytes) {
    throw new StandardFileError([problem(1, 1, '/', `larger than ${maxStandardFileBytes} bytes`)]);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new StandardFileError(
      document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return problem(line, col, '/', `YAML: ${error.message.split('\n')[0]}`);
      }),
    );
  }
  const at = (path: string, message: string): FileProblem => {
    let node: unknown = document.contents;
    for (const key of pathParts(path)) {
      const next = isMap(node) || isSeq(node) ? (node.get(key, true) as unknown) : undefined;
      if (next === undefined) break;
      node = next;
    }
    const { line, col } = lines.linePos((node as Node | null)?.range?.[0] ?? 0);
    return problem(line, col, path, message);
  };
  const value = document.toJS({ maxAliasCount: 100 }) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new StandardFileError([at('/', 'must be a mapping (an ODCS DataContract or an ODPS DataProduct)')]);
  }
  const kind = (value as { kind?: unknown }).kind;
  const report = (problems: SchemaProblem[]) => {
    if (problems.length > 0) throw new StandardFileError(problems.map((p) => at(p.path, p.message)));
  };
  if (kind === 'DataContract') {
    report(validateOdcs(value));
    return { kind, document: value as Record<string, unknown>, at };
  }
  if (kind === 'DataProduct') {
    report(validateOdps(value));
    return { kind, document: value as Record<string, unknown>, at };
  }
  throw new StandardFileError([
    at('/kind', `kind must be DataContract (ODCS) or DataProduct (ODPS), not ${JSON.stringify(kind ?? null)}`),
  ]);
}

/** What a contract registers: the product that owns it and its assets (tables and views). */
export interface ContractRegistration {
  /** The file it came from. */
  file: string;
  contractId: string;
  product: Product;
  assets: Asset[];
  warnings: string[];
}

/** What a product file registers: the product, its ports resolved to assets. */
export interface ProductRegistration {
  /** The file it came from. */
  file: string;
  product: Product;
  warnings: string[];
}

type Odcs = {
  id: string;
  name?: string;
  version: string;
  status: string;
  domain?: string;
  dataProduct?: string;
  tags?: string[];
  description?: { purpose?: string; usage?: string };
  servers?: Array<{ server: string; type: string; host?: string; port?: number; database?: string; schema?: string }>;
  schema?: Array<{
    name: string;
    physicalName?: string;
    physicalType?: string;
    description?: string;
    tags?: string[];
    properties?: Array<{
      name: string;
      physicalName?: string;
      physicalType?: string;
      logicalType?: string;
      logicalTypeOptions?: { timezone?: boolean };
      required?: boolean;
      primaryKey?: boolean;
      primaryKeyPosition?: number;
      description?: string;
      customProperties?: Array<{ property: string; value: unknown }>;
    }>;
  }>;
  team?: { name?: string; members?: Array<{ username: string; role?: string }> } | unknown[];
  support?: Array<{ url?: string }>;
  slaProperties?: Array<{ property: string; value: unknown; unit?: string }>;
  contractCreatedTs?: string;
};

/** The freshness objective registered when a file gives none: a day. */
export const defaultImportedFreshnessSeconds = 86_400;

const unitSeconds: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
};

/** A latency / freshness SLA in seconds (ODCS counts in days when no unit is given). */
function freshnessFrom(sla: Odcs['slaProperties'], warnings: string[]): number {
  const entry = (sla ?? []).find((item) => ['latency', 'freshness'].includes(item.property.toLowerCase()));
  if (!entry) {
    warnings.push(`no latency SLA: freshness objective set to ${defaultImportedFreshnessSeconds} s`);
    return defaultImportedFreshnessSeconds;
  }
  const factor = unitSeconds[(entry.unit ?? 'd').toLowerCase()];
  const value = Number(entry.value);
  if (factor === undefined || !Number.isFinite(value) || value <= 0) {
    warnings.push(
      `latency ${JSON.stringify(entry.value)} ${entry.unit ?? ''} is not a duration: freshness objective set to ${defaultImportedFreshnessSeconds} s`,
    );
    return defaultImportedFreshnessSeconds;
  }
  return Math.round(value * factor);
}

function ownerOf(team: unknown, support: Array<{ url?: string }> | undefined): string | undefined {
  const members = Array.isArray(team)
    ? (team as Array<{ username?: string; role?: string }>)
    : ((team as { members?: Array<{ username?: string; role?: string }> } | undefined)?.members ?? []);
  const owner = members.find((member) => member.role?.toLowerCase().includes('owner')) ?? members[0];
  if (owner?.username) return owner.username;
  const teamName = !Array.isArray(team) ? (team as { name?: string } | undefined)?.name : undefined;
  if (teamName) return teamName;
  const mail = (support ?? []).find((item) => item.url?.startsWith('mailto:'))?.url;
  return mail?.slice('mailto:'.length);
}

function statusOf(status: string, warnings: string[]): ProductStatus {
  const lower = status.toLowerCase();
  if ((productStatuses as readonly string[]).includes(lower)) return lower as ProductStatus;
  warnings.push(`status "${status}" is not one of ${productStatuses.join(', ')}: registered as active`);
  return 'active';
}

/** A product name the catalog keeps: lower-case letters, digits, `_`, `-` and `.`. */
export function productName(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

const typeAliases: Record<string, string> = {
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  float8: 'double precision',
  float4: 'real',
  bool: 'boolean',
  decimal: 'numeric',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
};

/** A PostgreSQL type as format_type names it (what discovery lists): `varchar(20)` -> `character varying(20)`. */
export function postgresTypeName(type: string): string {
  const text = type.trim().toLowerCase().replace(/\s+/g, ' ');
  const match = /^([a-z0-9_ ]+?)\s*(\(.*\))?(\[\])?$/.exec(text);
  if (!match) return text;
  const [, name = '', modifier = '', array = ''] = match;
  return `${typeAliases[name] ?? name}${modifier}${array}`;
}

/** The PostgreSQL type of an ODCS property: its physical type, or the one its logical type implies. */
function columnType(property: NonNullable<NonNullable<Odcs['schema']>[number]['properties']>[number]): string {
  if (property.physicalType) return postgresTypeName(property.physicalType);
  switch (property.logicalType) {
    case 'integer':
      return 'bigint';
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp':
      return property.logicalTypeOptions?.timezone === false
        ? 'timestamp without time zone'
        : 'timestamp with time zone';
    case 'time':
      return 'time without time zone';
    case 'object':
    case 'array':
      return 'jsonb';
    default:
      return 'text';
  }
}

/**
 * The catalog's model of a validated ODCS contract. Its tables and views are registered when it names a
 * PostgreSQL server (type postgres or postgresql); the catalog holds no other kind of table. A unit is a
 * property's custom property `unit` (a UNECE Rec. 20 code, as our contracts write it).
 */
export function contractToModel(
  document: Record<string, unknown>,
  at: Locate = nowhere('<contract>'),
): ContractRegistration {
  const contract = document as unknown as Odcs;
  const warnings: string[] = [];
  const server = (contract.servers ?? []).find((item) => item.type === 'postgres' || item.type === 'postgresql');
  if (!server) {
    const types = (contract.servers ?? []).map((item) => item.type);
    throw new StandardFileError([
      at(
        '/servers',
        `the catalog registers PostgreSQL tables and views: give a server of type postgres or postgresql${types.length > 0 ? ` (this contract has ${types.join(', ')})` : ''}`,
      ),
    ]);
  }
  const schemaName = server.schema ?? 'public';
  const assets: Asset[] = (contract.schema ?? []).map((object) => {
    const physical = object.physicalName ?? object.name;
    const name = physical.includes('.') ? physical : `${schemaName}.${physical}`;
    const kind = object.physicalType?.toLowerCase() === 'view' ? 'postgres_view' : 'postgres_table';
    if (object.physicalType && !['table', 'view'].includes(object.physicalType.toLowerCase())) {
      warnings.push(`${object.name}: physical type "${object.physicalType}" registered as a table`);
    }
    const properties = object.properties ?? [];
    const keyed = properties
      .filter((property) => property.primaryKey)
      .sort((a, b) => (a.primaryKeyPosition ?? 0) - (b.primaryKeyPosition ?? 0));
    const columns: CatalogColumn[] = properties.map((property, index) => {
      const unit = property.customProperties?.find((item) => item.property === 'unit')?.value;
      return {
        name: property.physicalName ?? property.name,
        type: columnType(property),
        nullable: !(property.required || property.primaryKey),
        position: index + 1,
        ...(typeof unit === 'string' ? { unit } : {}),
        ...(property.description ? { description: property.description } : {}),
        ...(keyed.includes(property) ? { key: true } : {}),
      };
    });
    const [store, relation] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
    return {
      id: assetId(kind, name),
      kind,
      name,
      ...(object.description ? { description: object.description } : {}),
      tags: object.tags ?? contract.tags ?? [],
      source: 'manual',
      columns,
      properties: {
        store,
        schema: store,
        relation,
        server: server.server,
        ...(server.host ? { host: server.host } : {}),
        ...(server.port ? { port: server.port } : {}),
        ...(server.database ? { database: server.database } : {}),
        contractId: contract.id,
      },
    };
  });
  if (assets.length === 0) warnings.push('the contract describes no table (schema is empty)');
  const owner = ownerOf(contract.team, contract.support);
  if (!owner) warnings.push('no owner (team member or support mailto): registered as "unknown"');
  const product: Product = {
    name: productName(contract.dataProduct ?? contract.name ?? contract.id),
    domain: contract.domain ?? 'external',
    owner: owner ?? 'unknown',
    description: contract.description?.purpose ?? contract.schema?.[0]?.description ?? '',
    tags: contract.tags ?? [],
    status: statusOf(contract.status, warnings),
    source: 'manual',
    version: contract.version,
    freshnessObjectiveSeconds: freshnessFrom(contract.slaProperties, warnings),
    definedBy: `odcs:${contract.id}`,
    ports: assets.map((asset) => ({ assetId: asset.id, direction: 'output' as const })),
    ...(contract.contractCreatedTs ? { createdAt: contract.contractCreatedTs } : {}),
  };
  return { file: at('/', '').file, contractId: contract.id, product, assets, warnings };
}

type Odps = {
  id: string;
  name?: string;
  version?: string;
  status: string;
  domain?: string;
  tags?: string[];
  description?: { purpose?: string };
  inputPorts?: Array<{ name: string; version: string; contractId: string }>;
  outputPorts?: Array<{ name: string; version: string; contractId?: string; description?: string }>;
  team?: Array<{ username?: string; role?: string }>;
  support?: Array<{ url?: string }>;
  customProperties?: Array<{ property: string; value: unknown }>;
  productCreatedTs?: string;
};

/** The assets of a registered contract, by contract id (undefined when none is registered). */
export type ContractResolver = (contractId: string) => string[] | undefined;

/** Our own contract ids name their asset: `urn:plantmesh:contract:curated.heats` -> its table. */
export function plantmeshContractAssets(contractId: string): string[] | undefined {
  const match = /^urn:plantmesh:contract:(.+)$/.exec(contractId);
  return match ? [assetId('postgres_table', match[1] as string)] : undefined;
}

/**
 * The catalog's model of a validated ODPS product: its ports resolved to the assets of the contracts
 * they name. A port whose contract is not registered is a problem at that port (apply the contract
 * first, or in the same command).
 */
export function productToModel(
  document: Record<string, unknown>,
  resolve: ContractResolver,
  at: Locate = nowhere('<product>'),
): ProductRegistration {
  const odps = document as unknown as Odps;
  const warnings: string[] = [];
  const problems: FileProblem[] = [];
  const ports: Port[] = [];
  const portsOf = (
    list: Array<{ name: string; contractId?: string; description?: string }> | undefined,
    direction: 'input' | 'output',
    field: string,
  ) => {
    (list ?? []).forEach((port, index) => {
      if (!port.contractId) {
        warnings.push(`${field}/${index} (${port.name}) names no contract: not registered as a port`);
        return;
      }
      const ids = resolve(port.contractId);
      if (!ids) {
        problems.push(
          at(
            `/${field}/${index}/contractId`,
            `contract "${port.contractId}" is not registered (apply it first, or in the same command)`,
          ),
        );
        return;
      }
      for (const id of ids)
        ports.push({ assetId: id, direction, ...(port.description ? { description: port.description } : {}) });
    });
  };
  portsOf(odps.inputPorts, 'input', 'inputPorts');
  portsOf(odps.outputPorts, 'output', 'outputPorts');
  if (problems.length > 0) throw new StandardFileError(problems);
  const objective = odps.customProperties?.find((item) => item.property === 'freshnessObjectiveSeconds')?.value;
  const owner = ownerOf(odps.team, odps.support);
  if (!owner) warnings.push('no owner (team member or support mailto): registered as "unknown"');
  const product: Product = {
    name: productName(odps.name ?? odps.id),
    domain: odps.domain ?? 'external',
    owner: owner ?? 'unknown',
    description: odps.description?.purpose ?? '',
    tags: odps.tags ?? [],
    status: statusOf(odps.status, warnings),
    source: 'manual',
    ...(odps.version ? { version: odps.version } : {}),
    freshnessObjectiveSeconds:
      typeof objective === 'number' && objective > 0 ? objective : defaultImportedFreshnessSeconds,
    definedBy: `odps:${odps.id}`,
    ports,
    ...(odps.productCreatedTs ? { createdAt: odps.productCreatedTs } : {}),
  };
  return { file: at('/', '').file, product, warnings };
}

/** What a set of files registers, contracts first so that products can name them. */
export interface AppliedFiles {
  contracts: ContractRegistration[];
  products: ProductRegistration[];
}

/**
 * Reads, validates and converts several files at once: every contract first, then every product, whose
 * ports may name the contracts of these files, our own contract ids, or those `known` to the catalog.
 * Throws a StandardFileError with the problems of every file.
 */
export function readStandardFiles(
  files: ReadonlyArray<{ file: string; text: string }>,
  known: ContractResolver = () => undefined,
): AppliedFiles {
  const problems: FileProblem[] = [];
  const parsed: StandardDocument[] = [];
  for (const { file, text } of files) {
    try {
      parsed.push(parseStandardFile(text, file));
    } catch (error) {
      if (error instanceof StandardFileError) problems.push(...error.problems);
      else throw error;
    }
  }
  const contracts: ContractRegistration[] = [];
  for (const item of parsed) {
    if (item.kind !== 'DataContract') continue;
    try {
      contracts.push(contractToModel(item.document, item.at));
    } catch (error) {
      if (error instanceof StandardFileError) problems.push(...error.problems);
      else throw error;
    }
  }
  const byContract = new Map(contracts.map((c) => [c.contractId, c.assets.map((asset) => asset.id)]));
  const resolve: ContractResolver = (id) => byContract.get(id) ?? known(id) ?? plantmeshContractAssets(id);
  const products: ProductRegistration[] = [];
  for (const item of parsed) {
    if (item.kind !== 'DataProduct') continue;
    try {
      products.push(productToModel(item.document, resolve, item.at));
    } catch (error) {
      if (error instanceof StandardFileError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length > 0) throw new StandardFileError(problems);
  return { contracts, products };
}
