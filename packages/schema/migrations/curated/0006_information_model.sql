-- curated: the information model the I3X API serves, the SDK navigates and the catalog lists
-- (docs/adr/0012-information-model-and-i3x-mapping.md): namespaces, object types (JSON Schemas),
-- relationship types (each with its reverse) and objects with their relationships. Loaders write it
-- (packages/information-model/src/store): the platform's own types, the ISA-95 equipment hierarchy and
-- sensor series from metrics.series, the curated data products' types from curated.definitions, and
-- imported OPC UA NodeSets. Each row names the loader `source` that wrote it, so that a loader replaces
-- exactly its own rows. Curated rows are objects too, but resolved on read from their tables, not copied.
set local role plantmesh_curated_owner;

-- Every ElementId once, whatever it names: objects, object types and relationship types share one space.
-- `plantmesh:curated:` is kept for the curated rows served from their tables.
create table curated.model_elements (
  element_id  text not null primary key,
  kind        text not null check (kind in ('object', 'object_type', 'relationship_type')),
  unique (element_id, kind),
  constraint model_element_id_printable check (
    element_id ~ '^[^[:space:]](.*[^[:space:]])?$'
    and element_id !~ '[[:cntrl:]]'
    and length(element_id) <= 1024
  ),
  constraint model_element_id_not_curated_row check (element_id not like 'plantmesh:curated:%:%')
);

create table curated.model_namespaces (
  uri              text        primary key check (uri ~ '^[^[:space:]]+$'),
  display_name     text        not null,
  version          text,
  publication_date text,
  -- [{uri, version?}]: the namespaces this one builds on (NodeSet RequiredModel).
  required_models  jsonb       not null default '[]' check (jsonb_typeof(required_models) = 'array'),
  source           text        not null,
  updated_at       timestamptz not null default now()
);

create table curated.model_object_types (
  element_id      text        primary key,
  kind            text        not null default 'object_type' check (kind = 'object_type'),
  display_name    text        not null,
  namespace_uri   text        not null references curated.model_namespaces (uri) deferrable initially deferred,
  -- The type's id in its source: an OPC UA NodeId without namespace, a data product's name, ...
  source_type_id  text        not null,
  version         text,
  -- JSON Schema 2020-12 of an instance's value; a subtype is allOf [{$ref: supertype}, own members].
  schema          jsonb       not null check (jsonb_typeof(schema) = 'object'),
  -- The supertype (I3X InheritsFrom).
  parent_type_id  text        references curated.model_object_types (element_id) deferrable initially deferred,
  is_abstract     boolean     not null default false,
  description     text,
  -- Where it came from (OPC UA nodeClass and browseName, a product's table, ...), served as metadata.
  system          jsonb       not null default '{}' check (jsonb_typeof(system) = 'object'),
  source          text        not null,
  updated_at      timestamptz not null default now(),
  foreign key (element_id, kind) references curated.model_elements (element_id, kind)
    on delete cascade deferrable initially deferred
);
create index model_object_types_namespace on curated.model_object_types (namespace_uri);

create table curated.model_relationship_types (
  element_id       text        primary key,
  kind             text        not null default 'relationship_type' check (kind = 'relationship_type'),
  display_name     text        not null,
  namespace_uri    text        not null references curated.model_namespaces (uri) deferrable initially deferred,
  relationship_id  text        not null,
  -- Every relationship type has its reverse registered; a symmetric one is its own.
  reverse_of       text        not null references curated.model_relationship_types (element_id)
                                 deferrable initially deferred,
  -- A composition (HasComponent or a subtype): an object's value is made of its targets' values, and
  -- value reads recurse along it up to maxDepth.
  composes         boolean     not null default false,
  -- `forward` as declared (an OPC UA ReferenceType), `inverse` the one named by its InverseName.
  direction        text        not null default 'forward' check (direction in ('forward', 'inverse')),
  is_symmetric     boolean     not null default false,
  parent_type_id   text        references curated.model_relationship_types (element_id) deferrable initially deferred,
  is_abstract      boolean     not null default false,
  description      text,
  system           jsonb       not null default '{}' check (jsonb_typeof(system) = 'object'),
  source           text        not null,
  updated_at       timestamptz not null default now(),
  foreign key (element_id, kind) references curated.model_elements (element_id, kind)
    on delete cascade deferrable initially deferred
);

create table curated.model_objects (
  element_id           text        primary key,
  kind                 text        not null default 'object' check (kind = 'object'),
  display_name         text        not null,
  type_element_id      text        not null references curated.model_object_types (element_id)
                                     deferrable initially deferred,
  -- The namespace of what defined the object (its loader's); I3X serves its type's namespace instead.
  namespace_uri        text        not null references curated.model_namespaces (uri) deferrable initially deferred,
  -- The parent in the hierarchy: HasParent / HasChildren are this column, never rows of their own.
  parent_id            text        references curated.model_objects (element_id) on delete set null
                                     deferrable initially deferred,
  -- The parent's value is composed of this object's: HasComponent / ComponentOf along parent_id.
  component_of_parent  boolean     not null default false,
  -- Has components (along parent_id or a composing relationship).
  is_composition       boolean     not null default false,
  description          text,
  system               jsonb       not null default '{}' check (jsonb_typeof(system) = 'object'),
  -- Where its value comes from: a metrics series (latest and samples), a curated product's row
  -- (by its key, a JSON array of the key columns' values), or none (value null, GoodNoData).
  value_source         text        not null default 'none' check (value_source in ('none', 'series', 'curated')),
  series_id            integer,
  product              text,
  row_key              jsonb,
  source               text        not null,
  updated_at           timestamptz not null default now(),
  check ((value_source = 'series') = (series_id is not null)),
  check ((value_source = 'curated') = (product is not null and jsonb_typeof(row_key) = 'array')),
  check (parent_id is distinct from element_id),
  foreign key (element_id, kind) references curated.model_elements (element_id, kind)
    on delete cascade deferrable initially deferred
);
create index model_objects_parent on curated.model_objects (parent_id, element_id);
create index model_objects_type on curated.model_objects (type_element_id, element_id);
create unique index model_objects_series on curated.model_objects (series_id) where series_id is not null;
create index model_objects_source on curated.model_objects (source);

-- Relationships between stored objects other than the hierarchy: both directions are rows (the far end's
-- with the reverse type), written together by the loader that knows them.
create table curated.model_relationships (
  subject_id  text not null references curated.model_objects (element_id) on delete cascade
                deferrable initially deferred,
  type_id     text not null references curated.model_relationship_types (element_id)
                deferrable initially deferred,
  object_id   text not null references curated.model_objects (element_id) on delete cascade
                deferrable initially deferred,
  source      text not null,
  primary key (subject_id, type_id, object_id)
);
create index model_relationships_object on curated.model_relationships (object_id);
create index model_relationships_source on curated.model_relationships (source);

-- Every edge between stored objects, both directions: the relationship rows and the hierarchy of
-- parent_id (HasParent / HasChildren, and HasComponent / ComponentOf where the child composes its parent).
create view curated.model_edges as
  select subject_id, type_id, object_id from curated.model_relationships
  union all
  select element_id, 'HasParent', parent_id from curated.model_objects where parent_id is not null
  union all
  select parent_id, 'HasChildren', element_id from curated.model_objects where parent_id is not null
  union all
  select element_id, 'ComponentOf', parent_id from curated.model_objects
  where component_of_parent and parent_id is not null
  union all
  select parent_id, 'HasComponent', element_id from curated.model_objects
  where component_of_parent and parent_id is not null;
comment on view curated.model_edges is
  'Every relationship between stored objects, in both directions (hierarchy from parent_id included)';

-- OPC UA DataTypes with the JSON Schema of their values: not I3X elements, kept so that a later NodeSet
-- import whose variables use them gets the right schemas.
create table curated.model_data_types (
  element_id      text        primary key,
  display_name    text        not null,
  namespace_uri   text        not null references curated.model_namespaces (uri) deferrable initially deferred,
  source_type_id  text        not null,
  parent_type_id  text,
  is_abstract     boolean     not null default false,
  schema          jsonb       not null check (jsonb_typeof(schema) = 'object'),
  system          jsonb       not null default '{}' check (jsonb_typeof(system) = 'object'),
  source          text        not null,
  updated_at      timestamptz not null default now()
);

-- How far a loader has come (e.g. the last metrics.series id made into objects).
create table curated.model_loader_state (
  loader      text        primary key,
  state       jsonb       not null default '{}',
  updated_at  timestamptz not null default now()
);

reset role;

-- The model's writers (the I3X API's equipment sync, `plantmesh import nodeset`) read what readers read
-- and change the model's tables, nothing else of the store.
select plantmesh.ensure_role('plantmesh_model_writer');
grant plantmesh_reader to plantmesh_model_writer;
grant usage on schema curated to plantmesh_model_writer;
grant select, insert, update, delete on curated.model_elements, curated.model_namespaces,
  curated.model_object_types, curated.model_relationship_types, curated.model_objects,
  curated.model_relationships, curated.model_data_types, curated.model_loader_state to plantmesh_model_writer;
grant select on curated.model_elements, curated.model_namespaces, curated.model_object_types,
  curated.model_relationship_types, curated.model_objects, curated.model_relationships, curated.model_edges,
  curated.model_data_types, curated.model_loader_state to plantmesh_reader;
