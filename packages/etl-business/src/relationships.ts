import { quoteIdentifier } from '@plantmesh/core';
import type { CuratedDefinition } from '@plantmesh/etl-curated';

/** One step from a curated product to another along a relationship: this product's columns -> its key. */
interface Hop {
  from: CuratedDefinition;
  to: CuratedDefinition;
  columns: Record<string, string>;
}

/**
 * The way from a curated product to an entity product along the definitions' relationships (a plate
 * CutFrom a slab CastFrom a heat), shortest first; undefined when there is none.
 */
export function pathToEntity(
  registry: ReadonlyMap<string, CuratedDefinition>,
  from: string,
  entity: string,
): Hop[] | undefined {
  const start = registry.get(from);
  if (!start) return undefined;
  const queue: Array<{ at: CuratedDefinition; hops: Hop[] }> = [{ at: start, hops: [] }];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const { at, hops } = queue.shift() as { at: CuratedDefinition; hops: Hop[] };
    if (at.product.name === entity) return hops;
    for (const relationship of at.relationships ?? []) {
      const to = registry.get(relationship.to);
      if (!to || seen.has(relationship.to)) continue;
      seen.add(relationship.to);
      queue.push({ at: to, hops: [...hops, { from: at, to, columns: relationship.columns }] });
    }
  }
  return undefined;
}

/**
 * SQL that gives the entity keys of rows of `from` named by their keys ($1, a JSON array of key
 * arrays), following the hops (for the entity product itself, the keys are the entity keys), each with
 * the position (from 1) of the first key in $1 that leads to it.
 */
export function entityKeysSql(from: CuratedDefinition, hops: Hop[], entityKey: string): string {
  const keys = from.key.map((_column, index) => `(k.value ->> ${index})`);
  const match = from.key.map((column, index) => `t0.${quoteIdentifier(column)}::text = ${keys[index]}`).join(' and ');
  if (hops.length === 0) {
    return `select ${keys[0]} as entity, min(k.n) as n from jsonb_array_elements($1::jsonb) with ordinality as k(value, n) group by 1`;
  }
  const joins = hops.slice(1).map((hop, index) => {
    const previous = hops[index] as Hop;
    const on = Object.entries(previous.columns)
      .map(([local, remote]) => `t${index + 1}.${quoteIdentifier(remote)} = t${index}.${quoteIdentifier(local)}`)
      .join(' and ');
    return `join curated.${quoteIdentifier(hop.from.table)} as t${index + 1} on ${on}`;
  });
  const last = hops.at(-1) as Hop;
  const lastAlias = `t${hops.length - 1}`;
  const local = Object.entries(last.columns).find(([, remote]) => remote === entityKey)?.[0] as string;
  return [
    `select ${lastAlias}.${quoteIdentifier(local)}::text as entity, min(k.n) as n`,
    `from jsonb_array_elements($1::jsonb) with ordinality as k(value, n)`,
    `join curated.${quoteIdentifier(from.table)} as t0 on ${match}`,
    ...joins,
    `where ${lastAlias}.${quoteIdentifier(local)} is not null`,
    'group by 1',
  ].join('\n');
}
