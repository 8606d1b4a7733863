/**
 * The stored model read back as an InformationModel: what a NodeSet import builds on (the models imported
 * before, with their data types), and what a test compares with what was stored.
 */
import type pg from 'pg';
import type {
  DataType,
  InformationModel,
  ObjectInstance,
  ObjectType,
  OpcUaSource,
  RelationshipType,
} from '../model.js';

/** The elements stored by the sources matching a LIKE pattern (e.g. `nodeset:%`), each list sorted by ElementId. */
export async function loadStoredModel(client: pg.Pool | pg.ClientBase, sourcePattern = '%'): Promise<InformationModel> {
  const namespaces = await client.query(
    `select uri, display_name, version, publication_date, required_models from curated.model_namespaces
     where source like $1 order by uri`,
    [sourcePattern],
  );
  const objectTypes = await client.query(
    `select * from curated.model_object_types where source like $1 order by element_id`,
    [sourcePattern],
  );
  const relationshipTypes = await client.query(
    `select * from curated.model_relationship_types where source like $1 order by element_id`,
    [sourcePattern],
  );
  const dataTypes = await client.query(
    `select * from curated.model_data_types where source like $1 order by element_id`,
    [sourcePattern],
  );
  const objects = await client.query(
    `select o.*, coalesce((
       select jsonb_agg(jsonb_build_object('type', r.type_id, 'targetId', r.object_id) order by r.type_id, r.object_id)
       from curated.model_relationships r where r.subject_id = o.element_id), '[]') as relationships
     from curated.model_objects o where o.source like $1 order by o.element_id`,
    [sourcePattern],
  );
  const optional = <T>(value: T | null) => (value === null ? undefined : value);
  const source = (system: Record<string, unknown>): OpcUaSource => ({
    nodeClass: (system.nodeClass as OpcUaSource['nodeClass']) ?? 'Object',
    browseName: (system.browseName as string) ?? '',
  });
  const strip = <T extends object>(item: T): T =>
    Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as T;
  return {
    namespaces: namespaces.rows.map((row) =>
      strip({
        uri: row.uri,
        displayName: row.display_name,
        version: optional(row.version),
        publicationDate: optional(row.publication_date),
        requiredModels: row.required_models.length > 0 ? row.required_models : undefined,
      }),
    ),
    objectTypes: objectTypes.rows.map(
      (row): ObjectType =>
        strip({
          elementId: row.element_id,
          displayName: row.display_name,
          namespaceUri: row.namespace_uri,
          sourceTypeId: row.source_type_id,
          version: optional(row.version),
          schema: row.schema,
          parentTypeId: optional(row.parent_type_id),
          isAbstract: row.is_abstract,
          description: optional(row.description),
          source: source(row.system),
        }),
    ),
    relationshipTypes: relationshipTypes.rows.map(
      (row): RelationshipType =>
        strip({
          elementId: row.element_id,
          displayName: row.display_name,
          namespaceUri: row.namespace_uri,
          relationshipId: row.relationship_id,
          reverseOf: row.reverse_of,
          direction: row.direction,
          parentTypeId: optional(row.parent_type_id),
          isAbstract: row.is_abstract,
          symmetric: row.is_symmetric,
          description: optional(row.description),
          source: source(row.system),
        }),
    ),
    objects: objects.rows.map(
      (row): ObjectInstance =>
        strip({
          elementId: row.element_id,
          displayName: row.display_name,
          namespaceUri: row.namespace_uri,
          typeElementId: row.type_element_id,
          parentId: optional(row.parent_id),
          isComposition: row.is_composition,
          relationships: row.relationships,
          description: optional(row.description),
          source: source(row.system),
        }),
    ),
    dataTypes: dataTypes.rows.map(
      (row): DataType =>
        strip({
          elementId: row.element_id,
          displayName: row.display_name,
          namespaceUri: row.namespace_uri,
          sourceTypeId: row.source_type_id,
          parentTypeId: optional(row.parent_type_id),
          isAbstract: row.is_abstract,
          schema: row.schema,
          source: source(row.system),
        }),
    ),
  };
}
