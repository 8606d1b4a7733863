/**
 * Reads of the stored model (curated.model_*) in the I3X shapes, and of the curated rows that are objects
 * too (products.ts), behind one interface: the routes never care where an object comes from.
 */
import {
  type I3xObject,
  type I3xObjectType,
  type I3xRelationshipType,
  inlineInheritance,
  type ObjectType,
  REL,
} from '@plantmesh/information-model';
import type pg from 'pg';
import type { Truncation } from './envelope.js';
import { listRows, type Product, Products, type RowRecord, readRows, rowEdges, rowRefs } from './products.js';
import { readAheadDue, SharedReads } from './shared-reads.js';

interface ObjectRow {
  element_id: string;
  display_name: string;
  type_element_id: string;
  parent_id: string | null;
  is_composition: boolean;
  description: string | null;
  system: Record<string, unknown>;
  value_source: 'none' | 'series' | 'curated';
  series_id: number | null;
  product: string | null;
  row_key: unknown[] | null;
}

/** An object with where its value comes from. */
export interface ResolvedObject {
  elementId: string;
  displayName: string;
  typeElementId: string;
  parentId: string | null;
  isComposition: boolean;
  description: string | null;
  system: Record<string, unknown>;
  value:
    | { kind: 'none' }
    /** A sensor series; its path (the live stream's) where the object names it. */
    | { kind: 'series'; seriesId: number; path?: string }
    | { kind: 'row'; row: RowRecord }
    | { kind: 'stored-row'; product: string; key: unknown[] };
}

export interface Edge {
  subject: string;
  type: string;
  target: string;
}

export interface ModelLimits {
  maxObjects: number;
}

const OBJECT_COLUMNS = `o.element_id, o.display_name, o.type_element_id, o.parent_id, o.is_composition, o.description,
  o.system, o.value_source, o.series_id, o.product, o.row_key`;

/**
 * Stored objects read in the last moments, by ElementId: the hot path (last values of the same elements,
 * asked again and again) then costs one query, not two. An object changed by a model sync (here or on
 * another replica) is seen within the time it is kept, as the product registry is; one not found is not kept,
 * so a new object is found at once. One asked for in the last fifth of its time is read again in the
 * background, once, while it is still answered: hot objects do not all expire under load together, sending
 * every request in flight to the store at once.
 */
class RecentObjects {
  private readonly objects = new Map<string, { object: ResolvedObject; at: number; refreshAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
  ) {}

  /** The objects kept, and those of them due to be read again. */
  take(elementIds: readonly string[]): { found: Map<string, ResolvedObject>; due: string[] } {
    const found = new Map<string, ResolvedObject>();
    const due: string[] = [];
    const now = Date.now();
    for (const id of elementIds) {
      const held = this.objects.get(id);
      if (!held || now - held.at >= this.ttlMs) continue;
      found.set(id, held.object);
      if (readAheadDue(held, now - held.at, this.ttlMs, now)) due.push(id);
    }
    return { found, due };
  }

  /** Keeps an object read at `at`, unless a later read's is kept. */
  keep(object: ResolvedObject, at: number): void {
    if ((this.objects.get(object.elementId)?.at ?? 0) > at) return;
    this.objects.delete(object.elementId);
    this.objects.set(object.elementId, { object, at, refreshAt: 0 });
    // The oldest kept go first (a Map iterates in insertion order).
    if (this.objects.size > this.capacity) this.objects.delete(this.objects.keys().next().value as string);
  }

  forget(elementId: string): void {
    this.objects.delete(elementId);
  }
}

export class ModelReader {
  readonly products: Products;
  private readonly recent = new RecentObjects(2_000, 100_000);
  private readonly reads = new SharedReads<string, ResolvedObject>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly limits: ModelLimits,
  ) {
    this.products = new Products(pool);
  }

  async namespaces(): Promise<Array<{ uri: string; displayName: string }>> {
    const { rows } = await this.pool.query<{ uri: string; displayName: string }>(
      'select uri, display_name as "displayName" from curated.model_namespaces order by uri',
    );
    return rows;
  }

  /** Object types, their schemas with the supertypes' members inlined (as the guide says a server serves them). */
  async objectTypes(filter: { namespaceUri?: string; elementIds?: readonly string[] }): Promise<I3xObjectType[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.namespaceUri !== undefined) {
      params.push(filter.namespaceUri);
      conditions.push(`namespace_uri = $${params.length}`);
    }
    if (filter.elementIds !== undefined) {
      params.push(filter.elementIds);
      conditions.push(`element_id = any($${params.length}::text[])`);
    }
    // The types asked for and every supertype of theirs, for inlining.
    const { rows } = await this.pool.query<{
      element_id: string;
      display_name: string;
      namespace_uri: string;
      source_type_id: string;
      version: string | null;
      schema: Record<string, unknown>;
      parent_type_id: string | null;
      is_abstract: boolean;
      description: string | null;
      asked: boolean;
    }>(
      `with recursive asked as (
         select element_id from curated.model_object_types ${conditions.length ? `where ${conditions.join(' and ')}` : ''}
       ), chain as (
         select t.element_id, t.parent_type_id from curated.model_object_types t join asked using (element_id)
         union
         select t.element_id, t.parent_type_id from curated.model_object_types t join chain c on t.element_id = c.parent_type_id
       )
       select t.*, t.element_id in (select element_id from asked) as asked
       from curated.model_object_types t where t.element_id in (select element_id from chain)
       order by t.element_id`,
      params,
    );
    const types = new Map<string, ObjectType>(
      rows.map((row) => [
        row.element_id,
        {
          elementId: row.element_id,
          displayName: row.display_name,
          namespaceUri: row.namespace_uri,
          sourceTypeId: row.source_type_id,
          ...(row.version === null ? {} : { version: row.version }),
          schema: row.schema,
          ...(row.parent_type_id === null ? {} : { parentTypeId: row.parent_type_id }),
          isAbstract: row.is_abstract,
          ...(row.description === null ? {} : { description: row.description }),
          source: { nodeClass: 'ObjectType', browseName: row.display_name },
        },
      ]),
    );
    return rows
      .filter((row) => row.asked)
      .map((row) => {
        const type = types.get(row.element_id) as ObjectType;
        return {
          elementId: type.elementId,
          displayName: type.displayName,
          namespaceUri: type.namespaceUri,
          sourceTypeId: type.sourceTypeId,
          version: type.version ?? null,
          schema: type.parentTypeId === undefined ? type.schema : inlineInheritance(type, (id) => types.get(id)),
          related:
            type.parentTypeId === undefined ? null : { relationshipType: REL.inheritsFrom, types: [type.parentTypeId] },
        };
      });
  }

  async relationshipTypes(filter: {
    namespaceUri?: string;
    elementIds?: readonly string[];
  }): Promise<I3xRelationshipType[]> {
    const { rows } = await this.pool.query<I3xRelationshipType>(
      `select element_id as "elementId", display_name as "displayName", namespace_uri as "namespaceUri",
         relationship_id as "relationshipId", reverse_of as "reverseOf"
       from curated.model_relationship_types
       where ($1::text is null or namespace_uri = $1) and ($2::text[] is null or element_id = any($2::text[]))
       order by element_id`,
      [filter.namespaceUri ?? null, filter.elementIds ?? null],
    );
    return rows;
  }

  async relationshipTypeExists(elementId: string): Promise<boolean> {
    const { rows } = await this.pool.query('select from curated.model_relationship_types where element_id = $1', [
      elementId,
    ]);
    return rows.length > 0;
  }

  /** Objects by ElementId: stored ones and curated rows. Unknown ids are absent from the map. */
  async objects(elementIds: readonly string[]): Promise<Map<string, ResolvedObject>> {
    const { found: result, due } = this.recent.take(elementIds);
    // Read ahead while still answered; should it fail, they expire and a request reads them (and fails).
    if (due.length > 0) this.readStored(due).catch(() => {});
    const unknown = elementIds.filter((id) => !result.has(id));
    if (unknown.length > 0) {
      // Requests in flight asking for the same objects share one read.
      for (const [id, object] of await this.reads.get(unknown, (ids) => this.readStored(ids))) result.set(id, object);
    }
    const missing = elementIds.filter((id) => !result.has(id) && id.startsWith('plantmesh:curated:'));
    if (missing.length > 0) {
      const products = await this.products.all();
      const found = await readRows(this.pool, rowRefs(missing, products).values());
      for (const row of found.values()) result.set(row.elementId, fromRecord(row));
    }
    return result;
  }

  /** Stored objects by ElementId, read from the store and kept; one no longer there is forgotten. */
  private async readStored(elementIds: string[]): Promise<Map<string, ResolvedObject>> {
    const at = Date.now();
    const { rows } = await this.pool.query<ObjectRow>(
      `select ${OBJECT_COLUMNS} from curated.model_objects o where o.element_id = any($1::text[])`,
      [elementIds],
    );
    const found = new Map<string, ResolvedObject>();
    for (const row of rows) {
      const object = fromRow(row);
      found.set(row.element_id, object);
      this.recent.keep(object, at);
    }
    for (const id of elementIds) if (!found.has(id)) this.recent.forget(id);
    return found;
  }

  /**
   * Objects of a listing: all, those of a type, the roots. Stored objects first (by ElementId), then the
   * curated rows of each product (by key), at most maxObjects.
   */
  async list(filter: { typeElementId?: string; root?: boolean }, truncation: Truncation): Promise<ResolvedObject[]> {
    const limit = this.limits.maxObjects;
    const { rows } = await this.pool.query<ObjectRow>(
      `select ${OBJECT_COLUMNS} from curated.model_objects o
       where ($1::text is null or o.type_element_id = $1) and (not $2 or o.parent_id is null)
       order by o.element_id limit $3`,
      [filter.typeElementId ?? null, filter.root === true, limit + 1],
    );
    const result = rows.slice(0, limit).map(fromRow);
    if (rows.length > limit) {
      truncation.add(`at most ${limit} objects per answer (MAX_OBJECTS)`);
      return result;
    }
    // Curated rows have a parent (their product's object): never roots.
    if (filter.root === true) return result;
    const products = [...(await this.products.all()).values()].filter(
      (product) => filter.typeElementId === undefined || product.typeId === filter.typeElementId,
    );
    for (const product of products) {
      const room = limit - result.length;
      const listed = await listRows(this.pool, product, room);
      if (listed.elementIds.length > 0) {
        const found = await readRows(this.pool, rowRefs(listed.elementIds, await this.products.all()).values());
        for (const id of listed.elementIds) {
          const row = found.get(id);
          if (row) result.push(fromRecord(row));
        }
      }
      if (listed.more) {
        truncation.add(`at most ${limit} objects per answer (MAX_OBJECTS)`);
        break;
      }
    }
    return result;
  }

  /**
   * Each object's edges (both directions; the hierarchy included), optionally of one relationship type, at
   * most maxObjects per object.
   */
  async edges(objects: readonly ResolvedObject[], type: string | undefined, truncation: Truncation): Promise<Edge[]> {
    const limit = this.limits.maxObjects;
    const stored = objects.filter((object) => object.value.kind !== 'row').map((object) => object.elementId);
    const edges: Edge[] = [];
    if (stored.length > 0) {
      const { rows } = await this.pool.query<{ subject_id: string; type_id: string; object_id: string; n: string }>(
        `select subject_id, type_id, object_id, n from (
           select e.*, row_number() over (partition by e.subject_id order by e.type_id, e.object_id) as n
           from curated.model_edges e
           where e.subject_id = any($1::text[]) and ($2::text is null or e.type_id = $2)
         ) x where n <= $3 + 1 order by subject_id, type_id, object_id`,
        [stored, type ?? null, limit],
      );
      for (const row of rows) {
        if (Number(row.n) > limit) {
          truncation.add(`at most ${limit} related objects per element (MAX_OBJECTS)`);
          continue;
        }
        edges.push({ subject: row.subject_id, type: row.type_id, target: row.object_id });
      }
    }
    // A product's object has its rows as children.
    const products = await this.products.all();
    for (const object of objects) {
      const product = productOf(object, products);
      if (!product || (type !== undefined && type !== REL.hasChildren)) continue;
      const listed = await listRows(this.pool, product, limit);
      if (listed.more) truncation.add(`at most ${limit} related objects per element (MAX_OBJECTS)`);
      for (const id of listed.elementIds) edges.push({ subject: object.elementId, type: REL.hasChildren, target: id });
    }
    for (const object of objects) {
      if (object.value.kind !== 'row') continue;
      const found = await rowEdges(this.pool, object.value.row, products, limit);
      if (found.more) truncation.add(`at most ${limit} related objects per element (MAX_OBJECTS)`);
      for (const edge of found.edges) {
        if (type === undefined || edge.type === type) {
          edges.push({ subject: object.elementId, type: edge.type, target: edge.targetId });
        }
      }
    }
    return edges;
  }

  /** The components of objects (targets of composing edges), by subject. */
  async components(elementIds: readonly string[]): Promise<Map<string, string[]>> {
    const { rows } = await this.pool.query<{ subject_id: string; object_id: string }>(
      `select e.subject_id, e.object_id from curated.model_edges e
       join curated.model_relationship_types t on t.element_id = e.type_id and t.composes
       where e.subject_id = any($1::text[]) order by e.subject_id, e.object_id`,
      [elementIds],
    );
    const result = new Map<string, string[]>();
    for (const row of rows) result.set(row.subject_id, [...(result.get(row.subject_id) ?? []), row.object_id]);
    return result;
  }

  /** Objects in the I3X shape, with metadata (their types' namespace and source id, relationships) if asked. */
  async toI3x(
    objects: readonly ResolvedObject[],
    includeMetadata: boolean,
    truncation: Truncation,
  ): Promise<I3xObject[]> {
    const shapes = objects.map(
      (object): I3xObject => ({
        elementId: object.elementId,
        displayName: object.displayName,
        typeElementId: object.typeElementId,
        parentId: object.parentId,
        isComposition: object.isComposition,
        isExtended: false,
      }),
    );
    if (!includeMetadata) return shapes;
    const typeIds = [...new Set(objects.map((object) => object.typeElementId))];
    const { rows } = await this.pool.query<{ element_id: string; namespace_uri: string; source_type_id: string }>(
      'select element_id, namespace_uri, source_type_id from curated.model_object_types where element_id = any($1::text[])',
      [typeIds],
    );
    const types = new Map(rows.map((row) => [row.element_id, row]));
    const relationships = new Map<string, Record<string, string[]>>();
    for (const edge of await this.edges(objects, undefined, truncation)) {
      const byType = relationships.get(edge.subject) ?? {};
      byType[edge.type] = [...(byType[edge.type] ?? []), edge.target];
      relationships.set(edge.subject, byType);
    }
    return shapes.map((shape, i) => {
      const object = objects[i] as ResolvedObject;
      const type = types.get(object.typeElementId);
      return {
        ...shape,
        metadata: {
          typeNamespaceUri: type?.namespace_uri ?? null,
          sourceTypeId: type?.source_type_id ?? null,
          description: object.description,
          relationships: relationships.get(object.elementId) ?? {},
          system: object.system,
        },
      };
    });
  }
}

function productOf(object: ResolvedObject, products: Map<string, Product>): Product | undefined {
  const name = object.system.product;
  if (typeof name !== 'string' || object.value.kind === 'row') return undefined;
  const product = products.get(name);
  return product && product.objectId === object.elementId ? product : undefined;
}

function fromRow(row: ObjectRow): ResolvedObject {
  return {
    elementId: row.element_id,
    displayName: row.display_name,
    typeElementId: row.type_element_id,
    parentId: row.parent_id,
    isComposition: row.is_composition,
    description: row.description,
    system: row.system,
    value:
      row.value_source === 'series' && row.series_id !== null
        ? {
            kind: 'series',
            seriesId: row.series_id,
            ...(typeof row.system.seriesPath === 'string' ? { path: row.system.seriesPath } : {}),
          }
        : row.value_source === 'curated' && row.product !== null
          ? { kind: 'stored-row', product: row.product, key: row.row_key ?? [] }
          : { kind: 'none' },
  };
}

function fromRecord(row: RowRecord): ResolvedObject {
  const keyText = row.product.key.map((name) => String(row.value[name])).join(', ');
  return {
    elementId: row.elementId,
    displayName: keyText,
    typeElementId: row.product.typeId,
    parentId: row.product.objectId,
    isComposition: false,
    description: `A row of ${row.product.name}`,
    system: { product: row.product.name, table: `curated.${row.product.table}`, key: row.product.key },
    value: { kind: 'row', row },
  };
}
