/** The imported model, as stored and as served, against the I3X 1.0 OpenAPI component schemas. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  mergeModels,
  type ObjectType,
  toI3xNamespace,
  toI3xObject,
  toI3xObjectType,
  toI3xRelationshipType,
} from '../src/index.js';
import { base, di, ia, id, MACHINERY, machinery, UA } from './nodesets.js';

// The published I3X 1.0 OpenAPI document, kept in the repository (standards/).
const openApiPath = fileURLToPath(new URL('../../../standards/i3x/i3x-v1-openapi.json', import.meta.url));

describe('I3X OpenAPI schemas', () => {
  const openApi = () => JSON.parse(readFileSync(openApiPath, 'utf8')) as { components: object };
  const ajv = () => {
    const instance = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(instance);
    instance.addSchema({ $id: 'https://plantmesh.dev/test/i3x-openapi.json', components: openApi().components });
    return instance;
  };
  const validator = (instance: Ajv2020, name: string) =>
    instance.compile({ $ref: `https://plantmesh.dev/test/i3x-openapi.json#/components/schemas/${name}` });

  const merged = () => mergeModels([base().model, di().model, ia().model, machinery().model]);

  function expectAllValid(validate: ReturnType<typeof validator>, items: unknown[]): void {
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(validate(item), JSON.stringify(validate.errors)).toBe(true);
  }

  it('defines the schemas the model follows', () => {
    const schemas = (openApi().components as { schemas: Record<string, unknown> }).schemas;
    for (const name of ['Namespace', 'ObjectTypeResponse', 'RelationshipType', 'ObjectInstanceResponse']) {
      expect(schemas).toHaveProperty(name);
    }
  });

  it('accepts every namespace, object type and relationship type, as stored and as served', () => {
    const instance = ajv();
    const model = merged();
    expectAllValid(validator(instance, 'Namespace'), [...model.namespaces, ...model.namespaces.map(toI3xNamespace)]);
    expectAllValid(validator(instance, 'ObjectTypeResponse'), [
      ...model.objectTypes,
      ...model.objectTypes.map(toI3xObjectType),
    ]);
    expectAllValid(validator(instance, 'RelationshipType'), [
      ...model.relationshipTypes,
      ...model.relationshipTypes.map(toI3xRelationshipType),
    ]);
  });

  it('accepts every object, with and without metadata', () => {
    const instance = ajv();
    const model = merged();
    const types = new Map<string, ObjectType>(model.objectTypes.map((type) => [type.elementId, type]));
    const typeOf = (elementId: string) => types.get(elementId);
    expectAllValid(validator(instance, 'ObjectInstanceResponse'), [
      ...model.objects,
      ...model.objects.map((object) => toI3xObject(object)),
      ...model.objects.map((object) => toI3xObject(object, { includeMetadata: true, typeOf })),
    ]);
  });

  it('serves an object as the guide shows it: parentId, metadata with relationships by type', () => {
    const model = merged();
    const machines = model.objects.find((object) => object.elementId === id(MACHINERY, 1001))!;
    const types = new Map(model.objectTypes.map((type) => [type.elementId, type]));
    expect(toI3xObject(machines, { includeMetadata: true, typeOf: (elementId) => types.get(elementId) })).toEqual({
      elementId: id(MACHINERY, 1001),
      displayName: 'Machines',
      typeElementId: id(UA, 61),
      parentId: id(UA, 85),
      isComposition: false,
      isExtended: false,
      metadata: {
        typeNamespaceUri: UA,
        sourceTypeId: 'i=61',
        description: expect.stringContaining('entry point to machines'),
        relationships: { [`inverse:${id(UA, 35)}`]: [id(UA, 85)] },
        system: { nodeClass: 'Object', browseName: 'Machines' },
      },
    });
    const root = model.objects.find((object) => object.elementId === id(UA, 84))!;
    expect(toI3xObject(root).parentId).toBeNull(); // the base Root folder
    const subtype = model.objectTypes.find((type) => type.elementId === id(MACHINERY, 1012))!;
    expect(toI3xObjectType(subtype).related).toEqual({
      relationshipType: 'InheritsFrom',
      types: [id(MACHINERY, 1004)],
    });
  });
});
