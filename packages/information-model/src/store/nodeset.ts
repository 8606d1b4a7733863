/**
 * `plantmesh import nodeset`: a NodeSet2 file imported on top of the NodeSets stored before (its
 * RequiredModels resolve into them) and stored as `nodeset:<ModelUri>`, replacing what an earlier import of
 * the same model stored. Import the OPC UA base NodeSet (Opc.Ua.NodeSet2.xml) first, then the companion
 * specifications in the order they require each other (DI, then IA, then Machinery, ...).
 */
import type pg from 'pg';
import type { ImportWarning } from '../nodeset/errors.js';
import { importNodeSet } from '../nodeset/import.js';
import { PLATFORM_NAMESPACE, platformModel } from '../platform.js';
import { loadStoredModel } from './read.js';
import { type StoreResult, storeModel } from './write.js';

export interface NodeSetStoreResult extends StoreResult {
  /** The ModelUri the import is stored under (`source` = `nodeset:<modelUri>`). */
  modelUri: string;
  warnings: ImportWarning[];
}

/** Imports a NodeSet2 document into the store. Throws NodeSetError for text that is not one. */
export async function storeNodeSet(
  client: pg.ClientBase,
  xml: string | Uint8Array,
  options: { maxCharacters?: number } = {},
): Promise<NodeSetStoreResult> {
  const known = await loadStoredModel(client, 'nodeset:%');
  const { model, warnings } = importNodeSet(xml, {
    known: [known],
    ...(options.maxCharacters === undefined ? {} : { maxCharacters: options.maxCharacters }),
  });
  const own = model.namespaces.filter((namespace) => namespace.uri !== PLATFORM_NAMESPACE.uri);
  const modelUri = own[0]?.uri;
  if (modelUri === undefined) throw new Error('the NodeSet defines no model (no <Models> entry and no namespace)');
  // UnknownType and its namespace are the platform's (stored by storePlatform), used here, not owned.
  const platformTypes = new Set(platformModel().objectTypes.map((type) => type.elementId));
  await storePlatform(client);
  const result = await storeModel(
    client,
    {
      ...model,
      namespaces: own,
      objectTypes: model.objectTypes.filter((type) => !platformTypes.has(type.elementId)),
    },
    `nodeset:${modelUri}`,
  );
  return { ...result, modelUri, warnings };
}

/** Stores the platform's own namespace, relationship types and types (source `platform`); idempotent. */
export async function storePlatform(client: pg.ClientBase): Promise<StoreResult> {
  return storeModel(client, platformModel(), 'platform');
}
