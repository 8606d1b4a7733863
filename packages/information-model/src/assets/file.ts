/**
 * The asset-model file (asset-model.schema.json, docs/asset-model.md): read, checked against its JSON Schema,
 * then checked for what a schema cannot say — ids declared once, references that resolve, no cycle in the
 * hierarchy or in type inheritance, topic filters that are MQTT filters, relationship types that do not
 * redefine the platform's. Every problem is `file:line:column: message` (a DefinitionError); nothing is
 * stored from a file with a problem.
 */
import { readFileSync, statSync } from 'node:fs';
import { checkedYaml, DefinitionError, type DefinitionProblem } from '@plantmesh/core';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { JsonSchema, Namespace } from '../model.js';
import { platformModel } from '../platform.js';
import { isTopicFilter } from './rules.js';

export type EquipmentLevel = 'enterprise' | 'site' | 'area' | 'line' | 'cell' | 'unit';
export type SeriesRef = string | { topic: string; name?: string; description?: string };
export type Endpoint = string | { series: string };

/** The file as written (see asset-model.schema.json for what each field means). */
export interface AssetModelFile {
  apiVersion: 'plantmesh.dev/v1';
  kind: 'AssetModel';
  namespace?: Namespace & { version?: string };
  objectTypes?: Array<{
    id: string;
    name?: string;
    description?: string;
    sourceTypeId?: string;
    version?: string;
    inheritsFrom?: string;
    schema: JsonSchema;
  }>;
  relationshipTypes?: Array<{ id: string; reverse?: string; symmetric?: boolean; description?: string }>;
  equipment: Array<{
    id: string;
    level?: EquipmentLevel;
    type?: string;
    name?: string;
    description?: string;
    path?: string;
    parent?: string;
    partOf?: string;
    series?: SeriesRef[];
  }>;
  relationships?: Array<{ type: string; from: Endpoint; to: Endpoint }>;
}

/** A parsed file, with a locator for the problems found later (references checked against the store). */
export interface ParsedAssetModel {
  file: string;
  model: AssetModelFile;
  at(path: Array<string | number>, message: string): DefinitionProblem;
}

/** The file's JSON Schema, shipped with the package so editors can check files against it. */
export const assetModelSchemaPath = new URL('../../asset-model.schema.json', import.meta.url);

/** The largest file read (a larger one is refused before it is parsed). */
export const DEFAULT_MAX_ASSET_FILE_BYTES = 16 * 1024 * 1024;

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
// Compiled on first use: the API and the sync load this module but never read a file.
let compiled: ValidateFunction<AssetModelFile> | undefined;
const validateFile = (): ValidateFunction<AssetModelFile> => {
  compiled ??= ajv.compile<AssetModelFile>(JSON.parse(readFileSync(assetModelSchemaPath, 'utf8')));
  return compiled;
};

/** The ISA-95 level types' names a file may use as a type (`type: Cell`). */
export const LEVEL_TYPE_NAMES = ['Enterprise', 'Site', 'Area', 'Line', 'Cell', 'WorkUnit'] as const;

/** Does this type reference name a stored type by its ElementId (rather than a file type or a level)? */
export function isElementIdRef(ref: string): boolean {
  return /[:;=]/.test(ref);
}

/** Reads a file (refusing one over maxBytes) and parses it. */
export function readAssetModel(file: string, maxBytes = DEFAULT_MAX_ASSET_FILE_BYTES): ParsedAssetModel {
  const size = statSync(file).size;
  if (size > maxBytes) {
    throw new DefinitionError([
      { file, line: 1, column: 1, message: `the file is ${size} bytes, more than the ${maxBytes} allowed` },
    ]);
  }
  return parseAssetModel(readFileSync(file, 'utf8'), file, maxBytes);
}

/** Parses and checks an asset-model text. Throws a DefinitionError listing every problem found. */
export function parseAssetModel(text: string, file: string, maxBytes = DEFAULT_MAX_ASSET_FILE_BYTES): ParsedAssetModel {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new DefinitionError([{ file, line: 1, column: 1, message: `the file is larger than ${maxBytes} bytes` }]);
  }
  let checked: ReturnType<typeof checkedYaml<AssetModelFile>>;
  try {
    checked = checkedYaml(text, file, validateFile());
  } catch (error) {
    if (error instanceof DefinitionError) throw error;
    // The YAML library refuses alias bombs and the like while building the value.
    throw new DefinitionError([{ file, line: 1, column: 1, message: `YAML: ${(error as Error).message}` }]);
  }
  const { value: model, at } = checked;
  const problems: DefinitionProblem[] = [];
  const fail = (path: Array<string | number>, message: string) => problems.push(at(path, message));

  const once = (list: Array<{ id: string }>, section: string) => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const before = seen.get(item.id);
      if (before !== undefined)
        fail([section, i, 'id'], `${section} id "${item.id}" is declared twice (first at ${section}[${before}])`);
      else seen.set(item.id, i);
    });
    return seen;
  };
  const equipment = once(model.equipment, 'equipment');
  const objectTypes = once(model.objectTypes ?? [], 'objectTypes');
  once(model.relationshipTypes ?? [], 'relationshipTypes');

  // Types: references resolve (ElementIds are checked against the store when stored), schemas compile, no cycle.
  const levelTypes = new Set<string>(LEVEL_TYPE_NAMES);
  const typeRefProblem = (ref: string) =>
    objectTypes.has(ref) || levelTypes.has(ref) || isElementIdRef(ref)
      ? undefined
      : `type "${ref}" is neither an object type of this file, nor an ISA-95 level type (${LEVEL_TYPE_NAMES.join(', ')}), nor an ElementId`;
  // A validator of its own for the file's schemas: one `$id` in two imports of a process is no clash.
  const schemas = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(schemas);
  (model.objectTypes ?? []).forEach((type, i) => {
    if (type.inheritsFrom !== undefined) {
      const problem = typeRefProblem(type.inheritsFrom);
      if (problem) fail(['objectTypes', i, 'inheritsFrom'], problem);
    }
    try {
      schemas.compile(type.schema);
    } catch (error) {
      fail(['objectTypes', i, 'schema'], `not a valid JSON Schema: ${(error as Error).message}`);
    }
  });
  for (const cycle of cycles(
    (model.objectTypes ?? []).map((type) => [type.id, type.inheritsFrom]),
    (id) => objectTypes.has(id),
  )) {
    fail(
      ['objectTypes', objectTypes.get(cycle[0] as string) as number, 'inheritsFrom'],
      `type inheritance goes round in a circle: ${cycle.join(' -> ')}`,
    );
  }

  // Equipment: its type, its parent, its series.
  const paths = new Map<string, number>();
  const topics = new Map<string, string>();
  model.equipment.forEach((item, i) => {
    if (item.type !== undefined) {
      const problem = typeRefProblem(item.type);
      if (problem) fail(['equipment', i, 'type'], problem);
    } else if (item.level === undefined) {
      fail(['equipment', i], `equipment "${item.id}" needs a level or a type`);
    }
    if (item.parent !== undefined && item.partOf !== undefined) {
      fail(
        ['equipment', i, 'partOf'],
        `equipment "${item.id}" has both a parent and partOf (partOf is its parent too)`,
      );
    }
    const parent = item.partOf ?? item.parent;
    const field = item.partOf === undefined ? 'parent' : 'partOf';
    if (parent !== undefined && !equipment.has(parent)) {
      fail(['equipment', i, field], `${field} "${parent}" is not an equipment id of this file`);
    }
    if (parent === item.id) fail(['equipment', i, field], `equipment "${item.id}" is its own ${field}`);
    if (item.path !== undefined) {
      const before = paths.get(item.path);
      if (before !== undefined) {
        fail(['equipment', i, 'path'], `path "${item.path}" is already equipment "${model.equipment[before]?.id}"`);
      } else {
        paths.set(item.path, i);
      }
    }
    (item.series ?? []).forEach((ref, j) => {
      const topic = typeof ref === 'string' ? ref : ref.topic;
      const where = typeof ref === 'string' ? ['equipment', i, 'series', j] : ['equipment', i, 'series', j, 'topic'];
      if (!isTopicFilter(topic)) {
        fail(where, `"${topic}" is not a topic path or MQTT filter ('+' a whole level, '#' only the last)`);
        return;
      }
      if (typeof ref !== 'string' && ref.name !== undefined && /[+#]/.test(topic)) {
        fail(where, `a name is for one series: "${topic}" is a filter`);
      }
      const claimed = topics.get(topic);
      if (claimed !== undefined) fail(where, `series "${topic}" already belongs to equipment "${claimed}"`);
      else topics.set(topic, item.id);
    });
  });
  for (const cycle of cycles(
    model.equipment.map((item) => [item.id, item.partOf ?? item.parent]),
    (id) => equipment.has(id),
  )) {
    const index = equipment.get(cycle[0] as string) as number;
    const item = model.equipment[index];
    fail(
      ['equipment', index, item?.partOf === undefined ? 'parent' : 'partOf'],
      `the hierarchy goes round in a circle: ${cycle.join(' -> ')}`,
    );
  }

  // Relationship types: each id and reverse once, not the platform's.
  const reserved = new Set(platformModel().relationshipTypes.map((type) => type.elementId));
  const reverses = new Map<string, string>();
  (model.relationshipTypes ?? []).forEach((type, i) => {
    if (reserved.has(type.id))
      fail(['relationshipTypes', i, 'id'], `"${type.id}" is a relationship type of the platform`);
    if (type.symmetric === true && type.reverse !== undefined && type.reverse !== type.id) {
      fail(['relationshipTypes', i, 'reverse'], `a symmetric relationship type is its own reverse`);
    }
    if (type.symmetric !== true && type.reverse === undefined) {
      fail(['relationshipTypes', i], `relationship type "${type.id}" needs a reverse (or symmetric: true)`);
    }
    const reverse = type.symmetric === true ? type.id : (type.reverse ?? type.id);
    if (reserved.has(reverse))
      fail(['relationshipTypes', i, 'reverse'], `"${reverse}" is a relationship type of the platform`);
    for (const [name, other] of [
      [type.id, reverse],
      [reverse, type.id],
    ] as const) {
      const known = reverses.get(name);
      if (known !== undefined && known !== other) {
        fail(['relationshipTypes', i], `"${name}" is already declared with the reverse "${known}"`);
      }
      reverses.set(name, other);
    }
  });

  // Relationships: declared types (or stored ones by ElementId), known equipment, one end equipment.
  (model.relationships ?? []).forEach((edge, i) => {
    if (!reverses.has(edge.type) && !isElementIdRef(edge.type)) {
      fail(['relationships', i, 'type'], `relationship type "${edge.type}" is not declared in relationshipTypes`);
    }
    for (const end of ['from', 'to'] as const) {
      const endpoint = edge[end];
      if (typeof endpoint === 'string') {
        if (!equipment.has(endpoint))
          fail(['relationships', i, end], `"${endpoint}" is not an equipment id of this file`);
      } else if (!isTopicFilter(endpoint.series)) {
        fail(['relationships', i, end, 'series'], `"${endpoint.series}" is not a topic path or MQTT filter`);
      }
    }
    if (typeof edge.from !== 'string' && typeof edge.to !== 'string') {
      fail(['relationships', i], 'a relationship needs equipment at one end at least (both ends are series here)');
    }
  });

  if (problems.length > 0) throw new DefinitionError(problems);
  return { file, model, at };
}

/** The cycles of a graph of single parent links (each reported once, from its first member in the input). */
function cycles(links: Array<[string, string | undefined]>, known: (id: string) => boolean): string[][] {
  const parent = new Map(links.filter(([, to]) => to !== undefined && known(to)) as Array<[string, string]>);
  const done = new Set<string>();
  const found: string[][] = [];
  for (const [start] of links) {
    const trail: string[] = [];
    const onTrail = new Map<string, number>();
    let current: string | undefined = start;
    while (current !== undefined && !done.has(current) && !onTrail.has(current)) {
      onTrail.set(current, trail.length);
      trail.push(current);
      current = parent.get(current);
    }
    if (current !== undefined && onTrail.has(current)) {
      const loop = trail.slice(onTrail.get(current));
      found.push([...loop, current]);
    }
    for (const id of trail) done.add(id);
  }
  return found;
}
