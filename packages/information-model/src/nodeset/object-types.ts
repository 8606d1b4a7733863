/**
 * ObjectTypes (and VariableTypes) -> I3X ObjectTypes with a JSON Schema of an instance's value.
 *
 * - Members are the type's HasComponent / HasProperty (any Aggregates) targets with a ModellingRule:
 *   Mandatory -> in `required`, Optional -> a property that may be absent. Placeholders (`<Name>`), members
 *   without a rule (not instantiated) and Methods are not part of the value.
 * - A Variable member's schema comes from its DataType and ValueRank; an Object member is a `$ref` to its
 *   type definition, `allOf` with its own extra members when the declaration adds some.
 * - HasSubtype: `allOf` [`$ref` to the supertype, own members] and `parentTypeId` (I3X InheritsFrom).
 * - A VariableType is a leaf type: the schema of its value.
 */
import { typeRef } from '../json-schema.js';
import type { JsonSchema, ObjectType } from '../model.js';
import type { AddressSpace, UaNode } from './address-space.js';
import type { DataTypeSchemas } from './data-types.js';
import { MODELLING_RULE, REF } from './well-known.js';

/** Object members nest (a component with components); deeper declarations are cut here. */
const MAX_MEMBER_DEPTH = 16;

export class ObjectTypeMapper {
  constructor(
    private readonly space: AddressSpace,
    private readonly dataTypes: DataTypeSchemas,
    private readonly versionOf: (namespaceUri: string) => string | undefined,
  ) {}

  /** Is the ElementId an ObjectType (or VariableType) of this file or of a known model? */
  isType(elementId: string): boolean {
    const node = this.space.nodes.get(elementId);
    if (node) return node.nodeClass === 'ObjectType' || node.nodeClass === 'VariableType';
    return this.space.known.objectTypes.has(elementId);
  }

  objectTypes(): ObjectType[] {
    const result: ObjectType[] = [];
    for (const node of this.space.nodes.values()) {
      if (node.nodeClass === 'ObjectType' || node.nodeClass === 'VariableType') result.push(this.map(node));
    }
    return result;
  }

  private map(node: UaNode): ObjectType {
    const supertype = this.space.supertypeOf(node.elementId);
    let parentTypeId: string | undefined;
    if (supertype !== undefined && this.isType(supertype)) parentTypeId = supertype;
    else if (supertype !== undefined) {
      this.space.warn(
        'unresolved-supertype',
        `supertype ${supertype} of ${node.browseName} is not known`,
        node.elementId,
      );
    }
    const own =
      node.nodeClass === 'VariableType'
        ? this.dataTypes.valueSchema(node.dataType, node.valueRank)
        : this.membersSchema(node, 0, new Set([node.elementId]));
    const schema: JsonSchema =
      parentTypeId === undefined
        ? own
        : {
            // The value's JSON type at the top, so a client can tell leaf from branch without resolving refs.
            ...(typeof own.type === 'string' ? { type: own.type } : {}),
            allOf: [{ $ref: typeRef(parentTypeId) }, own],
          };
    if (node.description !== undefined) schema.description = node.description;
    const version = this.versionOf(node.nodeId.namespaceUri);
    return {
      elementId: node.elementId,
      displayName: node.displayName,
      namespaceUri: node.nodeId.namespaceUri,
      sourceTypeId: node.nodeId.identifier,
      ...(version === undefined ? {} : { version }),
      schema,
      ...(parentTypeId === undefined ? {} : { parentTypeId }),
      isAbstract: node.isAbstract,
      ...(node.description === undefined ? {} : { description: node.description }),
      source: {
        nodeClass: node.nodeClass === 'VariableType' ? 'VariableType' : 'ObjectType',
        browseName: node.browseName,
      },
    };
  }

  /** `{type: object, properties, required}` of the instance-declaration members below a node. */
  private membersSchema(owner: UaNode, depth: number, path: Set<string>): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const edge of this.space.outgoing(owner.elementId, REF.aggregates)) {
      const member = this.space.nodes.get(edge.target);
      if (!member || (member.nodeClass !== 'Variable' && member.nodeClass !== 'Object')) continue;
      const rule = this.space.modellingRuleOf(member.elementId);
      if (rule !== MODELLING_RULE.mandatory && rule !== MODELLING_RULE.optional) continue;
      if (Object.hasOwn(properties, member.browseName)) {
        this.space.warn(
          'duplicate-member',
          `${owner.browseName} has two members named ${member.browseName}; the second is left out`,
          member.elementId,
        );
        continue;
      }
      properties[member.browseName] =
        member.nodeClass === 'Variable'
          ? this.variableSchema(member)
          : this.objectMemberSchema(member, depth + 1, path);
      if (rule === MODELLING_RULE.mandatory) required.push(member.browseName);
    }
    return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
  }

  private variableSchema(variable: UaNode): JsonSchema {
    const schema = this.dataTypes.valueSchema(variable.dataType, variable.valueRank);
    return withDescription(schema, variable.description);
  }

  private objectMemberSchema(member: UaNode, depth: number, path: Set<string>): JsonSchema {
    const typeDefinition = this.space.typeDefinitionOf(member.elementId);
    let base: JsonSchema = { type: 'object' };
    if (typeDefinition !== undefined && this.isType(typeDefinition)) base = { $ref: typeRef(typeDefinition) };
    else {
      this.space.warn(
        'unresolved-type-definition',
        `member ${member.browseName} has ${typeDefinition === undefined ? 'no type definition' : `an unknown type definition ${typeDefinition}`}`,
        member.elementId,
      );
    }
    if (path.has(member.elementId)) return withDescription(base, member.description); // a cycle in a hostile file
    if (depth > MAX_MEMBER_DEPTH) {
      this.space.warn('schema-too-deep', `members below ${member.browseName} nest too deeply`, member.elementId);
      return withDescription(base, member.description);
    }
    path.add(member.elementId);
    const own = this.membersSchema(member, depth, path);
    path.delete(member.elementId);
    const hasOwnMembers = Object.keys(own.properties as object).length > 0;
    const schema = hasOwnMembers ? { type: 'object', allOf: [base, own] } : base;
    return withDescription(schema, member.description);
  }
}

function withDescription(schema: JsonSchema, description: string | undefined): JsonSchema {
  return description === undefined ? schema : { ...schema, description };
}
