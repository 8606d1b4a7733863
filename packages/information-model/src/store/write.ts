/**
 * Writes an information model into the curated store's model tables (migration curated/0006), as the
 * loader `source` that owns it: a NodeSet import (`nodeset:<ModelUri>`), the platform's own types
 * (`platform`), the curated products' types (`curated`), the equipment of the sensor series (`equipment`).
 * Rows are upserted by ElementId (a later load of an element takes it over, as mergeModels does), and with
 * `replace` the rows the source wrote before and no longer has are removed, so a re-import is the file as
 * it is now. One transaction: readers see the model before or after, never half of it.
 */
import type pg from 'pg';
import type { InformationModel, ObjectInstance } from '../model.js';
import { UA_NAMESPACE_URI } from '../nodeset/node-id.js';
import { isValidElementId } from '../platform.js';

/** An object with where its value comes from, as the store keeps it. */
export interface StoredObject extends ObjectInstance {
  /** The parent's value is composed of this object's (HasComponent / ComponentOf along parentId). */
  componentOfParent?: boolean;
  /** A metrics series (its id in metrics.series) or a curated row (product and key values). */
  value?: { series: number } | { product: string; key: unknown[] };
  /** Served as metadata.system (vendor details); `source` (nodeClass, browseName) is added to it. */
  system?: Record<string, unknown>;
}

export interface StoreModel extends Omit<InformationModel, 'objects'> {
  objects: StoredObject[];
}

export interface StoreOptions {
  /** Remove what this source stored before and is no longer in the model (default true). */
  replace?: boolean;
}

export interface StoreResult {
  namespaces: number;
  objectTypes: number;
  relationshipTypes: number;
  objects: number;
  relationships: number;
  removed: number;
  /** Elements left out, and why (an ElementId the I3X guide does not allow). */
  skipped: Array<{ elementId: string; reason: string }>;
}

/** An ElementId already used by an element of another kind (an object named like a type, ...). */
export class ElementIdConflictError extends Error {
  constructor(readonly conflicts: Array<{ elementId: string; stored: string; wanted: string }>) {
    super(
      `ElementIds already used by another kind of element: ${conflicts
        .slice(0, 5)
        .map((c) => `${c.elementId} (a stored ${c.stored}, here a ${c.wanted})`)
        .join(', ')}${conflicts.length > 5 ? `, and ${conflicts.length - 5} more` : ''}`,
    );
    this.name = 'ElementIdConflictError';
  }
}

/** The forward relationship types whose targets compose their subject's value: I3X's and OPC UA's HasComponent. */
const COMPOSING_ROOTS = ['HasComponent', `nsu=${UA_NAMESPACE_URI};i=47`];

/** Stores a model as `source` in one transaction of its own (the client must not be in one). */
export async function storeModel(
  client: pg.ClientBase,
  model: StoreModel,
  source: string,
  options: StoreOptions = {},
): Promise<StoreResult> {
  await client.query('begin');
  try {
    const result = await storeModelInTransaction(client, model, source, options);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/** storeModel inside the caller's transaction (which must allow deferred constraints to be checked at its end). */
export async function storeModelInTransaction(
  client: pg.ClientBase,
  model: StoreModel,
  source: string,
  options: StoreOptions = {},
): Promise<StoreResult> {
  const replace = options.replace ?? true;
  const skipped: StoreResult['skipped'] = [];
  const valid = <T extends { elementId: string }>(items: readonly T[]) =>
    items.filter((item) => {
      if (isValidElementId(item.elementId)) return true;
      skipped.push({
        elementId: item.elementId,
        reason: 'not a valid ElementId (white space at an end or a control character)',
      });
      return false;
    });
  const objectTypes = valid(model.objectTypes);
  const relationshipTypes = valid(model.relationshipTypes);
  const objects = valid(model.objects);
  const kinds = [
    ...objectTypes.map((item) => ({ element_id: item.elementId, kind: 'object_type' })),
    ...relationshipTypes.map((item) => ({ element_id: item.elementId, kind: 'relationship_type' })),
    ...objects.map((item) => ({ element_id: item.elementId, kind: 'object' })),
  ];

  await client.query('select pg_advisory_xact_lock(hashtext($1))', [`plantmesh.model:${source}`]);
  const conflicts = await client.query<{ element_id: string; stored: string; wanted: string }>(
    `select e.element_id, e.kind as stored, x.kind as wanted
     from jsonb_to_recordset($1::jsonb) as x(element_id text, kind text)
     join curated.model_elements e using (element_id)
     where e.kind <> x.kind`,
    [JSON.stringify(kinds)],
  );
  const seen = new Map<string, string>();
  const duplicates: Array<{ elementId: string; stored: string; wanted: string }> = [];
  for (const { element_id, kind } of kinds) {
    const before = seen.get(element_id);
    if (before !== undefined && before !== kind)
      duplicates.push({ elementId: element_id, stored: before, wanted: kind });
    seen.set(element_id, kind);
  }
  if (conflicts.rows.length > 0 || duplicates.length > 0) {
    throw new ElementIdConflictError([
      ...conflicts.rows.map((row) => ({ elementId: row.element_id, stored: row.stored, wanted: row.wanted })),
      ...duplicates,
    ]);
  }
  await client.query(
    `insert into curated.model_elements (element_id, kind)
     select element_id, kind from jsonb_to_recordset($1::jsonb) as x(element_id text, kind text)
     on conflict (element_id) do nothing`,
    [JSON.stringify(kinds)],
  );

  await client.query(
    `insert into curated.model_namespaces (uri, display_name, version, publication_date, required_models, source)
     select uri, "displayName", version, "publicationDate", coalesce("requiredModels", '[]'), $2
     from jsonb_to_recordset($1::jsonb)
       as x(uri text, "displayName" text, version text, "publicationDate" text, "requiredModels" jsonb)
     on conflict (uri) do update set display_name = excluded.display_name, version = excluded.version,
       publication_date = excluded.publication_date, required_models = excluded.required_models,
       source = excluded.source, updated_at = now()`,
    [JSON.stringify(model.namespaces), source],
  );

  await client.query(
    `insert into curated.model_object_types (element_id, display_name, namespace_uri, source_type_id, version, schema,
       parent_type_id, is_abstract, description, system, source)
     select "elementId", "displayName", "namespaceUri", "sourceTypeId", version, schema, "parentTypeId",
       coalesce("isAbstract", false), description, coalesce(source, '{}'), $2
     from jsonb_to_recordset($1::jsonb) as x("elementId" text, "displayName" text, "namespaceUri" text,
       "sourceTypeId" text, version text, schema jsonb, "parentTypeId" text, "isAbstract" boolean,
       description text, source jsonb)
     on conflict (element_id) do update set display_name = excluded.display_name,
       namespace_uri = excluded.namespace_uri, source_type_id = excluded.source_type_id,
       version = excluded.version, schema = excluded.schema, parent_type_id = excluded.parent_type_id,
       is_abstract = excluded.is_abstract, description = excluded.description, system = excluded.system,
       source = excluded.source, updated_at = now()`,
    [JSON.stringify(objectTypes), source],
  );

  await client.query(
    `insert into curated.model_relationship_types (element_id, display_name, namespace_uri, relationship_id,
       reverse_of, direction, is_symmetric, parent_type_id, is_abstract, description, system, source)
     select "elementId", "displayName", "namespaceUri", "relationshipId", "reverseOf", direction,
       coalesce("symmetric", false), "parentTypeId", coalesce("isAbstract", false), description,
       coalesce(source, '{}'), $2
     from jsonb_to_recordset($1::jsonb) as x("elementId" text, "displayName" text, "namespaceUri" text,
       "relationshipId" text, "reverseOf" text, direction text, "symmetric" boolean, "parentTypeId" text,
       "isAbstract" boolean, description text, source jsonb)
     on conflict (element_id) do update set display_name = excluded.display_name,
       namespace_uri = excluded.namespace_uri, relationship_id = excluded.relationship_id,
       reverse_of = excluded.reverse_of, direction = excluded.direction, is_symmetric = excluded.is_symmetric,
       parent_type_id = excluded.parent_type_id, is_abstract = excluded.is_abstract,
       description = excluded.description, system = excluded.system, source = excluded.source, updated_at = now()`,
    [JSON.stringify(relationshipTypes), source],
  );

  if (model.dataTypes.length > 0 || replace) {
    await client.query(
      `insert into curated.model_data_types (element_id, display_name, namespace_uri, source_type_id, parent_type_id,
         is_abstract, schema, system, source)
       select "elementId", "displayName", "namespaceUri", "sourceTypeId", "parentTypeId", coalesce("isAbstract", false),
         schema, coalesce(source, '{}'), $2
       from jsonb_to_recordset($1::jsonb) as x("elementId" text, "displayName" text, "namespaceUri" text,
         "sourceTypeId" text, "parentTypeId" text, "isAbstract" boolean, schema jsonb, source jsonb)
       on conflict (element_id) do update set display_name = excluded.display_name,
         namespace_uri = excluded.namespace_uri, source_type_id = excluded.source_type_id,
         parent_type_id = excluded.parent_type_id, is_abstract = excluded.is_abstract, schema = excluded.schema,
         system = excluded.system, source = excluded.source, updated_at = now()`,
      [JSON.stringify(model.dataTypes), source],
    );
  }

  const objectRows = objects.map((object) => ({
    element_id: object.elementId,
    display_name: object.displayName,
    type_element_id: object.typeElementId,
    namespace_uri: object.namespaceUri,
    parent_id: object.parentId ?? null,
    component_of_parent: object.componentOfParent ?? false,
    description: object.description ?? null,
    system: { ...object.source, ...object.system },
    series_id: object.value && 'series' in object.value ? object.value.series : null,
    product: object.value && 'product' in object.value ? object.value.product : null,
    row_key: object.value && 'product' in object.value ? object.value.key : null,
  }));
  await client.query(
    `insert into curated.model_objects (element_id, display_name, type_element_id, namespace_uri, parent_id,
       component_of_parent, description, system, value_source, series_id, product, row_key, source)
     select element_id, display_name, type_element_id, namespace_uri, parent_id, component_of_parent, description,
       system, case when series_id is not null then 'series' when product is not null then 'curated' else 'none' end,
       series_id, product, row_key, $2
     from jsonb_to_recordset($1::jsonb) as x(element_id text, display_name text, type_element_id text,
       namespace_uri text, parent_id text, component_of_parent boolean, description text, system jsonb,
       series_id integer, product text, row_key jsonb)
     on conflict (element_id) do update set display_name = excluded.display_name,
       type_element_id = excluded.type_element_id, namespace_uri = excluded.namespace_uri,
       parent_id = excluded.parent_id, component_of_parent = excluded.component_of_parent,
       description = excluded.description, system = excluded.system, value_source = excluded.value_source,
       series_id = excluded.series_id, product = excluded.product, row_key = excluded.row_key,
       source = excluded.source, updated_at = now()`,
    [JSON.stringify(objectRows), source],
  );

  // A parent that is not stored (a model this one builds on was not imported) is left out, not dangling.
  await client.query(
    `update curated.model_objects o set parent_id = null, component_of_parent = false
     where o.element_id = any($1::text[]) and o.parent_id is not null
       and not exists (select from curated.model_objects p where p.element_id = o.parent_id)`,
    [objects.filter((object) => object.parentId !== undefined).map((object) => object.elementId)],
  );

  // Every edge on both ends: the reverse row with the reverse type, where both objects are stored.
  const edges = objects.flatMap((object) =>
    object.relationships.map((edge) => ({
      subject_id: object.elementId,
      type_id: edge.type,
      object_id: edge.targetId,
    })),
  );
  const written = await client.query<{ count: string }>(
    `with given as (
       select subject_id, type_id, object_id from jsonb_to_recordset($1::jsonb)
         as x(subject_id text, type_id text, object_id text)
     ), both_ends as (
       select g.subject_id, g.type_id, g.object_id from given g
       union
       select g.object_id, t.reverse_of, g.subject_id from given g
         join curated.model_relationship_types t on t.element_id = g.type_id
     ), usable as (
       select b.* from both_ends b
       where exists (select from curated.model_relationship_types t where t.element_id = b.type_id)
         and exists (select from curated.model_objects o where o.element_id = b.subject_id)
         and exists (select from curated.model_objects o where o.element_id = b.object_id)
     ), inserted as (
       insert into curated.model_relationships (subject_id, type_id, object_id, source)
       select subject_id, type_id, object_id, $2 from usable
       on conflict (subject_id, type_id, object_id) do nothing
       returning 1
     )
     select (select count(*) from usable) as count`,
    [JSON.stringify(edges), source],
  );

  let removed = 0;
  if (replace) {
    const kept = (items: readonly { elementId: string }[]) => items.map((item) => item.elementId);
    const stale = await client.query(
      `with stale_relationships as (
         delete from curated.model_relationships r
         where r.source = $1 and (r.subject_id, r.object_id) not in (
           select subject_id, object_id from jsonb_to_recordset($5::jsonb) as x(subject_id text, object_id text)
           union all
           select object_id, subject_id from jsonb_to_recordset($5::jsonb) as x(subject_id text, object_id text)
         )
         returning 1
       ), stale_elements as (
         delete from curated.model_elements e
         where (e.kind = 'object' and e.element_id in (
                  select element_id from curated.model_objects where source = $1 and element_id not in (select unnest($2::text[]))))
            or (e.kind = 'object_type' and e.element_id in (
                  select element_id from curated.model_object_types where source = $1 and element_id not in (select unnest($3::text[]))))
            or (e.kind = 'relationship_type' and e.element_id in (
                  select element_id from curated.model_relationship_types
                  where source = $1 and element_id not in (select unnest($4::text[]))))
         returning 1
       )
       select (select count(*) from stale_relationships) + (select count(*) from stale_elements) as removed`,
      [source, kept(objects), kept(objectTypes), kept(relationshipTypes), JSON.stringify(edges)],
    );
    removed = Number((stale.rows[0] as { removed: string }).removed);
    await client.query(
      `delete from curated.model_data_types where source = $1 and element_id not in (select unnest($2::text[]))`,
      [source, model.dataTypes.map((type) => type.elementId)],
    );
    // Namespaces the source no longer has, once nothing stored is in them.
    await client.query(
      `delete from curated.model_namespaces n
       where n.source = $1 and n.uri not in (select unnest($2::text[]))
         and not exists (select from curated.model_object_types t where t.namespace_uri = n.uri)
         and not exists (select from curated.model_relationship_types t where t.namespace_uri = n.uri)
         and not exists (select from curated.model_objects o where o.namespace_uri = n.uri)
         and not exists (select from curated.model_data_types d where d.namespace_uri = n.uri)`,
      [source, model.namespaces.map((namespace) => namespace.uri)],
    );
  }

  await markComposition(client, replace ? undefined : objects.map((object) => object.elementId));
  return {
    namespaces: model.namespaces.length,
    objectTypes: objectTypes.length,
    relationshipTypes: relationshipTypes.length,
    objects: objects.length,
    relationships: Number((written.rows[0] as { count: string }).count),
    removed,
    skipped,
  };
}

/**
 * Derives what the stored edges say: which relationship types compose (HasComponent and its forward
 * subtypes) and which objects are compositions (have a composing edge). For the given objects and their
 * parents and neighbours, or for every object.
 */
export async function markComposition(client: pg.ClientBase, touched?: readonly string[]): Promise<void> {
  await client.query(
    `with recursive composing as (
       select element_id from curated.model_relationship_types where element_id = any($1::text[])
       union
       select t.element_id from curated.model_relationship_types t
       join composing c on t.parent_type_id = c.element_id
       where t.direction = 'forward'
     )
     update curated.model_relationship_types t set composes = (t.element_id in (select element_id from composing))
     where t.composes <> (t.element_id in (select element_id from composing))`,
    [COMPOSING_ROOTS],
  );
  const computed = `exists (
      select from curated.model_edges e join curated.model_relationship_types t on t.element_id = e.type_id
      where e.subject_id = o.element_id and t.composes)`;
  if (touched === undefined) {
    await client.query(`update curated.model_objects o set is_composition = ${computed}
      where o.is_composition <> ${computed}`);
    return;
  }
  await client.query(
    `with ids as (
       select unnest($1::text[]) as id
       union select parent_id from curated.model_objects where element_id = any($1::text[]) and parent_id is not null
       union select object_id from curated.model_relationships where subject_id = any($1::text[])
     )
     update curated.model_objects o set is_composition = ${computed}
     where o.element_id in (select id from ids) and o.is_composition <> ${computed}`,
    [touched],
  );
}
