import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateRowTypes, Plantmesh } from '@plantmesh/sdk';

export const sdkUsage = `usage: plantmesh sdk generate [--out FILE]
  writes TypeScript row types of every curated product and KPI the database has now (CuratedRows,
  KpiRows) for @plantmesh/sdk; PLANTMESH_URL or DATABASE_URL: a reader's login; without --out, to stdout`;

/** `plantmesh sdk generate`: returns the exit code (0 done, 2 bad usage). */
export async function sdkCommand(args: string[], say: (text: string) => void): Promise<number> {
  const [what, ...rest] = args;
  let out: string | undefined;
  try {
    out = parseArgs({ args: rest, options: { out: { type: 'string' } } }).values.out;
  } catch (error) {
    say(`${(error as Error).message}\n${sdkUsage}`);
    return 2;
  }
  const url = process.env.PLANTMESH_URL ?? process.env.DATABASE_URL;
  if (what !== 'generate' || !url) {
    say(url ? sdkUsage : `plantmesh sdk: set PLANTMESH_URL or DATABASE_URL\n${sdkUsage}`);
    return 2;
  }
  const sdk = await Plantmesh.connect({ url, applicationName: 'plantmesh-sdk-generate' });
  try {
    const text = await generateRowTypes(sdk);
    if (out) {
      writeFileSync(out, text);
      say(`${out}: row types of ${(text.match(/^export interface \w+Row /gm) ?? []).length} tables`);
    } else {
      say(text);
    }
    return 0;
  } finally {
    await sdk.close();
  }
}
