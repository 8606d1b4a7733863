/**
 * The catalog API's OpenAPI 3.1 document, and the JSON Schemas its routes validate requests with (the same
 * objects: what is published is what is checked). Schemas are JSON Schema 2020-12 without `$ref` where a
 * route validates with them, so fastify's validator and OpenAPI read them alike.
 */
import { accessKinds, assetKinds, entrySources, productStatuses } from './model.js';

const text = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, ...extra });
const tags = { type: 'array', maxItems: 50, items: text(100, { minLength: 1 }) };
export const productNamePattern = '^[a-z0-9][a-z0-9_.-]{0,127}$';

/** A column as registration takes it. */
const columnInput = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: text(200, { minLength: 1 }),
    type: text(200, { minLength: 1 }),
    nullable: { type: 'boolean' },
    unit: text(16),
    description: text(2_000),
    key: { type: 'boolean' },
  },
};

/** An asset described with a registered product (discovered ones are named in ports only). */
const assetInput = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', enum: [...assetKinds] },
    name: text(1_024, { minLength: 1 }),
    description: text(20_000),
    tags,
    columns: { type: 'array', maxItems: 2_000, items: columnInput },
    properties: { type: 'object', maxProperties: 50 },
  },
};

/** The body of PUT /products/{name} (and of POST /products, with its name). */
export const registrationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'owner', 'ports'],
  properties: {
    name: text(128, { pattern: productNamePattern }),
    title: text(200),
    domain: text(200, { minLength: 1 }),
    owner: text(200, { minLength: 1 }),
    description: text(20_000),
    tags,
    status: { type: 'string', enum: [...productStatuses] },
    version: text(64),
    freshnessObjectiveSeconds: { type: 'integer', minimum: 1, maximum: 31_622_400 },
    ports: {
      type: 'array',
      maxItems: 1_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['assetId', 'direction'],
        properties: {
          assetId: text(1_100, { minLength: 3 }),
          direction: { type: 'string', enum: ['input', 'output'] },
          description: text(2_000),
        },
      },
    },
    assets: { type: 'array', maxItems: 1_000, items: assetInput },
  },
};

const column = {
  type: 'object',
  required: ['name', 'type', 'nullable', 'position'],
  properties: {
    name: { type: 'string' },
    type: { type: 'string' },
    nullable: { type: 'boolean' },
    position: { type: 'integer' },
    unit: { type: 'string', description: 'UNECE Rec. 20 code' },
    description: { type: 'string' },
    key: { type: 'boolean' },
  },
};

const schemas = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
    },
  },
  Column: column,
  Asset: {
    type: 'object',
    required: ['id', 'kind', 'name', 'tags', 'source', 'columns', 'properties'],
    properties: {
      id: { type: 'string', description: '<kind>:<name>' },
      kind: { type: 'string', enum: [...assetKinds] },
      name: { type: 'string' },
      description: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      source: { type: 'string', enum: [...entrySources] },
      columns: { type: 'array', items: { $ref: '#/components/schemas/Column' } },
      rowCount: { type: 'integer' },
      rowCountExact: { type: 'boolean' },
      newestDataAt: {
        type: 'string',
        format: 'date-time',
        description: 'The newest data timestamp, read from the data',
      },
      properties: { type: 'object' },
      seenAt: { type: 'string', format: 'date-time' },
      changedAt: { type: 'string', format: 'date-time' },
      access: { type: 'array', items: { $ref: '#/components/schemas/Access' } },
      products: { type: 'array', items: { type: 'string' } },
    },
  },
  Port: {
    type: 'object',
    required: ['assetId', 'direction'],
    properties: {
      assetId: { type: 'string' },
      direction: { type: 'string', enum: ['input', 'output'] },
      description: { type: 'string' },
    },
  },
  Access: {
    type: 'object',
    required: ['assetId', 'kind', 'snippet'],
    properties: {
      assetId: { type: 'string' },
      kind: { type: 'string', enum: [...accessKinds] },
      snippet: { type: 'string' },
      role: { type: 'string', description: 'The database role that grants read access' },
    },
  },
  Product: {
    type: 'object',
    required: [
      'name',
      'domain',
      'owner',
      'description',
      'tags',
      'status',
      'source',
      'freshnessObjectiveSeconds',
      'ports',
    ],
    properties: {
      name: { type: 'string', pattern: productNamePattern },
      title: { type: 'string' },
      domain: { type: 'string' },
      owner: { type: 'string' },
      description: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      status: { type: 'string', enum: [...productStatuses] },
      source: { type: 'string', enum: [...entrySources] },
      version: { type: 'string' },
      freshnessObjectiveSeconds: { type: 'integer', minimum: 1 },
      definedBy: { type: 'string' },
      ports: { type: 'array', items: { $ref: '#/components/schemas/Port' } },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  ProductDetail: {
    allOf: [
      { $ref: '#/components/schemas/Product' },
      {
        type: 'object',
        required: ['assets', 'access', 'freshness'],
        properties: {
          assets: { type: 'array', items: { $ref: '#/components/schemas/Asset' } },
          access: { type: 'array', items: { $ref: '#/components/schemas/Access' } },
          freshness: {
            type: 'object',
            required: ['objectiveSeconds', 'fresh'],
            properties: {
              newestDataAt: { type: 'string', format: 'date-time' },
              ageSeconds: { type: 'number', minimum: 0 },
              objectiveSeconds: { type: 'integer' },
              fresh: { type: ['boolean', 'null'], description: 'null while the product has no data' },
            },
          },
        },
      },
    ],
  },
  ProductList: {
    type: 'object',
    required: ['products', 'total'],
    properties: {
      products: { type: 'array', items: { $ref: '#/components/schemas/Product' } },
      total: { type: 'integer' },
    },
  },
  AssetList: {
    type: 'object',
    required: ['assets', 'total'],
    properties: {
      assets: { type: 'array', items: { $ref: '#/components/schemas/Asset' } },
      total: { type: 'integer' },
    },
  },
  SearchResult: {
    type: 'object',
    required: ['query', 'hits'],
    properties: {
      query: { type: 'string' },
      hits: {
        type: 'array',
        items: {
          type: 'object',
          required: ['type', 'id', 'name', 'products', 'matchedColumns', 'exact', 'rank'],
          properties: {
            type: { type: 'string', enum: ['product', 'asset'] },
            id: { type: 'string' },
            name: { type: 'string' },
            kind: { type: 'string', enum: [...assetKinds] },
            description: { type: 'string' },
            products: { type: 'array', items: { type: 'string' } },
            matchedColumns: { type: 'array', items: { type: 'string' } },
            exact: { type: 'boolean', description: 'The name (or the short name) is the query' },
            rank: { type: 'number' },
          },
        },
      },
    },
  },
  LineageGraph: {
    type: 'object',
    required: ['nodes', 'edges', 'truncated'],
    properties: {
      nodes: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'kind', 'name', 'products', 'depth'],
          properties: {
            id: { type: 'string' },
            kind: { type: 'string', enum: [...assetKinds] },
            name: { type: 'string' },
            products: { type: 'array', items: { type: 'string' } },
            depth: { type: 'integer', minimum: 0 },
          },
        },
      },
      edges: {
        type: 'array',
        items: {
          type: 'object',
          required: ['from', 'to', 'relation', 'source'],
          properties: {
            from: { type: 'string' },
            to: { type: 'string' },
            fromField: { type: 'string', description: 'A JSON Pointer into a payload, or a column' },
            toField: { type: 'string' },
            relation: { type: 'string', enum: ['ingests', 'matches', 'curates', 'computes', 'feeds'] },
            via: { type: 'string' },
            source: { type: 'string', enum: [...entrySources] },
          },
        },
      },
      truncated: { type: 'boolean', description: 'More nodes were in reach than maxNodes' },
    },
  },
  Registration: registrationSchema,
};

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    domain: text(200),
    owner: text(200),
    tag: text(100),
    status: { type: 'string', enum: [...productStatuses] },
    source: { type: 'string', enum: [...entrySources] },
    kind: { type: 'string', enum: [...assetKinds] },
    limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 100 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
};

export const assetListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: [...assetKinds] },
    limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 100 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
};

export const searchQuerySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['q'],
  properties: {
    q: text(500, { minLength: 1 }),
    kind: { type: 'string', enum: ['product', ...assetKinds] },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
};

export const lineageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    direction: { type: 'string', enum: ['upstream', 'downstream', 'both'], default: 'both' },
    depth: { type: 'integer', minimum: 0, maximum: 50, default: 1 },
    maxNodes: { type: 'integer', minimum: 1, maximum: 20_000, default: 2_000 },
    columns: { type: 'boolean', default: true },
  },
};

const parameters = (schema: { properties: Record<string, unknown>; required?: string[] }) =>
  Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: (schema.required ?? []).includes(name),
    schema: s,
  }));

const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const nameParameter = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: productNamePattern },
};
const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The asset id `<kind>:<name>`, percent-encoded (`/` as %2F)',
  schema: { type: 'string' },
};
const writeSecurity = [{ registrationToken: [] }];

/** The document GET /v1/openapi.json serves. */
export function openApiDocument(version: string, serverUrl = '/v1'): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'plantmesh data-product catalog',
      version,
      description:
        'The data products of the mesh: discovered from the stores, the ETL definitions and the brokers, or registered; their ports, assets, columns, access, freshness and lineage.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: serverUrl }],
    paths: {
      '/products': {
        get: {
          operationId: 'listProducts',
          summary: 'Products, filtered by domain, owner, tag, status, source or the kind of their assets',
          parameters: parameters(listQuery),
          responses: { '200': { description: 'The products', ...json('ProductList') }, '400': problem('A bad filter') },
        },
        post: {
          operationId: 'createProduct',
          summary: 'Registers a product by hand (its name in the body)',
          security: writeSecurity,
          requestBody: { required: true, ...json('Registration') },
          responses: {
            '201': { description: 'Registered', ...json('ProductDetail') },
            '400': problem('An invalid registration'),
            '401': problem('No or a wrong registration token'),
            '403': problem('Registration is off (no REGISTRATION_TOKEN)'),
            '409': problem('The product exists'),
            '413': problem('The body is too large'),
          },
        },
      },
      '/products/{name}': {
        parameters: [nameParameter],
        get: {
          operationId: 'getProduct',
          summary: 'A product with its ports, assets, columns, access snippets and freshness',
          responses: {
            '200': { description: 'The product', ...json('ProductDetail') },
            '404': problem('No such product'),
          },
        },
        put: {
          operationId: 'putProduct',
          summary: 'Registers or replaces a product by hand',
          security: writeSecurity,
          requestBody: { required: true, ...json('Registration') },
          responses: {
            '200': { description: 'Replaced', ...json('ProductDetail') },
            '201': { description: 'Registered', ...json('ProductDetail') },
            '400': problem('An invalid registration'),
            '401': problem('No or a wrong registration token'),
            '403': problem('Registration is off (no REGISTRATION_TOKEN)'),
            '409': problem('A discovered product (changed where it is defined)'),
            '413': problem('The body is too large'),
          },
        },
        delete: {
          operationId: 'deleteProduct',
          summary: 'Removes a registered product',
          security: writeSecurity,
          responses: {
            '204': { description: 'Removed' },
            '401': problem('No or a wrong registration token'),
            '403': problem('Registration is off (no REGISTRATION_TOKEN)'),
            '404': problem('No such product'),
            '409': problem('A discovered product'),
          },
        },
      },
      '/products/{name}/lineage': {
        parameters: [nameParameter],
        get: {
          operationId: 'productLineage',
          summary: "The lineage graph of a product's outputs, upstream and downstream, to a depth",
          parameters: parameters(lineageQuery),
          responses: {
            '200': { description: 'The graph', ...json('LineageGraph') },
            '400': problem('A bad parameter'),
            '404': problem('No such product'),
          },
        },
      },
      '/assets': {
        get: {
          operationId: 'listAssets',
          summary: 'Assets, by kind (without their OpenAPI documents)',
          parameters: parameters(assetListQuery),
          responses: { '200': { description: 'The assets', ...json('AssetList') }, '400': problem('A bad filter') },
        },
      },
      '/assets/{id}': {
        parameters: [idParameter],
        get: {
          operationId: 'getAsset',
          summary: 'An asset with its access snippets and the products it is a port of',
          responses: { '200': { description: 'The asset', ...json('Asset') }, '404': problem('No such asset') },
        },
      },
      '/assets/{id}/lineage': {
        parameters: [idParameter],
        get: {
          operationId: 'assetLineage',
          summary: 'The lineage graph around an asset',
          parameters: parameters(lineageQuery),
          responses: {
            '200': { description: 'The graph', ...json('LineageGraph') },
            '400': problem('A bad parameter'),
            '404': problem('No such asset'),
          },
        },
      },
      '/search': {
        get: {
          operationId: 'search',
          summary: 'Full-text search over names, descriptions, columns, tags and topics; exact names first',
          parameters: parameters(searchQuerySchema),
          responses: {
            '200': { description: 'The hits, best first', ...json('SearchResult') },
            '400': problem('No query'),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          responses: {
            '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        registrationToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The registration token (REGISTRATION_TOKEN); reads need none',
        },
      },
    },
  };
}
