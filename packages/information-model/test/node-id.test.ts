import { describe, expect, it } from 'vitest';
import { elementIdOf, inverseElementIdOf, typeRef, typeRefTarget } from '../src/index.js';
import { NodeIdResolver, splitNodeId } from '../src/nodeset/node-id.js';

describe('NodeIds', () => {
  const resolver = new NodeIdResolver(
    ['http://example.com/A/', 'http://example.com/B/'],
    new Map([
      ['HasComponent', 'i=47'],
      ['MyType', 'ns=2;i=7'],
    ]),
  );

  it('resolves namespace indexes against the NamespaceUris table, 0 being the OPC UA base', () => {
    expect(resolver.resolve('i=58')).toEqual({ namespaceUri: 'http://opcfoundation.org/UA/', identifier: 'i=58' });
    expect(resolver.resolve('ns=1;i=1002')).toEqual({ namespaceUri: 'http://example.com/A/', identifier: 'i=1002' });
    expect(resolver.resolve('ns=2;s=Pump;1')).toEqual({
      namespaceUri: 'http://example.com/B/',
      identifier: 's=Pump;1',
    });
    expect(resolver.resolve('nsu=urn:x;i=5')).toEqual({ namespaceUri: 'urn:x', identifier: 'i=5' });
  });

  it('resolves aliases, including aliases of other namespaces', () => {
    expect(resolver.resolve('HasComponent')).toEqual({
      namespaceUri: 'http://opcfoundation.org/UA/',
      identifier: 'i=47',
    });
    expect(resolver.resolve('MyType')).toEqual({ namespaceUri: 'http://example.com/B/', identifier: 'i=7' });
  });

  it('explains what is wrong with a NodeId it cannot resolve', () => {
    expect(resolver.resolve('ns=3;i=1')).toEqual({ error: expect.stringContaining('namespace index 3') });
    expect(resolver.resolve('Nonsense')).toEqual({
      error: expect.stringContaining('neither a NodeId nor a declared alias'),
    });
    expect(splitNodeId('i=99999999999')).toBeUndefined();
    expect(splitNodeId('g=not-a-guid')).toBeUndefined();
    expect(splitNodeId('s=')).toBeUndefined();
  });

  it('normalizes spellings of the same NodeId', () => {
    expect(splitNodeId('ns=1;i=007')?.identifier).toBe('i=7');
    expect(splitNodeId('g=09087E75-8E5E-499B-954F-F2A9603DB28A')?.identifier).toBe(
      'g=09087e75-8e5e-499b-954f-f2a9603db28a',
    );
  });

  it('splits BrowseNames into namespace URI and name', () => {
    expect(resolver.qualifiedName('1:DeviceType')).toEqual({
      namespaceUri: 'http://example.com/A/',
      name: 'DeviceType',
    });
    expect(resolver.qualifiedName('HasComponent')).toEqual({
      namespaceUri: 'http://opcfoundation.org/UA/',
      name: 'HasComponent',
    });
  });

  it('builds ElementIds in the ExpandedNodeId string form, escaping ; and % in the URI', () => {
    expect(elementIdOf({ namespaceUri: 'http://opcfoundation.org/UA/DI/', identifier: 'i=1002' })).toBe(
      'nsu=http://opcfoundation.org/UA/DI/;i=1002',
    );
    expect(elementIdOf({ namespaceUri: 'urn:a;b%c', identifier: 's=x' })).toBe('nsu=urn:a%3Bb%25c;s=x');
    expect(inverseElementIdOf('nsu=urn:a;i=1')).toBe('inverse:nsu=urn:a;i=1');
  });

  it('writes type references as JSON Pointers into a `types` map, and reads them back', () => {
    const elementId = 'nsu=http://opcfoundation.org/UA/DI/;s=a~b/c d%';
    const ref = typeRef(elementId);
    expect(ref).toBe('#/types/nsu=http:~1~1opcfoundation.org~1UA~1DI~1;s=a~0b~1c%20d%25');
    expect(typeRefTarget(ref)).toBe(elementId);
    expect(typeRefTarget('#/$defs/x')).toBeUndefined();
  });
});
