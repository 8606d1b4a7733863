/**
 * OPC UA DataTypes -> JSON Schema of their values. Built-in types map by id; a subtype without a
 * Definition (UtcTime, Duration, an OptionSet) takes its supertype's schema; an Enumeration becomes an
 * integer with one labelled `const` per value; a Structure becomes an object of its fields.
 */
import type { DataType, JsonSchema } from '../model.js';
import type { AddressSpace, UaNode } from './address-space.js';
import { DATA_TYPE, ua } from './well-known.js';

const UINT32_MAX = 4_294_967_295;

/** Part 6 built-in types (and the abstract numeric ones), by their base-namespace id. */
const BUILTIN_BY_ID: Array<[number, JsonSchema]> = [
  [1, { type: 'boolean' }],
  [2, { type: 'integer', minimum: -128, maximum: 127 }],
  [3, { type: 'integer', minimum: 0, maximum: 255 }],
  [4, { type: 'integer', minimum: -32_768, maximum: 32_767 }],
  [5, { type: 'integer', minimum: 0, maximum: 65_535 }],
  [6, { type: 'integer', minimum: -2_147_483_648, maximum: 2_147_483_647 }],
  [7, { type: 'integer', minimum: 0, maximum: UINT32_MAX }],
  // 64-bit integers stay JSON integers: a reader that needs all 64 bits must not parse them as doubles.
  [8, { type: 'integer' }],
  [9, { type: 'integer', minimum: 0 }],
  [10, { type: 'number' }],
  [11, { type: 'number' }],
  [12, { type: 'string' }],
  [13, { type: 'string', format: 'date-time' }],
  [14, { type: 'string', format: 'uuid' }],
  [15, { type: 'string', contentEncoding: 'base64' }],
  [16, { type: 'string' }],
  [17, { type: 'string' }],
  [18, { type: 'string' }],
  [19, { type: 'integer', minimum: 0, maximum: UINT32_MAX }],
  // Names and texts are read as their text: namespace index and locale are not part of the value.
  [20, { type: 'string' }],
  [21, { type: 'string' }],
  [22, { type: 'object' }],
  [23, { type: 'object' }],
  [24, {}],
  [25, { type: 'object' }],
  [26, { type: 'number' }],
  [27, { type: 'integer' }],
  [28, { type: 'integer', minimum: 0 }],
  [29, { type: 'integer' }],
];

const BUILTIN: ReadonlyMap<string, JsonSchema> = new Map(BUILTIN_BY_ID.map(([id, schema]) => [ua(id), schema]));

/** Structures nest; past this depth a field is an opaque object (hostile or cyclic definitions). */
const MAX_STRUCTURE_DEPTH = 16;

/** Computes (and remembers) the value schema of every DataType the file or a known model defines. */
export class DataTypeSchemas {
  private readonly memo = new Map<string, JsonSchema>();
  private readonly warned = new Set<string>();

  constructor(private readonly space: AddressSpace) {}

  /** The value schema of a Variable or field: its DataType's schema, as an array for array ValueRanks. */
  valueSchema(dataTypeId: string | undefined, valueRank: number, depth = 0): JsonSchema {
    const scalar = dataTypeId === undefined ? {} : this.schemaOf(dataTypeId, depth);
    if (valueRank === -1) return scalar; // Scalar
    if (valueRank === -3) return { anyOf: [scalar, { type: 'array', items: scalar }] }; // ScalarOrOneDimension
    if (valueRank === -2) return Object.keys(scalar).length === 0 ? {} : { anyOf: [scalar, { type: 'array' }] }; // Any
    if (valueRank === 0) return { type: 'array' }; // OneOrMoreDimensions: nesting unknown
    let schema = scalar;
    for (let dimension = 0; dimension < Math.min(valueRank, 8); dimension++) schema = { type: 'array', items: schema };
    return schema;
  }

  /** The schema of one DataType's values (a fresh copy the caller may change). */
  schemaOf(dataTypeId: string, depth = 0): JsonSchema {
    return structuredClone(this.shared(dataTypeId, depth));
  }

  /** The DataTypes this file defines, as model entries. */
  dataTypes(): DataType[] {
    const result: DataType[] = [];
    for (const node of this.space.nodes.values()) {
      if (node.nodeClass !== 'DataType') continue;
      const parentTypeId = this.space.supertypeOf(node.elementId);
      result.push({
        elementId: node.elementId,
        displayName: node.displayName,
        namespaceUri: node.nodeId.namespaceUri,
        sourceTypeId: node.nodeId.identifier,
        ...(parentTypeId === undefined ? {} : { parentTypeId }),
        isAbstract: node.isAbstract,
        schema: this.schemaOf(node.elementId),
        source: { nodeClass: 'DataType', browseName: node.browseName },
      });
    }
    return result;
  }

  private shared(dataTypeId: string, depth: number): JsonSchema {
    const direct = this.direct(dataTypeId);
    if (direct) return direct;
    // Walk up to the first type whose schema is known, then fill the chain back down. A loop, not
    // recursion: a hostile file may chain thousands of subtypes.
    const chain: string[] = [];
    const inChain = new Set<string>();
    let current: string | undefined = dataTypeId;
    let base: JsonSchema = {};
    while (current !== undefined) {
      const known = this.direct(current);
      if (known) {
        base = known;
        break;
      }
      if (inChain.has(current)) break;
      inChain.add(current);
      chain.push(current);
      const node = this.space.nodes.get(current);
      if (node?.definition && node.definition.fields.length > 0 && !node.definition.isOptionSet) {
        // Own Definition: its schema does not depend on the supertype's, only on the kind of type.
        base = this.fromDefinition(node, depth);
        this.memo.set(current, base);
        chain.pop();
        break;
      }
      if (!node) {
        this.warnOnce(current, `data type ${current} is not defined in this NodeSet or a known model`);
        break;
      }
      current = this.space.supertypeOf(current);
      if (current === undefined) this.warnOnce(node.elementId, `data type ${node.elementId} has no supertype`);
    }
    for (const id of chain) this.memo.set(id, base);
    return this.memo.get(dataTypeId) ?? base;
  }

  /** A schema that needs no walk: built-in, already computed, or from a known model. */
  private direct(dataTypeId: string): JsonSchema | undefined {
    return BUILTIN.get(dataTypeId) ?? this.memo.get(dataTypeId) ?? this.space.known.dataTypes.get(dataTypeId)?.schema;
  }

  private fromDefinition(node: UaNode, depth: number): JsonSchema {
    const definition = node.definition!;
    if (this.space.isSubtypeOf(node.elementId, DATA_TYPE.enumeration)) {
      return {
        type: 'integer',
        oneOf: definition.fields.map((field, index) => ({
          const: field.value ?? index,
          title: field.name,
          ...(field.description === undefined ? {} : { description: field.description }),
        })),
      };
    }
    if (depth >= MAX_STRUCTURE_DEPTH) {
      this.space.warn(
        'schema-too-deep',
        `structure ${node.elementId} nests too deeply; kept as an object`,
        node.elementId,
      );
      return { type: 'object' };
    }
    // Guard against a structure that contains itself: the inner occurrence is an opaque object.
    this.memo.set(node.elementId, { type: 'object' });
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const field of definition.fields) {
      const schema = this.valueSchema(field.dataType, field.valueRank, depth + 1);
      properties[field.name] = field.description === undefined ? schema : { ...schema, description: field.description };
      if (!field.isOptional && !definition.isUnion) required.push(field.name);
    }
    this.memo.delete(node.elementId);
    // A union carries exactly one of its fields.
    if (definition.isUnion) return { type: 'object', properties, maxProperties: 1 };
    return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
  }

  private warnOnce(id: string, message: string): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.space.warn('unresolved-data-type', message, id);
  }
}
