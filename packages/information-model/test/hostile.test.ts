/** Input that is not a good NodeSet2 file: a clear NodeSetError or warnings, never a crash. */
import { describe, expect, it } from 'vitest';
import { importNodeSet, NodeSetError, UNKNOWN_TYPE } from '../src/index.js';
import { nodesetXml } from './nodesets.js';

function importError(xml: string | Uint8Array, options = {}): NodeSetError {
  try {
    importNodeSet(xml, options);
  } catch (error) {
    if (error instanceof NodeSetError) return error;
    throw error;
  }
  throw new Error('import did not fail');
}

const NODESET_NS = 'http://opcfoundation.org/UA/2011/03/UANodeSet.xsd';
const nodeset = (body: string, uris = '<Uri>http://example.com/Test/</Uri>') =>
  `<?xml version="1.0"?><UANodeSet xmlns="${NODESET_NS}"><NamespaceUris>${uris}</NamespaceUris>` +
  `<Models><Model ModelUri="http://example.com/Test/"/></Models>` +
  `<Aliases><Alias Alias="HasSubtype">i=45</Alias><Alias Alias="HasComponent">i=47</Alias>` +
  `<Alias Alias="HasTypeDefinition">i=40</Alias><Alias Alias="Organizes">i=35</Alias></Aliases>${body}</UANodeSet>`;

describe('input that is not a NodeSet2 document', () => {
  it('names text that is not XML', () => {
    expect(importError('hello, world')).toMatchObject({ code: 'not-xml', message: expect.stringMatching(/line 1/) });
    expect(importError('')).toMatchObject({ code: 'not-xml' });
    expect(importError('<UANodeSet><UAObject></UANodeSet>')).toMatchObject({
      code: 'not-xml',
      message: expect.stringMatching(/^not well-formed XML at line 1, column \d+: .*UAObject/),
    });
  });

  it('names the root element of XML that is not a NodeSet', () => {
    expect(importError('<html><body>hi</body></html>')).toMatchObject({
      code: 'not-nodeset',
      message: 'not a NodeSet2 document: the root element is <html>, expected <UANodeSet>',
    });
  });

  it('refuses a DOCTYPE (entity expansion) without expanding it', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE UANodeSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><UANodeSet><Aliases><Alias Alias="x">&c;</Alias></Aliases></UANodeSet>';
    expect(importError(laughs)).toMatchObject({ code: 'doctype' });
  });

  it('refuses elements nested deeper than the limit', () => {
    const deep = `<UANodeSet>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</UANodeSet>`;
    expect(importError(deep)).toMatchObject({ code: 'too-deep', message: expect.stringContaining('64') });
    expect(
      importError(nodeset('<UAObject NodeId="ns=1;i=1" BrowseName="1:A"><a><b><c>x</c></b></a></UAObject>'), {
        maxDepth: 3,
      }),
    ).toMatchObject({ code: 'too-deep' });
  });

  it('refuses a text longer than the limit before parsing it', () => {
    expect(importError(nodesetXml('di'), { maxCharacters: 100_000 })).toMatchObject({
      code: 'too-large',
      message: expect.stringContaining('limit of 100000'),
    });
  });

  it('reports a truncated real NodeSet as malformed XML, wherever it is cut', () => {
    const xml = nodesetXml('di');
    for (const fraction of [0.001, 0.1, 0.37, 0.5, 0.93, 0.9999]) {
      expect(importError(xml.slice(0, Math.floor(xml.length * fraction))).code).toBe('not-xml');
    }
  });

  it('reads bytes as UTF-8', () => {
    const bytes = new TextEncoder().encode(nodeset('<UAObjectType NodeId="ns=1;i=1" BrowseName="1:Größe"/>'));
    const { model } = importNodeSet(bytes);
    expect(model.objectTypes[0]?.displayName).toBe('Größe');
  });
});

describe('a NodeSet with broken parts', () => {
  it('imports what it can and warns about the rest', () => {
    const { model, warnings } = importNodeSet(
      nodeset(`
        <UAObjectType NodeId="ns=1;i=1" BrowseName="1:A"><References><Reference ReferenceType="HasSubtype" IsForward="false">ns=1;i=2</Reference></References></UAObjectType>
        <UAObjectType NodeId="ns=1;i=2" BrowseName="1:B"><References><Reference ReferenceType="HasSubtype" IsForward="false">ns=1;i=1</Reference></References></UAObjectType>
        <UAObjectType NodeId="ns=1;i=1" BrowseName="1:Again"/>
        <UAObjectType NodeId="ns=7;i=3" BrowseName="1:BadNamespace"/>
        <UAObjectType BrowseName="1:NoNodeId"/>
        <UAObject NodeId="ns=1;i=10" BrowseName="1:Untyped"/>
        <UAObject NodeId="ns=1;i=11" BrowseName="1:Dangling">
          <References>
            <Reference ReferenceType="HasTypeDefinition">ns=1;i=999</Reference>
            <Reference ReferenceType="NoSuchAlias">ns=1;i=10</Reference>
            <Reference ReferenceType="HasComponent">ns=1;i=12</Reference>
            <Reference ReferenceType="Organizes" IsForward="false">nsu=http://example.com/Other/;i=5</Reference>
          </References>
        </UAObject>`),
    );
    const codes = new Set(warnings.map((warning) => warning.code));
    for (const code of [
      'duplicate-node',
      'bad-node',
      'unresolved-node',
      'unresolved-type-definition',
      'unresolved-namespace',
    ]) {
      expect(codes, code).toContain(code);
    }
    expect(
      warnings.find((warning) => warning.code === 'bad-node' && warning.message.includes('NoSuchAlias')),
    ).toBeDefined();
    // The HasSubtype cycle A <-> B does not hang the import.
    expect(model.objectTypes.map((type) => type.source.browseName)).toEqual(expect.arrayContaining(['A', 'B']));
    // Objects whose type cannot be resolved are typed UnknownType, which is registered with its namespace.
    expect(model.objects.map((object) => object.typeElementId)).toEqual([
      UNKNOWN_TYPE.elementId,
      UNKNOWN_TYPE.elementId,
    ]);
    expect(model.objectTypes).toContainEqual(UNKNOWN_TYPE);
    expect(model.namespaces.map((namespace) => namespace.uri)).toContain(UNKNOWN_TYPE.namespaceUri);
  });

  it('warns about RequiredModels that are not known', () => {
    const xml = nodeset('').replace(
      '<Model ModelUri="http://example.com/Test/"/>',
      '<Model ModelUri="http://example.com/Test/"><RequiredModel ModelUri="http://opcfoundation.org/UA/DI/"/></Model>',
    );
    expect(importNodeSet(xml).warnings).toContainEqual({
      code: 'missing-required-model',
      message: expect.stringContaining('requires http://opcfoundation.org/UA/DI/'),
    });
  });

  it('imports long subtype chains and deep object hierarchies without deep recursion', () => {
    const count = 20_000;
    const parts: string[] = [];
    for (let index = 1; index <= count; index++) {
      const supertype = index === 1 ? 'i=58' : `ns=1;i=${index - 1}`;
      parts.push(
        `<UAObjectType NodeId="ns=1;i=${index}" BrowseName="1:T${index}"><References><Reference ReferenceType="HasSubtype" IsForward="false">${supertype}</Reference></References></UAObjectType>`,
        `<UADataType NodeId="ns=1;i=${100_000 + index}" BrowseName="1:D${index}"><References><Reference ReferenceType="HasSubtype" IsForward="false">${index === 1 ? 'i=11' : `ns=1;i=${100_000 + index - 1}`}</Reference></References></UADataType>`,
        `<UAObject NodeId="ns=1;i=${200_000 + index}" BrowseName="1:O${index}"><References><Reference ReferenceType="HasTypeDefinition">ns=1;i=${count + 1 - index}</Reference>${index === 1 ? '' : `<Reference ReferenceType="HasComponent" IsForward="false">ns=1;i=${200_000 + index - 1}</Reference>`}</References></UAObject>`,
      );
    }
    const started = Date.now();
    const { model } = importNodeSet(nodeset(parts.join('\n')));
    expect(Date.now() - started).toBeLessThan(60_000); // linear: about 3 s alone on 2 cores
    expect(model.objectTypes).toHaveLength(count);
    expect(model.objects).toHaveLength(count);
    const deepest = model.dataTypes.find((type) => type.source.browseName === `D${count}`);
    expect(deepest?.schema).toEqual({ type: 'number' }); // a Double, 20,000 subtypes down
    const last = model.objects.find((object) => object.source.browseName === `O${count}`);
    expect(last?.parentId).toBe(`nsu=http://example.com/Test/;i=${200_000 + count - 1}`);
  });
});
