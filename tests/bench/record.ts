import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(import.meta.dirname, '../../BENCHMARKS.md');

/** A Markdown table. */
export function table(header: string[], body: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...body.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/**
 * Puts `body` into BENCHMARKS.md between `<!-- marker:begin -->` and `<!-- marker:end -->`, replacing
 * what a former run recorded there, or at the end of the file the first time.
 */
export function recordSection(marker: string, body: string): void {
  const section = `<!-- ${marker}:begin -->\n${body}\n<!-- ${marker}:end -->`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const existing = new RegExp(`<!-- ${marker}:begin -->[\\s\\S]*<!-- ${marker}:end -->`);
  writeFileSync(
    file,
    existing.test(text) ? text.replace(existing, () => section) : `${text.trimEnd()}\n\n${section}\n`,
  );
  process.stdout.write(`\n${section}\n\nrecorded in BENCHMARKS.md\n`);
}
