/** Facts of OPC UA for Machinery (Opc.Ua.Machinery.NodeSet2.xml), built on DI and IA, checked against the XML. */
import { describe, expect, it } from 'vitest';
import { type JsonSchema, mergeModels, type ObjectType, typeRef } from '../src/index.js';
import { base, DI, di, IA, ia, id, MACHINERY, machinery, UA } from './nodesets.js';

const typeNamed = (name: string): ObjectType => {
  const type = machinery().model.objectTypes.find((candidate) => candidate.source.browseName === name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
};
const own = (type: ObjectType) => (type.schema.allOf as JsonSchema[])[1]!;

describe('Machinery NodeSet on top of the base, DI and IA NodeSets', () => {
  it('imports without warnings, with its three RequiredModels', () => {
    expect(machinery().warnings).toEqual([]);
    expect(machinery().model.namespaces).toEqual([
      {
        uri: MACHINERY,
        displayName: 'Machinery',
        version: '1.4.1',
        publicationDate: '2026-01-01T00:00:00Z',
        // No ModelVersion in the RequiredModels: their Version without leading zeros.
        requiredModels: [
          { uri: UA, version: '1.5.2' },
          { uri: DI, version: '1.4.0' },
          { uri: IA, version: '1.1.2' },
        ],
      },
    ]);
  });

  it('maps MachineIdentificationType: InheritsFrom MachineryItemIdentificationType, its own members', () => {
    const type = typeNamed('MachineIdentificationType');
    expect(type).toMatchObject({
      elementId: id(MACHINERY, 1012),
      parentTypeId: id(MACHINERY, 1004),
      isAbstract: false,
    });
    expect(type.schema.allOf).toEqual([{ $ref: typeRef(id(MACHINERY, 1004)) }, expect.any(Object)]);
    const members = own(type);
    expect(Object.keys(members.properties as object).sort()).toEqual(['Location', 'ProductInstanceUri']);
    expect(members.required).toEqual(['ProductInstanceUri']); // Mandatory; Location is Optional
    // DefaultInstanceBrowseName has no ModellingRule: a property of the type, not of its instances.
    expect(members.properties).not.toHaveProperty('DefaultInstanceBrowseName');
  });

  it('maps MachineryItemIdentificationType with members from the DI namespace, on DI FunctionalGroupType', () => {
    const type = typeNamed('MachineryItemIdentificationType');
    expect(type.parentTypeId).toBe(id(DI, 1005)); // ns=2;i=1005 in the Machinery file, ns=1;i=1005 in DI's
    const members = own(type);
    expect((members.required as string[]).sort()).toEqual(['Manufacturer', 'SerialNumber']);
    const properties = members.properties as Record<string, JsonSchema>;
    expect(properties.YearOfConstruction).toMatchObject({ type: 'integer', minimum: 0, maximum: 65_535 }); // UInt16
    expect(properties.MonthOfConstruction).toMatchObject({ type: 'integer', minimum: 0, maximum: 255 }); // Byte
    expect(properties.InitialOperationDate).toMatchObject({ type: 'string', format: 'date-time' }); // DateTime
  });

  it('maps the Machines folder as a root-level object below the base Objects folder', () => {
    const machines = machinery().model.objects.find((object) => object.elementId === id(MACHINERY, 1001));
    expect(machines).toMatchObject({
      displayName: 'Machines',
      namespaceUri: MACHINERY,
      typeElementId: id(UA, 61), // FolderType
      parentId: id(UA, 85),
      isComposition: false,
      relationships: [{ type: `inverse:${id(UA, 35)}`, targetId: id(UA, 85) }],
      description: expect.stringContaining('entry point to machines'),
    });
    // The state machine states of MachineryItemState_StateMachineType are part of the type, not objects.
    expect(
      machinery()
        .model.objects.map((object) => object.displayName)
        .sort(),
    ).toEqual(['Machines', 'http://opcfoundation.org/UA/Machinery/']);
  });

  it('merges the four models into one address space with every edge on both ends', () => {
    const merged = mergeModels([base().model, di().model, ia().model, machinery().model]);
    const objects = new Map(merged.objects.map((object) => [object.elementId, object]));
    const objectsFolder = objects.get(id(UA, 85))!;
    // The base model cannot know Machines and DeviceSet; the merge adds Organizes edges back to them.
    expect(objectsFolder.relationships).toEqual(
      expect.arrayContaining([
        { type: id(UA, 35), targetId: id(MACHINERY, 1001) },
        { type: id(UA, 35), targetId: id(DI, 5001) },
      ]),
    );
    const relationshipTypes = new Map(merged.relationshipTypes.map((type) => [type.elementId, type]));
    for (const object of merged.objects) {
      for (const edge of object.relationships) {
        const reverse = relationshipTypes.get(edge.type)?.reverseOf;
        expect(reverse, edge.type).toBeDefined();
        const target = objects.get(edge.targetId);
        expect(target?.relationships, `${object.elementId} -> ${edge.targetId}`).toContainEqual({
          type: reverse,
          targetId: object.elementId,
        });
      }
      if (object.parentId !== undefined) expect(objects.has(object.parentId)).toBe(true);
    }
    // Every object's type is a registered type.
    const types = new Set(merged.objectTypes.map((type) => type.elementId));
    for (const object of merged.objects) expect(types.has(object.typeElementId), object.elementId).toBe(true);
    // The namespace metadata objects are components of Server.Namespaces, which is a composition.
    expect(objects.get(id(UA, 11715))?.isComposition).toBe(true);
  });
});
