import type pg from 'pg';

/**
 * The oldest transaction still running on a server: every transaction below it is over, so the rows
 * they wrote, in (txid, seq) order, never change (docs/adr/0009-etl-delivery.md). Read it before the
 * reading transaction writes anything, so that its own id does not hold it back.
 */
export async function commitFrontier(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ frontier: string }>(
    'select pg_snapshot_xmin(pg_current_snapshot())::text as frontier',
  );
  return rows[0]?.frontier as string;
}

/**
 * Takes a transaction-scoped advisory lock on (lockClass, name) if no one holds it; false at once
 * otherwise, so that replicas take work each without waiting for one another. Takes no transaction id.
 */
export async function tryTransactionLock(client: pg.ClientBase, lockClass: number, name: string): Promise<boolean> {
  const { rows } = await client.query<{ taken: boolean }>(
    'select pg_try_advisory_xact_lock($1, hashtext($2)) as taken',
    [lockClass, name],
  );
  return rows[0]?.taken === true;
}
