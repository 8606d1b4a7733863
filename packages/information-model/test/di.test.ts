/** Facts of the OPC UA DI companion specification (Opc.Ua.Di.NodeSet2.xml), checked against the XML. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { inlineInheritance, type JsonSchema, type ObjectType, typeRef, typeSchemaBundle } from '../src/index.js';
import { base, DI, di, id, UA } from './nodesets.js';

const typeNamed = (name: string): ObjectType => {
  const type = di().model.objectTypes.find((candidate) => candidate.source.browseName === name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
};

/** The type's own branch of `allOf` (the one that is not the supertype reference). */
const own = (type: ObjectType): JsonSchema => {
  const branches = type.schema.allOf as JsonSchema[];
  return branches[1]!;
};

describe('DI NodeSet on top of the OPC UA base NodeSet', () => {
  it('imports without warnings when its RequiredModel is known', () => {
    expect(di().warnings).toEqual([]);
    expect(di().model.namespaces).toEqual([
      {
        uri: DI,
        displayName: 'DI',
        version: '1.5.0',
        publicationDate: '2025-11-15T00:00:00Z',
        requiredModels: [{ uri: UA, version: '1.5.4' }],
      },
    ]);
  });

  it('maps DeviceType with its mandatory and optional members', () => {
    const deviceType = typeNamed('DeviceType');
    expect(deviceType).toMatchObject({
      elementId: id(DI, 1002),
      displayName: 'DeviceType',
      namespaceUri: DI,
      sourceTypeId: 'i=1002',
      isAbstract: true,
      version: '1.5.0',
    });
    const members = own(deviceType);
    // Mandatory (ModellingRule i=78) in the XML:
    expect((members.required as string[]).sort()).toEqual(
      [
        'Manufacturer',
        'Model',
        'HardwareRevision',
        'SoftwareRevision',
        'DeviceRevision',
        'DeviceManual',
        'SerialNumber',
        'RevisionCounter',
      ].sort(),
    );
    // Optional (i=80): present as properties, not required.
    const properties = members.properties as Record<string, JsonSchema>;
    for (const name of [
      'ManufacturerUri',
      'ProductCode',
      'DeviceClass',
      'ProductInstanceUri',
      'DeviceHealth',
      'ImageSet',
    ]) {
      expect(properties).toHaveProperty(name);
    }
    // The OptionalPlaceholder <CPIdentifier> is not a property.
    expect(Object.keys(properties).some((name) => name.includes('<'))).toBe(false);
  });

  it('maps member DataTypes to JSON Schema types', () => {
    const properties = own(typeNamed('DeviceType')).properties as Record<string, JsonSchema>;
    expect(properties.Manufacturer).toEqual({ type: 'string' }); // LocalizedText
    expect(properties.SerialNumber).toEqual({ type: 'string' }); // String
    expect(properties.RevisionCounter).toMatchObject({ type: 'integer', maximum: 2_147_483_647 }); // Int32
    // DeviceHealthEnumeration (ns=1;i=6244): NORMAL=0 ... MAINTENANCE_REQUIRED=4
    expect(properties.DeviceHealth).toMatchObject({ type: 'integer' });
    expect((properties.DeviceHealth!.oneOf as JsonSchema[]).map((value) => [value.const, value.title])).toEqual([
      [0, 'NORMAL'],
      [1, 'FAILURE'],
      [2, 'CHECK_FUNCTION'],
      [3, 'OFF_SPEC'],
      [4, 'MAINTENANCE_REQUIRED'],
    ]);
    // An Object member refers to its type definition: ImageSet is a FolderType (i=61).
    expect(properties.ImageSet).toEqual({ $ref: typeRef(id(UA, 61)) });
  });

  it('expresses TopologyElementType -> ComponentType -> DeviceType as allOf and InheritsFrom', () => {
    const topology = typeNamed('TopologyElementType');
    const component = typeNamed('ComponentType');
    const device = typeNamed('DeviceType');
    expect(device.parentTypeId).toBe(component.elementId);
    expect(component.parentTypeId).toBe(topology.elementId);
    expect(topology.parentTypeId).toBe(id(UA, 58)); // BaseObjectType
    expect((device.schema.allOf as JsonSchema[])[0]).toEqual({ $ref: typeRef(component.elementId) });
    expect((component.schema.allOf as JsonSchema[])[0]).toEqual({ $ref: typeRef(topology.elementId) });
    expect(device.schema.type).toBe('object');
    // TopologyElementType's optional members (ParameterSet, MethodSet, Identification, Lock) reach DeviceType.
    expect(Object.keys(own(topology).properties as object).sort()).toEqual(
      ['Identification', 'Lock', 'MethodSet', 'ParameterSet'].sort(),
    );
    expect(own(topology).required).toBeUndefined();
  });

  const deviceValue = {
    Manufacturer: 'ACME',
    Model: 'Pump 3000',
    HardwareRevision: '1',
    SoftwareRevision: '2.1',
    DeviceRevision: 'A',
    DeviceManual: 'https://example.com/manual.pdf',
    SerialNumber: 'SN-1',
    RevisionCounter: 3,
  };

  /** Validates DeviceType values with a bundle of all base and DI type schemas. */
  function expectDeviceTypeValidation(types: ObjectType[]): void {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(typeSchemaBundle(types), 'https://plantmesh.dev/test/types.json');
    const validate = ajv.compile({ $ref: `https://plantmesh.dev/test/types.json${typeRef(id(DI, 1002))}` });
    expect(validate(deviceValue), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...deviceValue, DeviceHealth: 1 })).toBe(true);
    expect(validate({ ...deviceValue, DeviceHealth: 9 })).toBe(false);
    const { SerialNumber: _, ...withoutSerial } = deviceValue;
    expect(validate(withoutSerial)).toBe(false);
    expect(validate({ ...deviceValue, RevisionCounter: 'three' })).toBe(false);
    expect(validate({ ...deviceValue, AssetId: 7 })).toBe(false); // ComponentType's AssetId is a String
  }

  it('gives schemas that a JSON Schema 2020-12 validator resolves across models', () => {
    expectDeviceTypeValidation([...base().model.objectTypes, ...di().model.objectTypes]);
  });

  it('inlines the supertypes of a type into one schema, as an I3X server serves it', () => {
    const types = new Map(
      [...base().model.objectTypes, ...di().model.objectTypes].map((type) => [type.elementId, type]),
    );
    const typeOf = (elementId: string) => types.get(elementId);
    const inlined = inlineInheritance(typeNamed('DeviceType'), typeOf);
    expect(inlined.allOf).toBeUndefined();
    expect(inlined.type).toBe('object');
    const properties = inlined.properties as Record<string, JsonSchema>;
    expect(properties).toHaveProperty('ParameterSet'); // from TopologyElementType
    expect(properties).toHaveProperty('AssetId'); // from ComponentType
    expect(properties).toHaveProperty('DeviceHealth'); // DeviceType's own
    // Optional in ComponentType, Mandatory in DeviceType: required.
    expect(inlined.required).toContain('Manufacturer');
    expect(inlined.required).not.toContain('AssetId');
    // The inlined schemas accept and refuse the same values.
    expectDeviceTypeValidation(
      [...types.values()].map((type) => ({ ...type, schema: inlineInheritance(type, typeOf) })),
    );
  });

  it('maps DI reference types with their inverse names, symmetric ones being their own reverse', () => {
    const types = new Map(di().model.relationshipTypes.map((type) => [type.elementId, type]));
    const pairs = [...types.values()]
      .filter((type) => type.direction === 'forward')
      .map((type) => [type.displayName, types.get(type.reverseOf)?.displayName]);
    expect(pairs.sort()).toEqual(
      [
        ['CanUpdate', 'CanBeUpdatedBy'],
        ['ConnectsTo', 'ConnectsTo'],
        ['ConnectsToParent', 'ConnectsToParent'],
        ['IsOnline', 'OnlineOf'],
        ['UpdateParent', 'UpdateChild'],
      ].sort(),
    );
    // Every relationship type's reverse is registered, and names it back.
    for (const type of types.values()) expect(types.get(type.reverseOf)?.reverseOf).toBe(type.elementId);
    expect(types.get(id(DI, 6031))).toMatchObject({
      displayName: 'IsOnline',
      relationshipId: 'i=6031',
      parentTypeId: id(UA, 44), // Aggregates
      symmetric: false,
    });
    expect(types.get(id(DI, 6467))?.parentTypeId).toBe(id(DI, 6030)); // ConnectsToParent is a ConnectsTo
  });

  it('maps the DI entry-point objects, not the instance declarations of its types', () => {
    const objects = new Map(di().model.objects.map((object) => [object.elementId, object]));
    expect(objects.get(id(DI, 5001))).toMatchObject({
      displayName: 'DeviceSet',
      typeElementId: id(UA, 58),
      parentId: id(UA, 85), // Objects folder, from the base model
      isComposition: false,
      relationships: [
        { type: `inverse:${id(UA, 35)}`, targetId: id(UA, 85) },
        { type: id(UA, 35), targetId: id(DI, 15034) },
      ],
    });
    // DeviceFeatures is organized by DeviceSet, and DeviceSet has the edge back.
    expect(objects.get(id(DI, 15034))).toMatchObject({ displayName: 'DeviceFeatures', parentId: id(DI, 5001) });
    expect(objects.has(id(DI, 6078))).toBe(true); // NetworkSet
    expect(objects.has(id(DI, 6094))).toBe(true); // DeviceTopology
    expect(objects.has(id(DI, 5002))).toBe(false); // ParameterSet of TopologyElementType: a declaration
    expect(objects.has(id(DI, 73))).toBe(false); // Configuration: DesignToolOnly
  });
});
