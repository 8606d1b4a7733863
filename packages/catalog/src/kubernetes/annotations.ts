/**
 * What a Service, Deployment or ConfigMap annotated as a data product says (ADR 0019, docs/catalog.md):
 * the `plantmesh.dev/*` annotations read, checked (lengths, markup, control characters, JSON) and turned
 * into the catalog's model. Objects that name the same product are merged into one. Pure: no I/O, so the
 * rules are tested on their own and the watcher only feeds it what its informers hold.
 */
import {
  type Asset,
  assetId,
  assetKinds,
  type Port,
  type Product,
  type ProductStatus,
  productStatuses,
} from '../model.js';
import { productNamePattern } from '../openapi.js';
import {
  contractToModel,
  nowhere,
  parseStandardFile,
  plantmeshContractAssets,
  productName,
  productToModel,
  StandardFileError,
} from '../standards/apply.js';

export const annotationPrefix = 'plantmesh.dev/';
/** The opt-in: only objects with this annotation set to "true" are read. */
export const dataProductAnnotation = `${annotationPrefix}data-product`;

export const watchedKinds = ['Service', 'Deployment', 'ConfigMap'] as const;
export type WatchedKind = (typeof watchedKinds)[number];

/** The parts of a Kubernetes object the watcher reads. */
export interface WatchedObject {
  kind: WatchedKind;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  /** Services: their ports. */
  spec?: { ports?: Array<{ name?: string; port?: number; appProtocol?: string }> };
  /** ConfigMaps: their data. */
  data?: Record<string, string>;
}

/** A product as the watcher registers it: the product, the assets it describes, the objects it came from. */
export interface KubernetesProduct {
  product: Omit<Product, 'source' | 'createdAt' | 'updatedAt'>;
  /** Assets this product describes (a Service's HTTP API, a contract's tables); ports may also name others. */
  assets: Array<Omit<Asset, 'id' | 'source'>>;
  /** Asset ids named in `inputs`/`outputs`: they must be in the catalog already (discovered or registered). */
  named: string[];
  /** The objects that made it, `namespace/Kind/name`. */
  objects: string[];
  /** An ODPS or ODCS document it came from, kept with the product. */
  document?: Record<string, unknown>;
}

/** An annotated object that was not taken, and why. */
export interface Refusal {
  object: string;
  resourceVersion?: string;
  annotation: string;
  problem: string;
}

export interface AnnotationOptions {
  /** The freshness objective of a product whose annotations name none. */
  defaultFreshnessSeconds: number;
}

/** Limits per annotation, those of the registration API (src/openapi.ts). */
const limits = {
  'product-name': 128,
  title: 200,
  domain: 200,
  owner: 200,
  description: 20_000,
  tags: 50 * 101,
  status: 20,
  version: 64,
  'freshness-objective-seconds': 12,
  inputs: 200_000,
  outputs: 200_000,
  'api-port': 63,
  'api-path': 1_000,
  'openapi-path': 1_000,
  'document-key': 253,
} as const;
type AnnotationName = keyof typeof limits;

class Refused extends Error {
  constructor(
    readonly annotation: string,
    message: string,
  ) {
    super(message);
  }
}

/** Markup that a browser would read as a tag: refused in every annotation (metadata is text, never HTML). */
const tagLike = /<\s*\/?\s*[a-z!?][^>]*>|<\s*\/?\s*(script|iframe|img|svg|style|object|embed)\b/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const controlLine = /[\u0000-\u001f\u007f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const controlText = /[\u0000-\u0008\u000b-\u001f\u007f]/;

function text(annotations: Record<string, string>, name: AnnotationName, multiline = false): string | undefined {
  const key = annotationPrefix + name;
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === '') return undefined;
  if (value.length > limits[name]) throw new Refused(key, `longer than ${limits[name]} characters (${value.length})`);
  if ((multiline ? controlText : controlLine).test(value)) throw new Refused(key, 'contains control characters');
  if (tagLike.test(value)) throw new Refused(key, 'contains markup (an HTML tag): metadata is plain text');
  return value;
}

function refOf(object: WatchedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.kind}/${object.metadata?.name ?? ''}`;
}

/** Whether an object opts in (`plantmesh.dev/data-product: "true"`). */
export function isDataProduct(object: WatchedObject): boolean {
  return object.metadata?.annotations?.[dataProductAnnotation]?.trim().toLowerCase() === 'true';
}

/** `inputs` / `outputs`: asset ids, comma or newline separated, or a JSON array of ids or {assetId, description}. */
function portList(annotations: Record<string, string>, name: 'inputs' | 'outputs'): Port[] {
  const key = annotationPrefix + name;
  const value = text(annotations, name, true);
  if (!value) return [];
  const direction = name === 'inputs' ? 'input' : 'output';
  let entries: Array<{ assetId: string; description?: string }>;
  if (value.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new Refused(key, `invalid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new Refused(key, 'must be a JSON array');
    entries = parsed.map((item, index) => {
      if (typeof item === 'string') return { assetId: item };
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        const { assetId: id, description, ...rest } = item as Record<string, unknown>;
        if (Object.keys(rest).length > 0)
          throw new Refused(key, `[${index}]: unknown fields ${Object.keys(rest).join(', ')}`);
        if (typeof id !== 'string') throw new Refused(key, `[${index}].assetId must be a string`);
        if (description !== undefined && (typeof description !== 'string' || description.length > 2_000))
          throw new Refused(key, `[${index}].description must be a string of at most 2000 characters`);
        return { assetId: id, ...(description ? { description } : {}) };
      }
      throw new Refused(key, `[${index}] must be an asset id or {assetId, description}`);
    });
  } else {
    entries = value
      .split(/[,\n]/)
      .map((id) => id.trim())
      .filter(Boolean)
      .map((id) => ({ assetId: id }));
  }
  if (entries.length > 1_000) throw new Refused(key, 'more than 1000 ports');
  return entries.map((entry) => {
    const at = entry.assetId.indexOf(':');
    const kind = entry.assetId.slice(0, at);
    if (at < 1 || !(assetKinds as readonly string[]).includes(kind) || entry.assetId.length <= at + 1) {
      throw new Refused(
        key,
        `"${entry.assetId.slice(0, 200)}" is not an asset id (<kind>:<name>, kind one of ${assetKinds.join(', ')})`,
      );
    }
    if (entry.assetId.length > 1_100) throw new Refused(key, 'an asset id longer than 1100 characters');
    if (controlLine.test(entry.assetId)) throw new Refused(key, 'an asset id contains control characters');
    if (entry.description && tagLike.test(entry.description)) throw new Refused(key, 'a description contains markup');
    return { assetId: entry.assetId, direction, ...(entry.description ? { description: entry.description } : {}) };
  });
}

/** A Service's HTTP API, when it says which port serves it or where its OpenAPI document is. */
function httpApiOf(
  object: WatchedObject,
  annotations: Record<string, string>,
): Omit<Asset, 'id' | 'source'> | undefined {
  const portName = text(annotations, 'api-port');
  const openapiPath = text(annotations, 'openapi-path');
  if (!portName && !openapiPath) return undefined;
  const apiPath = text(annotations, 'api-path') ?? '';
  for (const [name, path] of [
    ['api-path', apiPath],
    ['openapi-path', openapiPath],
  ] as const) {
    if (path && !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(path))
      throw new Refused(annotationPrefix + name, 'must be an absolute URL path (/..., no query)');
  }
  const ports = object.spec?.ports ?? [];
  const port = portName ? ports.find((p) => p.name === portName || String(p.port) === portName) : ports[0];
  if (!port?.port) {
    throw new Refused(
      annotationPrefix + (portName ? 'api-port' : 'openapi-path'),
      portName ? `the Service has no port "${portName}"` : 'the Service has no port',
    );
  }
  const scheme = port.port === 443 || port.name === 'https' || port.appProtocol === 'https' ? 'https' : 'http';
  const { name = '', namespace = '' } = object.metadata ?? {};
  const host = `${scheme}://${name}.${namespace}.svc:${port.port}`;
  return {
    kind: 'http_api',
    name: `${namespace}/${name}`,
    tags: [],
    columns: [],
    properties: {
      baseUrl: `${host}${apiPath.replace(/\/$/, '')}`,
      ...(openapiPath ? { openapiUrl: `${host}${openapiPath}` } : {}),
      namespace,
      service: name,
      port: port.port,
    },
  };
}

interface Contribution {
  object: string;
  /** Lower comes first when fields disagree: a document, then Deployment, Service, ConfigMap. */
  precedence: number;
  product: Partial<KubernetesProduct['product']> & { name: string; ports: Port[] };
  assets: KubernetesProduct['assets'];
  named: string[];
  document?: Record<string, unknown>;
}

const precedence: Record<WatchedKind, number> = { Deployment: 1, Service: 2, ConfigMap: 3 };

function fromAnnotations(object: WatchedObject): Contribution {
  const annotations = object.metadata?.annotations ?? {};
  const raw = text(annotations, 'product-name') ?? object.metadata?.name ?? '';
  const name = productName(raw);
  if (!new RegExp(productNamePattern).test(name))
    throw new Refused(
      `${annotationPrefix}product-name`,
      `"${name.slice(0, 200)}" is not a product name (${productNamePattern})`,
    );
  const status = text(annotations, 'status')?.toLowerCase();
  if (status !== undefined && !(productStatuses as readonly string[]).includes(status))
    throw new Refused(`${annotationPrefix}status`, `must be one of ${productStatuses.join(', ')}`);
  const freshnessText = text(annotations, 'freshness-objective-seconds');
  let freshness: number | undefined;
  if (freshnessText !== undefined) {
    freshness = Number(freshnessText);
    if (!/^\d+$/.test(freshnessText) || freshness < 1 || freshness > 31_622_400)
      throw new Refused(
        `${annotationPrefix}freshness-objective-seconds`,
        'must be a whole number of seconds, 1 to 31622400',
      );
  }
  const tagsText = text(annotations, 'tags');
  const tags = tagsText
    ? [
        ...new Set(
          tagsText
            .split(',')
            .map((tag) => tag.trim())
            .filter(Boolean),
        ),
      ]
    : [];
  if (tags.length > 50) throw new Refused(`${annotationPrefix}tags`, 'more than 50 tags');
  if (tags.some((tag) => tag.length > 100))
    throw new Refused(`${annotationPrefix}tags`, 'a tag longer than 100 characters');
  const inputs = portList(annotations, 'inputs');
  const outputs = portList(annotations, 'outputs');
  const api = object.kind === 'Service' ? httpApiOf(object, annotations) : undefined;
  const ports = [...outputs, ...inputs];
  if (api) ports.unshift({ assetId: assetId('http_api', api.name), direction: 'output' });
  const optional = {
    title: text(annotations, 'title'),
    domain: text(annotations, 'domain'),
    owner: text(annotations, 'owner'),
    description: text(annotations, 'description', true),
    version: text(annotations, 'version'),
  };
  return {
    object: refOf(object),
    precedence: precedence[object.kind],
    product: {
      name,
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
      ...(tags.length ? { tags } : {}),
      ...(status ? { status: status as ProductStatus } : {}),
      ...(freshness ? { freshnessObjectiveSeconds: freshness } : {}),
      ports,
    },
    assets: api ? [api] : [],
    named: [...outputs, ...inputs].map((port) => port.assetId),
  };
}

interface ParsedDocument {
  object: WatchedObject;
  kind: 'DataContract' | 'DataProduct';
  document: Record<string, unknown>;
  file: string;
}

/** A ConfigMap's ODCS or ODPS document (`plantmesh.dev/document-key` names the data key). */
function documentOf(object: WatchedObject): ParsedDocument | undefined {
  const annotations = object.metadata?.annotations ?? {};
  const key = text(annotations, 'document-key');
  if (!key) return undefined;
  const body = object.data?.[key];
  if (body === undefined)
    throw new Refused(`${annotationPrefix}document-key`, `the ConfigMap has no data key "${key}"`);
  const file = `${refOf(object)}#${key}`;
  try {
    const parsed = parseStandardFile(body, file);
    return { object, kind: parsed.kind, document: parsed.document, file };
  } catch (error) {
    if (error instanceof StandardFileError) {
      throw new Refused(
        `${annotationPrefix}document-key`,
        error.problems
          .slice(0, 5)
          .map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)
          .join('; '),
      );
    }
    throw error;
  }
}

/**
 * The products the annotated objects describe, merged by name, and the objects refused with the reason.
 * Objects without `plantmesh.dev/data-product: "true"` are not looked at.
 */
export function productsFromObjects(
  objects: readonly WatchedObject[],
  options: AnnotationOptions,
): { products: KubernetesProduct[]; refused: Refusal[] } {
  const refused: Refusal[] = [];
  const contributions: Contribution[] = [];
  const refuse = (object: WatchedObject, error: unknown) => {
    if (!(error instanceof Refused)) throw error;
    refused.push({
      object: refOf(object),
      ...(object.metadata?.resourceVersion ? { resourceVersion: object.metadata.resourceVersion } : {}),
      annotation: error.annotation,
      problem: error.message,
    });
  };
  const annotated = objects
    .filter(isDataProduct)
    .sort((a, b) => precedence[a.kind] - precedence[b.kind] || refOf(a).localeCompare(refOf(b)));
  const documents: ParsedDocument[] = [];
  for (const object of annotated) {
    try {
      const parsed = object.kind === 'ConfigMap' ? documentOf(object) : undefined;
      if (parsed) documents.push(parsed);
      else contributions.push(fromAnnotations(object));
    } catch (error) {
      refuse(object, error);
    }
  }
  // Contracts first, so that a product document's ports can name them.
  const contracts = new Map<string, string[]>();
  for (const item of documents.filter((d) => d.kind === 'DataContract')) {
    try {
      const model = contractToModel(item.document, nowhere(item.file));
      contracts.set(
        model.contractId,
        model.assets.map((asset) => asset.id),
      );
      contributions.push({
        object: refOf(item.object),
        precedence: 0,
        product: model.product,
        assets: model.assets.map(({ id: _id, source: _source, ...asset }) => asset),
        named: [],
        document: item.document,
      });
    } catch (error) {
      refuse(
        item.object,
        error instanceof StandardFileError ? new Refused(`${annotationPrefix}document-key`, error.message) : error,
      );
    }
  }
  for (const item of documents.filter((d) => d.kind === 'DataProduct')) {
    try {
      const model = productToModel(
        item.document,
        (id) => contracts.get(id) ?? plantmeshContractAssets(id),
        nowhere(item.file),
      );
      contributions.push({
        object: refOf(item.object),
        precedence: 0,
        product: model.product,
        assets: [],
        named: model.product.ports.map((port) => port.assetId),
        document: item.document,
      });
    } catch (error) {
      refuse(
        item.object,
        error instanceof StandardFileError ? new Refused(`${annotationPrefix}document-key`, error.message) : error,
      );
    }
  }
  return { products: merge(contributions, options), refused };
}

/** Contributions of one name become one product: fields from the first that gives them, ports and assets united. */
function merge(contributions: Contribution[], options: AnnotationOptions): KubernetesProduct[] {
  const byName = new Map<string, Contribution[]>();
  for (const item of [...contributions].sort(
    (a, b) => a.precedence - b.precedence || a.object.localeCompare(b.object),
  )) {
    const list = byName.get(item.product.name) ?? [];
    list.push(item);
    byName.set(item.product.name, list);
  }
  const products: KubernetesProduct[] = [];
  for (const [name, list] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const first = <K extends keyof Contribution['product']>(key: K) =>
      list.map((item) => item.product[key]).find((value) => value !== undefined && value !== '');
    const ports = new Map<string, Port>();
    for (const item of list)
      for (const port of item.product.ports) {
        const key = `${port.direction} ${port.assetId}`;
        if (!ports.has(key)) ports.set(key, port);
      }
    const assets = new Map<string, KubernetesProduct['assets'][number]>();
    for (const item of list)
      for (const asset of item.assets) {
        const id = assetId(asset.kind, asset.name);
        if (!assets.has(id)) assets.set(id, asset);
      }
    const tags = [...new Set(list.flatMap((item) => item.product.tags ?? []))].slice(0, 50);
    const objects = list.map((item) => item.object);
    const namespaces = [...new Set(objects.map((ref) => ref.slice(0, ref.indexOf('/'))))];
    const title = first('title');
    const version = first('version');
    const definedBy = `kubernetes:${objects.join(',')}`;
    const document = list.find((item) => item.document)?.document;
    products.push({
      product: {
        name,
        ...(title ? { title } : {}),
        domain: first('domain') ?? namespaces[0] ?? 'kubernetes',
        owner: first('owner') ?? 'unknown',
        description: first('description') ?? '',
        tags,
        status: first('status') ?? 'active',
        ...(version ? { version } : {}),
        freshnessObjectiveSeconds: first('freshnessObjectiveSeconds') ?? options.defaultFreshnessSeconds,
        definedBy: definedBy.length > 2_000 ? `${definedBy.slice(0, 1_990)}...` : definedBy,
        ports: [...ports.values()].sort(
          (a, b) => a.direction.localeCompare(b.direction) || a.assetId.localeCompare(b.assetId),
        ),
      },
      assets: [...assets.values()].sort((a, b) => assetId(a.kind, a.name).localeCompare(assetId(b.kind, b.name))),
      named: [...new Set(list.flatMap((item) => item.named))].sort(),
      objects,
      ...(document ? { document } : {}),
    });
  }
  return products;
}
