/**
 * The curated data products in the model: an object type per product (its row JSON Schema from the
 * registry, curated.definitions), a relationship type pair per relationship its definition declares (a
 * plate CutFrom a slab, a slab CutInto plates), and an object per product under the `Data products`
 * root. The rows themselves are objects too, but are not copied here: the I3X API resolves
 * `plantmesh:curated:<product>:<key>` from the product's table when asked (docs/adr/0012).
 */
import type pg from 'pg';
import type { Namespace, ObjectType, RelationshipType } from '../model.js';
import {
  DATA_PRODUCTS_OBJECT,
  DEFAULT_PLANT_NAMESPACE,
  PLATFORM_NAMESPACE,
  platformModel,
  productObjectId,
  productRelationshipTypes,
  productTypeId,
  TYPES,
} from '../platform.js';
import { type StoredObject, type StoreModel, type StoreResult, storeModel } from './write.js';

/** What the model needs of a curated.definitions row. */
export interface ProductDefinition {
  product: string;
  version: string;
  table_name: string;
  description: string;
  domain: string;
  owner: string;
  row_schema: Record<string, unknown>;
  definition: {
    key: string[];
    eventTime: string;
    eventEnd?: string;
    relationships?: Array<{ type: string; reverse: string; to: string; columns: Record<string, string> }>;
  };
}

export interface CuratedModelResult {
  model: StoreModel;
  /** Relationships left out (their type name is taken by another meaning), and why. */
  warnings: string[];
}

/** The product types, relationship types and product objects of the registry's definitions. Pure. */
export function curatedModel(
  definitions: readonly ProductDefinition[],
  plant: Namespace = DEFAULT_PLANT_NAMESPACE,
): CuratedModelResult {
  const warnings: string[] = [];
  const reserved = new Map(platformModel().relationshipTypes.map((type) => [type.elementId, type.reverseOf]));
  const relationshipTypes = new Map<string, RelationshipType>();
  const objectTypes: ObjectType[] = [];
  const objects: StoredObject[] = [];
  for (const definition of [...definitions].sort((a, b) => (a.product < b.product ? -1 : 1))) {
    const { $schema: _dialect, ...schema } = definition.row_schema;
    objectTypes.push({
      elementId: productTypeId(definition.product),
      displayName: definition.product,
      namespaceUri: plant.uri,
      sourceTypeId: definition.product,
      version: definition.version,
      schema,
      isAbstract: false,
      description: definition.description,
      source: { nodeClass: 'ObjectType', browseName: definition.product },
    });
    objects.push({
      elementId: productObjectId(definition.product),
      displayName: definition.product,
      namespaceUri: plant.uri,
      typeElementId: TYPES.dataProduct,
      parentId: DATA_PRODUCTS_OBJECT,
      isComposition: false,
      relationships: [],
      description: definition.description,
      source: { nodeClass: 'Object', browseName: definition.product },
      system: {
        product: definition.product,
        version: definition.version,
        table: `curated.${definition.table_name}`,
        domain: definition.domain,
        owner: definition.owner,
        key: definition.definition.key,
        eventTime: definition.definition.eventTime,
      },
    });
    for (const relationship of definition.definition.relationships ?? []) {
      const pair = productRelationshipTypes(
        relationship.type,
        relationship.reverse,
        plant.uri,
        `A ${definition.product} row ${relationship.type} a ${relationship.to} row`,
      );
      const clash = pair.find((type) => {
        const taken = reserved.get(type.elementId) ?? relationshipTypes.get(type.elementId)?.reverseOf;
        return taken !== undefined && taken !== type.reverseOf;
      });
      if (clash) {
        warnings.push(
          `${definition.product}: relationship ${relationship.type}/${relationship.reverse} left out: ${clash.elementId} already has the reverse ${reserved.get(clash.elementId) ?? relationshipTypes.get(clash.elementId)?.reverseOf}`,
        );
        continue;
      }
      for (const type of pair) if (!relationshipTypes.has(type.elementId)) relationshipTypes.set(type.elementId, type);
    }
  }
  return {
    model: {
      namespaces: [plant, PLATFORM_NAMESPACE].filter((n, i, all) => all.findIndex((m) => m.uri === n.uri) === i),
      objectTypes,
      relationshipTypes: [...relationshipTypes.values()],
      objects,
      dataTypes: [],
    },
    warnings,
  };
}

/** The registry's definitions as the model needs them. */
export async function readProductDefinitions(client: pg.Pool | pg.ClientBase): Promise<ProductDefinition[]> {
  const { rows } = await client.query<ProductDefinition>(
    `select product, version, table_name, description, domain, owner, row_schema, definition
     from curated.definitions order by product`,
  );
  return rows;
}

/** Replaces the model's curated part (source `curated`) with what the registry holds now. */
export async function syncCuratedProducts(
  client: pg.ClientBase,
  plant: Namespace = DEFAULT_PLANT_NAMESPACE,
): Promise<StoreResult & { warnings: string[] }> {
  const { model, warnings } = curatedModel(await readProductDefinitions(client), plant);
  // The platform's namespace is the platform loader's; this source only uses it.
  model.namespaces = model.namespaces.filter((namespace) => namespace.uri !== PLATFORM_NAMESPACE.uri);
  return { ...(await storeModel(client, model, 'curated')), warnings };
}
