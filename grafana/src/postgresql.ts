/** PostgreSQL as Grafana's reader login sees it: connections, store sizes, transactions, events stored. */
import { dashboard, logsPanel, namespaceVariable, sql } from './shared.js';

export const postgresql = () =>
  dashboard({ uid: 'plantmesh-postgresql', title: 'plantmesh / PostgreSQL', variables: [namespaceVariable()] }, [
    sql(
      'Connections by service',
      `select coalesce(nullif(application_name, ''), usename::text) as client, state, count(*) as connections
from pg_stat_activity where datname = current_database() group by 1, 2 order by 3 desc`,
    ),
    sql(
      'Size of the stores',
      `select n.nspname as store, pg_size_pretty(sum(pg_total_relation_size(c.oid))::bigint) as size
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('raw', 'metrics', 'curated', 'business', 'catalog', 'i3x') and c.relkind in ('r', 'p')
group by 1 order by sum(pg_total_relation_size(c.oid)) desc`,
    ),
    sql(
      'Transactions and database size',
      `select xact_commit as commits, xact_rollback as rollbacks, deadlocks, pg_size_pretty(pg_database_size(datname)) as size
from pg_stat_database where datname = current_database()`,
    ),
    sql(
      'Events stored per minute',
      `select date_bin('1 minute', stored_at, timestamp '2000-01-01') as time, count(*) as events
from raw.events where $__timeFilter(stored_at) group by 1 order by 1`,
      'timeseries',
    ),
    logsPanel('PostgreSQL logs', '{namespace=~"$namespace", container="postgresql"}'),
  ]);
