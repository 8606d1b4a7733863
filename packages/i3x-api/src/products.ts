/**
 * Curated rows as I3X objects, resolved on read from their product's table (docs/adr/0012): a row is
 * `plantmesh:curated:<product>:<key>`, typed by its product's type, a child of its product's object; its
 * value is the row (its columns, as the row JSON Schema says), quality Good, timestamped by its event time;
 * its relationships are those its definition declares (a plate CutFrom a slab) and their reverses.
 */
import { quoteIdentifier } from '@plantmesh/core';
import { curatedRowId, parseCuratedRowId, productObjectId, productTypeId, REL } from '@plantmesh/information-model';
import type pg from 'pg';
import { utcSql } from './time.js';

export interface ProductColumn {
  name: string;
  type: string;
}

export interface ProductRelationship {
  type: string;
  reverse: string;
  to: string;
  /** Column of this product -> key column of `to`. */
  columns: Record<string, string>;
}

export interface Product {
  name: string;
  table: string;
  key: string[];
  eventTime: string;
  columns: ProductColumn[];
  relationships: ProductRelationship[];
  typeId: string;
  objectId: string;
}

/** A curated row as an object: its ElementId, its product, and its parent (the product's object). */
export interface RowRef {
  elementId: string;
  product: Product;
  key: string[];
}

interface DefinitionRow {
  product: string;
  table_name: string;
  definition: {
    columns: ProductColumn[];
    key: string[];
    eventTime: string;
    relationships?: ProductRelationship[];
  };
}

/** The registry (curated.definitions), read again at most every `ttlMs`. */
export class Products {
  private cached: { at: number; products: Map<string, Product> } | undefined;
  private loading: Promise<Map<string, Product>> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs = 2_000,
  ) {}

  async all(): Promise<Map<string, Product>> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.products;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Forget the cached registry (after the curated part of the model was synchronised). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async load(): Promise<Map<string, Product>> {
    const { rows } = await this.pool.query<DefinitionRow>(
      'select product, table_name, definition from curated.definitions order by product',
    );
    const products = new Map<string, Product>();
    for (const row of rows) {
      products.set(row.product, {
        name: row.product,
        table: row.table_name,
        key: row.definition.key,
        eventTime: row.definition.eventTime,
        columns: row.definition.columns.map((column) => ({ name: column.name, type: column.type })),
        relationships: row.definition.relationships ?? [],
        typeId: productTypeId(row.product),
        objectId: productObjectId(row.product),
      });
    }
    this.cached = { at: Date.now(), products };
    return products;
  }
}

const KEY_TEXT: Record<string, RegExp> = {
  integer: /^-?\d{1,10}$/,
  bigint: /^-?\d{1,19}$/,
  numeric: /^-?\d{1,100}(\.\d{1,100})?$/,
  'double precision': /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i,
  boolean: /^(true|false)$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  timestamptz: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/,
  text: /^[\s\S]*$/,
};

const table = (product: Product) => `curated.${quoteIdentifier(product.table)}`;

/** The text of a key column as an ElementId holds it: timestamps in UTC with Z, everything else as text. */
function keyTextSql(product: Product, alias: string): string {
  return `array[${product.key
    .map((name) => {
      const column = `${alias}.${quoteIdentifier(name)}`;
      return typeOf(product, name) === 'timestamptz' ? utcSql(column) : `${column}::text`;
    })
    .join(', ')}]`;
}

function typeOf(product: Product, column: string): string {
  return product.columns.find((item) => item.name === column)?.type ?? 'text';
}

/** The row as JSON: every column, timestamps in UTC with Z. */
function valueSql(product: Product, alias: string): string {
  const pairs = product.columns.map((column) => {
    const name = `${alias}.${quoteIdentifier(column.name)}`;
    return `'${column.name}', ${column.type === 'timestamptz' ? utcSql(name) : name}`;
  });
  // jsonb_build_object takes at most 100 arguments: 50 columns per call.
  const chunks: string[] = [];
  for (let i = 0; i < pairs.length; i += 50) chunks.push(`jsonb_build_object(${pairs.slice(i, i + 50).join(', ')})`);
  return chunks.join(' || ');
}

/** The row ElementIds among `elementIds` that name rows of known products (not checked to exist). */
export function rowRefs(elementIds: readonly string[], products: Map<string, Product>): Map<string, RowRef> {
  const refs = new Map<string, RowRef>();
  for (const elementId of elementIds) {
    const parsed = parseCuratedRowId(elementId);
    const product = parsed && products.get(parsed.product);
    if (!parsed || !product || parsed.key.length !== product.key.length) continue;
    const valid = product.key.every((name, i) => KEY_TEXT[typeOf(product, name)]?.test(parsed.key[i] as string));
    if (valid) refs.set(elementId, { elementId, product, key: parsed.key });
  }
  return refs;
}

export interface RowRecord {
  elementId: string;
  product: Product;
  value: Record<string, unknown>;
  timestamp: string;
  /** Values of the columns that relate it to other products, by column. */
  links: Record<string, unknown>;
}

/** The rows that exist of the given refs, by ElementId (only the canonical ElementId of a row finds it). */
export async function readRows(pool: pg.Pool, refs: Iterable<RowRef>): Promise<Map<string, RowRecord>> {
  const byProduct = new Map<Product, RowRef[]>();
  for (const ref of refs) byProduct.set(ref.product, [...(byProduct.get(ref.product) ?? []), ref]);
  const found = new Map<string, RowRecord>();
  for (const [product, list] of byProduct) {
    const keyColumns = product.key.map((name) => `${quoteIdentifier(name)} ${typeOf(product, name)}`).join(', ');
    const join = product.key.map((name) => `r.${quoteIdentifier(name)} = x.${quoteIdentifier(name)}`).join(' and ');
    const linkColumns = [...new Set(product.relationships.flatMap((rel) => Object.keys(rel.columns)))];
    const { rows } = await pool.query<{ key: string[]; value: Record<string, unknown>; ts: string; links: unknown }>(
      `select ${keyTextSql(product, 'r')} as key, ${valueSql(product, 'r')} as value,
         ${utcSql(`r.${quoteIdentifier(product.eventTime)}`)} as ts,
         jsonb_build_object(${linkColumns.map((c) => `'${c}', r.${quoteIdentifier(c)}`).join(', ')}) as links
       from jsonb_to_recordset($1::jsonb) as x(${keyColumns})
       join ${table(product)} r on ${join}`,
      [JSON.stringify(list.map((ref) => Object.fromEntries(product.key.map((name, i) => [name, ref.key[i]]))))],
    );
    for (const row of rows) {
      const elementId = curatedRowId(product.name, row.key);
      found.set(elementId, {
        elementId,
        product,
        value: row.value,
        timestamp: row.ts,
        links: row.links as Record<string, unknown>,
      });
    }
  }
  return found;
}

/** ElementIds of a product's rows in key order, at most `limit` (and whether there were more). */
export async function listRows(
  pool: pg.Pool,
  product: Product,
  limit: number,
): Promise<{ elementIds: string[]; more: boolean }> {
  const order = product.key.map((name) => `r.${quoteIdentifier(name)}`).join(', ');
  const { rows } = await pool.query<{ key: string[] }>(
    `select ${keyTextSql(product, 'r')} as key from ${table(product)} r order by ${order} limit $1`,
    [limit + 1],
  );
  const more = rows.length > limit;
  return { elementIds: rows.slice(0, limit).map((row) => curatedRowId(product.name, row.key)), more };
}

export interface RowEdge {
  type: string;
  targetId: string;
}

/**
 * A row's edges: HasParent its product's object, each declared relationship to the row its columns
 * point at, and each reverse from the rows of other products that point at it (at most `limit` of these).
 */
export async function rowEdges(
  pool: pg.Pool,
  row: RowRecord,
  products: Map<string, Product>,
  limit: number,
): Promise<{ edges: RowEdge[]; more: boolean }> {
  const edges: RowEdge[] = [{ type: REL.hasParent, targetId: row.product.objectId }];
  for (const relationship of row.product.relationships) {
    const target = products.get(relationship.to);
    if (!target) continue;
    // The target's key, in its order, from this row's columns.
    const byTargetColumn = Object.fromEntries(
      Object.entries(relationship.columns).map(([own, theirs]) => [theirs, own]),
    );
    const values = target.key.map((name) => row.links[byTargetColumn[name] as string]);
    if (values.some((value) => value === null || value === undefined)) continue;
    const refs = rowRefs([curatedRowId(target.name, values.map(String))], products);
    const found = await readRows(pool, refs.values());
    for (const id of found.keys()) edges.push({ type: relationship.type, targetId: id });
  }
  let more = false;
  for (const source of products.values()) {
    for (const relationship of source.relationships) {
      if (relationship.to !== row.product.name) continue;
      const conditions = Object.keys(relationship.columns).map((own, i) => `r.${quoteIdentifier(own)} = $${i + 2}`);
      const params = Object.values(relationship.columns).map((theirs) => row.value[theirs]);
      const order = source.key.map((name) => `r.${quoteIdentifier(name)}`).join(', ');
      const { rows } = await pool.query<{ key: string[] }>(
        `select ${keyTextSql(source, 'r')} as key from ${table(source)} r where ${conditions.join(' and ')}
         order by ${order} limit $1`,
        [limit + 1, ...params],
      );
      if (rows.length > limit) more = true;
      for (const found of rows.slice(0, limit)) {
        edges.push({ type: relationship.reverse, targetId: curatedRowId(source.name, found.key) });
      }
    }
  }
  return { edges, more };
}
