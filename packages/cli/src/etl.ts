import { parseArgs } from 'node:util';
import { parseEnv } from '@plantmesh/core';
import { replayCurated } from '@plantmesh/etl-curated';
import { storeUrlEnv, storeUrls } from '@plantmesh/schema';
import pg from 'pg';
import { progressBar } from './progress.js';

export const etlUsage = `usage: plantmesh etl replay [--definition NAME] (--quarantine | [--from TIME] [--to TIME])
  curates again, with the definition applied now: the events the ETL quarantined (after a definition
  was fixed), or the events received in a time range (ISO 8601; all when neither is given), of one
  data product or of all; RAW_DATABASE_URL / CURATED_DATABASE_URL or DATABASE_URL`;

/** A time option as a Date, or an error that names the option. */
function time(option: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--${option} must be an ISO 8601 time (got "${value}")`);
  return date;
}

/** `plantmesh etl`: operations on the curated ETL. */
export async function etlCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'replay') {
    process.stderr.write(`${etlUsage}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      definition: { type: 'string' },
      quarantine: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
  let range: { from?: Date; to?: Date };
  try {
    range = { from: time('from', values.from), to: time('to', values.to) };
    if (values.quarantine && (range.from || range.to)) throw new Error('--quarantine takes no --from or --to');
    if (range.from && range.to && range.from >= range.to) throw new Error('--from must be before --to');
  } catch (error) {
    process.stderr.write(`plantmesh etl replay: ${(error as Error).message}\n${etlUsage}\n`);
    return 2;
  }
  const urls = storeUrls(parseEnv(storeUrlEnv), ['raw', 'curated']);
  const pool = (url: string) =>
    new pg.Pool({ connectionString: url, application_name: 'plantmesh-etl-replay', max: 2 });
  const raw = pool(urls.raw);
  const curated = urls.curated === urls.raw ? raw : pool(urls.curated);
  try {
    const results = await replayCurated(
      { raw, curated },
      { definition: values.definition, quarantine: values.quarantine, ...range },
      progressBar(),
    );
    for (const result of results) {
      process.stdout.write(
        `${result.product} ${result.version}: ${result.events} event(s), ${result.rows} row(s) written, ${result.quarantined} refused\n`,
      );
    }
    return 0;
  } finally {
    await raw.end();
    if (curated !== raw) await curated.end();
  }
}
