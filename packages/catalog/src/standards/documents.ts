/**
 * The standards documents of one product as the API answers it (a ProductDetail: its ports' assets and
 * access): its ODPS envelope and the ODCS contract of each output table, for routes such as
 * GET /products/{name}/odps and /products/{name}/contracts.
 */
import type { LineageEdge, Product, ProductDetail } from '../model.js';
import { type OdcsContract, type PostgresServerInfo, productContracts } from './odcs.js';
import { dataProduct, type OdpsProduct } from './odps.js';

export interface ProductDocumentsOptions {
  postgres: PostgresServerInfo;
  /** The catalog's API base URL, for the management ports. */
  catalogUrl?: string;
  /** Lineage into the product's tables (column sources in the contracts). */
  edges?: readonly LineageEdge[];
  /** Other products, to give input ports the version of the product that makes them. */
  producers?: ReadonlyMap<string, Product>;
}

export function productDocuments(
  detail: ProductDetail,
  options: ProductDocumentsOptions,
): { product: OdpsProduct; contracts: OdcsContract[] } {
  const assets = new Map(detail.assets.map((asset) => [asset.id, asset]));
  return {
    product: dataProduct(detail, {
      assets,
      ...(options.producers ? { producers: options.producers } : {}),
      ...(options.catalogUrl ? { catalogUrl: options.catalogUrl } : {}),
    }),
    contracts: productContracts(detail, assets, {
      postgres: options.postgres,
      access: detail.access,
      ...(options.edges ? { edges: options.edges } : {}),
    }),
  };
}
