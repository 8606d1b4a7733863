import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlSession } from './runner.js';

/** The recorded signature of the stable SQL interface (schema api), which a change must not break. */
export const apiSignatureFile = fileURLToPath(new URL('../api/signature.txt', import.meta.url));

/** The roles the interface is for: readers, and writers of results. */
const audience = ['plantmesh_reader', 'plantmesh_results_writer'];

/**
 * The interface as the database has it, one line per view and per function: columns with types,
 * arguments with defaults, results, and which of the audience's roles may use it. Sorted, so that two
 * databases with the same interface give the same text.
 */
export async function apiSignature(session: SqlSession): Promise<string> {
  const views = await session.query<{ line: string }>(
    `select format('view api.%s (%s); select: %s', c.relname,
              (select string_agg(format('%s %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' order by a.attnum)
               from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
              coalesce((select string_agg(r, ', ' order by r) from unnest($1::text[]) as r
                        where has_table_privilege(r, c.oid, 'select')), 'none')) as line
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'api' and c.relkind in ('v', 'm', 'r')`,
    [audience],
  );
  const functions = await session.query<{ line: string }>(
    `select format('function api.%s(%s) returns %s; execute: %s', p.proname, pg_get_function_arguments(p.oid),
              pg_get_function_result(p.oid),
              coalesce((select string_agg(r, ', ' order by r) from unnest($1::text[]) as r
                        where has_function_privilege(r, p.oid, 'execute')), 'none')) as line
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'api'`,
    [audience],
  );
  return `${[...views, ...functions]
    .map((row) => row.line)
    .sort()
    .join('\n')}\n`;
}

/** The signature recorded in the repository. */
export function recordedApiSignature(): string {
  return readFileSync(apiSignatureFile, 'utf8');
}
