/** ElementIds come from namespace URIs and NodeIds only: stable across re-imports, unique across kinds. */
import { describe, expect, it } from 'vitest';
import { type InformationModel, importNodeSet, mergeModels } from '../src/index.js';
import { base, di, ia, machinery, nodesetXml } from './nodesets.js';

/**
 * The same NodeSet written differently: its NamespaceUris table in another order (so every `ns=N` and
 * BrowseName prefix changes) and its nodes in reverse order.
 */
function rewritten(xml: string): string {
  // Machinery's table is [Machinery, DI, IA]; make it [IA, Machinery, DI].
  const newIndex: Record<string, string> = { '1': '2', '2': '3', '3': '1' };
  const renumbered = xml
    .replace(
      /<NamespaceUris>[\s\S]*?<\/NamespaceUris>/,
      '<NamespaceUris><Uri>http://opcfoundation.org/UA/IA/</Uri><Uri>http://opcfoundation.org/UA/Machinery/</Uri><Uri>http://opcfoundation.org/UA/DI/</Uri></NamespaceUris>',
    )
    .replace(/\bns=([1-3]);/g, (_, index: string) => `ns=${newIndex[index]};`)
    .replace(
      /(BrowseName|Name)="([1-3]):/g,
      (_, attribute: string, index: string) => `${attribute}="${newIndex[index]}:`,
    );
  const start = renumbered.indexOf('\n  <UA');
  const end = renumbered.lastIndexOf('</UANodeSet>');
  const nodes = renumbered.slice(start, end).split(/(?=\n {2}<UA)/);
  return renumbered.slice(0, start) + nodes.reverse().join('') + renumbered.slice(end);
}

const known = () => [base().model, di().model, ia().model];

function allElementIds(model: InformationModel): string[] {
  return [...model.objectTypes, ...model.relationshipTypes, ...model.objects, ...model.dataTypes].map(
    (element) => element.elementId,
  );
}

describe('ElementIds', () => {
  it('are identical (and so is the whole model) when the same file is imported twice', () => {
    const again = importNodeSet(nodesetXml('machinery'), { known: known() });
    expect(again.model).toEqual(machinery().model);
    expect(allElementIds(again.model)).toEqual(allElementIds(machinery().model));
  });

  it('do not depend on namespace indexes or node order in the file', () => {
    const xml = rewritten(nodesetXml('machinery'));
    expect(xml).toContain('BrowseName="2:MachineIdentificationType"');
    const reordered = importNodeSet(xml, { known: known() });
    expect(reordered.warnings).toEqual([]);
    expect(reordered.model).toEqual(machinery().model);
  });

  it('are unique across object types, relationship types, objects and data types of all four models', () => {
    const merged = mergeModels([base().model, di().model, ia().model, machinery().model]);
    const ids = allElementIds(merged);
    expect(new Set(ids).size).toBe(ids.length);
    const separate = [base(), di(), ia(), machinery()].flatMap((result) => allElementIds(result.model));
    expect(separate.length).toBe(ids.length); // no model repeats an element of one it builds on
    for (const elementId of ids) {
      expect(elementId).toBe(elementId.trim()); // I3X: no leading or trailing white space
      // I3X: no non-printable characters
      expect([...elementId].every((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f)).toBe(true);
    }
  });

  it('sort every list of the model by ElementId', () => {
    const { model } = machinery();
    for (const list of [model.objectTypes, model.relationshipTypes, model.objects, model.dataTypes]) {
      const ids = list.map((element) => element.elementId);
      expect(ids).toEqual([...ids].sort());
    }
  });
});
