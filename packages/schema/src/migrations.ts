import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Store } from './stores.js';

/** Migrations every database that holds a store gets first (shared helper functions). */
export const commonSet = '_common';
export type MigrationSet = Store | typeof commonSet;

export interface Migration {
  set: MigrationSet;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));
const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The migrations of one set, from `migrations/<set>/NNNN_name.sql`, in version order. */
export function loadMigrations(set: MigrationSet, dir = migrationsDir): Migration[] {
  return readdirSync(`${dir}/${set}`)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = fileName.exec(file);
      if (!match) throw new Error(`migration ${set}/${file}: the name must be NNNN_lower_snake.sql`);
      const sql = readFileSync(`${dir}/${set}/${file}`, 'utf8');
      return {
        set,
        version: Number(match[1]),
        name: match[2] as string,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
}
