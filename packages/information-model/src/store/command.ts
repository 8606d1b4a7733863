/**
 * `plantmesh import assets FILE.yaml`: an asset-model file (docs/asset-model.md) into the model, replacing
 * what the last one stored; refused whole, with every problem as `file:line:column: message`.
 *
 * `plantmesh import nodeset FILE.xml ...`: each NodeSet2 file imported into the model in the curated store,
 * in the order given (the OPC UA base NodeSet first, then the companion specifications in the order they
 * require each other), each on top of those stored before. The CLI calls this with its arguments
 * (packages/cli/src/i3x.ts). CURATED_DATABASE_URL or DATABASE_URL: a login with plantmesh_model_writer.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DefinitionError } from '@plantmesh/core';
import pg from 'pg';
import { readAssetModel } from '../assets/file.js';
import { NodeSetError } from '../nodeset/errors.js';
import { storeAssetModel } from './assets.js';
import { storeNodeSet } from './nodeset.js';

export const importUsage = `usage: plantmesh import nodeset FILE.xml [FILE.xml ...] [--max-mib N] [--warnings]
       plantmesh import assets FILE.yaml [--max-mib N]
  imports OPC UA NodeSet2 files, or the plant's asset-model file, into the information model
  (CURATED_DATABASE_URL or DATABASE_URL); import Opc.Ua.NodeSet2.xml first, then each companion
  specification after those it requires, and NodeSets before an asset model that names their types`;

/** Runs the command; returns the exit code (0 done, 1 a file refused, 2 bad usage). */
export async function importCommand(
  args: readonly string[],
  environment: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<number> {
  const [what, ...rest] = args;
  const options = { 'max-mib': { type: 'string' }, warnings: { type: 'boolean' } } as const;
  let parsed: { positionals: string[]; values: { 'max-mib'?: string; warnings?: boolean } };
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, options });
  } catch (error) {
    say(`${(error as Error).message}\n${importUsage}`);
    return 2;
  }
  const files = parsed.positionals;
  const maxMib =
    parsed.values['max-mib'] === undefined ? (what === 'assets' ? 16 : 64) : Number(parsed.values['max-mib']);
  const usable = what === 'nodeset' ? files.length > 0 : what === 'assets' && files.length === 1;
  if (!usable || !Number.isFinite(maxMib) || maxMib <= 0) {
    say(importUsage);
    return 2;
  }
  const url = environment.CURATED_DATABASE_URL ?? environment.DATABASE_URL;
  if (!url) {
    say('plantmesh import: set CURATED_DATABASE_URL or DATABASE_URL (a postgres URL)');
    return 2;
  }
  const client = new pg.Client({ connectionString: url, application_name: 'plantmesh-import' });
  await client.connect();
  try {
    if (what === 'assets') return await importAssets(client, files[0] as string, maxMib, say);
    for (const file of files) {
      const maxCharacters = maxMib * 1024 * 1024;
      if (statSync(file).size > maxCharacters * 4) {
        say(`${file}: refused: larger than ${maxMib} MiB (--max-mib)`);
        return 1;
      }
      try {
        const result = await storeNodeSet(client, readFileSync(file, 'utf8'), { maxCharacters });
        say(
          `${file}: ${result.modelUri}: ${result.objectTypes} object types, ${result.relationshipTypes} relationship types, ${result.objects} objects, ${result.relationships} relationships stored; ${result.removed} removed; ${result.warnings.length} warnings`,
        );
        for (const skipped of result.skipped) say(`  skipped ${skipped.elementId}: ${skipped.reason}`);
        if (parsed.values.warnings) for (const warning of result.warnings) say(`  warning: ${JSON.stringify(warning)}`);
      } catch (error) {
        if (error instanceof NodeSetError) {
          say(`${file}: refused: ${error.message}`);
          return 1;
        }
        throw error;
      }
    }
    return 0;
  } finally {
    await client.end();
  }
}

async function importAssets(client: pg.Client, file: string, maxMib: number, say: (line: string) => void) {
  try {
    const result = await storeAssetModel(client, readAssetModel(file, maxMib * 1024 * 1024));
    say(
      `${file}: ${result.objectTypes} object types, ${result.relationshipTypes} relationship types, ${result.objects} objects (${result.series} series placed), ${result.relationships} relationships stored; ${result.removed} removed; ${result.restored} given back to the topic paths`,
    );
    for (const skipped of result.skipped) say(`  skipped ${skipped.elementId}: ${skipped.reason}`);
    return 0;
  } catch (error) {
    if (error instanceof DefinitionError) {
      say(`${file}: refused:\n${error.message}`);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      say(`${file}: refused: no such file`);
      return 1;
    }
    if (error instanceof Error && error.name === 'ElementIdConflictError') {
      say(`${file}: refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
