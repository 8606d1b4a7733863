/**
 * The product envelope in Bitol's Open Data Product Standard (ODPS v1.0.0): a product with its input
 * ports (the contracts it reads) and output ports (the contracts it promises), its team, support and
 * the catalog's management ports.
 */
import type { Asset, Product } from '../model.js';
import { contractId } from './odcs.js';
import { odpsApiVersion } from './schemas.js';

export interface ProductOptions {
  assets: ReadonlyMap<string, Asset>;
  /** The products, to give an input port the version of the product that makes it. */
  producers?: ReadonlyMap<string, Product>;
  /** The catalog's base URL (its REST API), for the management ports. */
  catalogUrl?: string;
}

/** An ODPS document, as a plain object. */
export type OdpsProduct = Record<string, unknown> & { id: string };

export function productId(product: Pick<Product, 'name'>): string {
  return `urn:plantmesh:product:${product.name}`;
}

/** The contract of a stream is its channel in the catalog's AsyncAPI document. */
export function streamContractId(asset: Pick<Asset, 'kind' | 'name'>): string {
  return `urn:plantmesh:asyncapi:${asset.kind}:${asset.name}`;
}

const contracted = (asset: Asset) => asset.kind === 'postgres_table' || asset.kind === 'postgres_view';

/** The ODPS envelope of a product; its ports refer to ODCS contracts (tables) or AsyncAPI channels (streams). */
export function dataProduct(product: Product, options: ProductOptions): OdpsProduct {
  const producerOf = new Map<string, Product>();
  for (const other of options.producers?.values() ?? []) {
    for (const port of other.ports) if (port.direction === 'output') producerOf.set(port.assetId, other);
  }
  const assetOf = (id: string): Asset => {
    const asset = options.assets.get(id);
    if (!asset) throw new Error(`product ${product.name}: port ${id} names no known asset`);
    return asset;
  };
  const idOf = (asset: Asset) => (contracted(asset) ? contractId(asset) : streamContractId(asset));
  const inputs = product.ports.filter((port) => port.direction === 'input').map((port) => assetOf(port.assetId));
  const inputPorts = inputs.map((asset) => ({
    name: asset.name,
    version: producerOf.get(asset.id)?.version ?? '1.0.0',
    contractId: idOf(asset),
  }));
  const outputPorts = product.ports
    .filter((port) => port.direction === 'output')
    .map((port) => {
      const asset = assetOf(port.assetId);
      return {
        name: asset.name,
        ...(port.description ? { description: port.description } : {}),
        type: asset.kind,
        version: product.version ?? '1.0.0',
        contractId: idOf(asset),
        ...(inputPorts.length > 0
          ? { inputContracts: inputPorts.map((input) => ({ id: input.contractId, version: input.version })) }
          : {}),
      };
    });
  const base = options.catalogUrl?.replace(/\/$/, '');
  const email = /^[^@\s]+@[^@\s]+$/.test(product.owner);
  return {
    apiVersion: odpsApiVersion,
    kind: 'DataProduct',
    id: productId(product),
    name: product.name,
    ...(product.version ? { version: product.version } : {}),
    status: product.status,
    domain: product.domain,
    description: { purpose: product.description },
    tags: product.tags,
    ...(inputPorts.length > 0 ? { inputPorts } : {}),
    outputPorts,
    ...(base
      ? {
          managementPorts: [
            {
              name: 'catalog',
              content: 'discoverability',
              type: 'rest',
              url: `${base}/products/${encodeURIComponent(product.name)}`,
              description: 'The product in the catalog: schema, freshness, ports, access',
            },
            {
              name: 'lineage',
              content: 'dictionary',
              type: 'rest',
              url: `${base}/products/${encodeURIComponent(product.name)}/lineage`,
              description: 'Its lineage graph, upstream and downstream',
            },
          ],
        }
      : {}),
    ...(email ? { support: [{ channel: 'owner', tool: 'email', url: `mailto:${product.owner}` }] } : {}),
    team: [{ username: product.owner, role: 'owner' }],
    customProperties: [
      {
        property: 'freshnessObjectiveSeconds',
        value: product.freshnessObjectiveSeconds,
        description: 'How old the newest data of its outputs may be',
      },
      ...(product.definedBy ? [{ property: 'definedBy', value: product.definedBy }] : []),
      ...(product.title ? [{ property: 'title', value: product.title }] : []),
    ],
    ...(product.createdAt ? { productCreatedTs: product.createdAt } : {}),
  };
}
