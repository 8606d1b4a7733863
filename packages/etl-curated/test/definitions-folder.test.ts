import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@plantmesh/core';
import { waitFor } from '@plantmesh/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { DefinitionsFolder } from '../src/index.js';

describe('the definitions folder', () => {
  const folders: DefinitionsFolder[] = [];
  afterEach(async () => {
    for (const folder of folders.splice(0)) await folder.stop();
  });

  it('neither applies nor refuses an empty file (a save caught mid-write), and takes its content when it comes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plantmesh-folder-'));
    const loaded: string[] = [];
    const refused: string[] = [];
    const folder = new DefinitionsFolder(
      dir,
      async (text) => {
        loaded.push(text);
        return { name: 'x', version: '1.0.0', outcome: 'created' };
      },
      createLogger({ service: 'test', version: '0', level: 'silent' }),
      (file) => refused.push(file),
    );
    folders.push(folder);
    writeFileSync(join(dir, 'x.yaml'), '');
    writeFileSync(join(dir, 'blank.yaml'), '  \n');
    await folder.start(100);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect({ loaded, refused }).toEqual({ loaded: [], refused: [] });
    writeFileSync(join(dir, 'x.yaml'), 'ok: 1\n');
    await waitFor('the file applied', async () => loaded.length === 1, 10_000);
    expect({ loaded, refused }).toEqual({ loaded: ['ok: 1\n'], refused: [] });
    rmSync(dir, { recursive: true, force: true });
  });
});
