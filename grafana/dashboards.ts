/**
 * The Grafana dashboards of plantmesh, defined as data and written as JSON into dashboards/
 * (which the Helm chart ships as ConfigMaps for Grafana's sidecar):
 *   pnpm grafana:dashboards
 * tests/observability checks that the JSON is up to date and runs every query of every panel.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Datasource = 'prometheus' | 'loki' | 'postgres';
interface Target {
  expr?: string;
  rawSql?: string;
  legend?: string;
  format?: 'time_series' | 'table';
}
interface Panel {
  title: string;
  type: 'timeseries' | 'stat' | 'logs' | 'table' | 'barchart';
  datasource: Datasource;
  targets: Target[];
  unit?: string;
  width?: number;
  height?: number;
  description?: string;
}

const datasourceTypes: Record<Datasource, string> = {
  prometheus: 'prometheus',
  loki: 'loki',
  postgres: 'grafana-postgresql-datasource',
};

/** A reference to the dashboard's datasource variable of that kind (Grafana resolves `${name}`). */
const datasourceRef = (datasource: Datasource) => ({ type: datasourceTypes[datasource], uid: `\${${datasource}}` });

const prom = (title: string, targets: Target[], unit = 'short', width = 12): Panel => ({
  title,
  type: 'timeseries',
  datasource: 'prometheus',
  targets,
  unit,
  width,
});
const logs = (title: string, expr: string): Panel => ({
  title,
  type: 'logs',
  datasource: 'loki',
  targets: [{ expr }],
  width: 24,
  height: 10,
});
const sql = (title: string, rawSql: string, type: Panel['type'] = 'table', width = 12): Panel => ({
  title,
  type,
  datasource: 'postgres',
  targets: [{ rawSql, format: type === 'table' ? 'table' : 'time_series' }],
  width,
});

/** A Grafana dashboard: datasources as variables, panels laid out left to right. */
function dashboard(uid: string, title: string, panels: Panel[], variables: object[] = []) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const used = new Set(panels.map((panel) => panel.datasource));
  return {
    uid,
    title,
    tags: ['plantmesh'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        ...[...used].map((ds) => ({
          name: ds,
          label: ds,
          type: 'datasource',
          query: datasourceTypes[ds],
          current: {},
          hide: 0,
        })),
        ...variables,
      ],
    },
    panels: panels.map((panel, index) => {
      const w = panel.width ?? 12;
      const h = panel.height ?? 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      const gridPos = { x, y, w, h };
      x += w;
      rowHeight = Math.max(rowHeight, h);
      return {
        id: index + 1,
        title: panel.title,
        type: panel.type,
        ...(panel.description ? { description: panel.description } : {}),
        datasource: datasourceRef(panel.datasource),
        gridPos,
        fieldConfig: { defaults: { unit: panel.unit ?? 'short' }, overrides: [] },
        options: panel.type === 'logs' ? { showTime: true, wrapLogMessage: true, sortOrder: 'Descending' } : {},
        targets: panel.targets.map((target, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: datasourceRef(panel.datasource),
          ...(target.expr ? { expr: target.expr, legendFormat: target.legend ?? '' } : {}),
          ...(target.rawSql
            ? { rawSql: target.rawSql, format: target.format ?? 'table', rawQuery: true, editorMode: 'code' }
            : {}),
        })),
      };
    }),
  };
}

const namespace = {
  name: 'namespace',
  label: 'namespace',
  type: 'query',
  datasource: datasourceRef('prometheus'),
  query: 'label_values(plantmesh_connection_up, namespace)',
  includeAll: true,
  allValue: '.*',
  current: {},
  hide: 0,
};
const service = {
  name: 'service',
  label: 'service',
  type: 'query',
  datasource: datasourceRef('prometheus'),
  query: 'label_values(process_cpu_user_seconds_total, service)',
  includeAll: false,
  current: {},
  hide: 0,
};
const seriesFilter = {
  name: 'series',
  label: 'series (path pattern)',
  type: 'textbox',
  query: '%',
  current: { text: '%', value: '%' },
  hide: 0,
};

export function dashboards(): Record<string, object> {
  return {
    'plantmesh-overview.json': dashboard(
      'plantmesh-overview',
      'plantmesh / Platform overview',
      [
        prom(
          'Messages received by the MQTT readers',
          [{ expr: 'sum by (stream) (rate(plantmesh_reader_received_total[1m]))', legend: '{{stream}}' }],
          'ops',
        ),
        prom(
          'Rows committed by the writer',
          [{ expr: 'sum by (stream) (rate(plantmesh_writer_rows_total[1m]))', legend: '{{stream}}' }],
          'rowsps',
        ),
        prom(
          'End-to-end lag, receipt to commit',
          [
            {
              expr: 'histogram_quantile(0.5, sum by (le, stream) (rate(plantmesh_writer_lag_seconds_bucket[1m])))',
              legend: 'p50 {{stream}}',
            },
            {
              expr: 'histogram_quantile(0.99, sum by (le, stream) (rate(plantmesh_writer_lag_seconds_bucket[1m])))',
              legend: 'p99 {{stream}}',
            },
          ],
          's',
        ),
        prom('Messages waiting for RabbitMQ in the readers', [
          { expr: 'sum by (stream) (plantmesh_reader_in_flight)', legend: '{{stream}}' },
        ]),
        prom(
          'Dead letters and quarantined rows',
          [
            {
              expr: 'sum by (stream, reason) (rate(plantmesh_reader_dead_lettered_total[5m]))',
              legend: 'reader {{stream}} {{reason}}',
            },
            { expr: 'sum by (stream) (rate(plantmesh_writer_quarantined_total[5m]))', legend: 'writer {{stream}}' },
          ],
          'ops',
        ),
        prom(
          'Retries (RabbitMQ refusals, database errors)',
          [
            { expr: 'sum by (stream) (rate(plantmesh_reader_publish_retries_total[5m]))', legend: 'reader {{stream}}' },
            { expr: 'sum by (stream) (rate(plantmesh_writer_retries_total[5m]))', legend: 'writer {{stream}}' },
          ],
          'ops',
        ),
        prom('Connections up', [
          { expr: 'min by (service, target) (plantmesh_connection_up)', legend: '{{service}} -> {{target}}' },
        ]),
        prom('RabbitMQ messages queued', [
          { expr: 'sum(rabbitmq_queue_messages_ready)', legend: 'ready' },
          { expr: 'sum(rabbitmq_queue_messages_unacked)', legend: 'unacknowledged' },
        ]),
        logs(
          'Errors and warnings of every plantmesh service',
          '{namespace=~"$namespace"} | json | level=~"error|fatal|warn"',
        ),
      ],
      [namespace],
    ),
    'plantmesh-services.json': dashboard(
      'plantmesh-services',
      'plantmesh / Service',
      [
        prom(
          'Throughput',
          [
            {
              expr: 'sum by (stream) (rate(plantmesh_reader_forwarded_total{service="$service"}[1m]))',
              legend: 'forwarded {{stream}}',
            },
            {
              expr: 'sum by (stream) (rate(plantmesh_writer_messages_total{service="$service"}[1m]))',
              legend: 'written {{stream}}',
            },
          ],
          'ops',
          8,
        ),
        prom(
          'Errors',
          [
            {
              expr: 'sum(rate(plantmesh_reader_dead_lettered_total{service="$service"}[5m]))',
              legend: 'dead-lettered',
            },
            { expr: 'sum(rate(plantmesh_writer_quarantined_total{service="$service"}[5m]))', legend: 'quarantined' },
            {
              expr: 'sum(increase(plantmesh_connection_losses_total{service="$service"}[5m]))',
              legend: 'connections lost',
            },
          ],
          'short',
          8,
        ),
        prom(
          'Duration',
          [
            {
              expr: 'histogram_quantile(0.99, sum by (le) (rate(plantmesh_writer_lag_seconds_bucket{service="$service"}[5m])))',
              legend: 'p99 lag to commit',
            },
            { expr: 'max(nodejs_eventloop_lag_p99_seconds{service="$service"})', legend: 'event loop lag p99' },
          ],
          's',
          8,
        ),
        prom(
          'CPU',
          [{ expr: 'sum(rate(process_cpu_seconds_total{service="$service"}[1m]))', legend: 'cores' }],
          'short',
        ),
        prom(
          'Memory',
          [{ expr: 'sum(process_resident_memory_bytes{service="$service"})', legend: 'resident' }],
          'bytes',
        ),
        logs('Logs', '{namespace=~"$namespace"} | json | service="$service"'),
      ],
      [namespace, service],
    ),
    'plantmesh-rabbitmq.json': dashboard(
      'plantmesh-rabbitmq',
      'plantmesh / RabbitMQ',
      [
        prom(
          'Messages published and delivered',
          [
            { expr: 'sum(rate(rabbitmq_global_messages_received_total[1m]))', legend: 'published' },
            { expr: 'sum(rate(rabbitmq_global_messages_confirmed_total[1m]))', legend: 'confirmed' },
            { expr: 'sum(rate(rabbitmq_global_messages_delivered_total[1m]))', legend: 'delivered' },
          ],
          'ops',
        ),
        prom('Queued messages', [
          { expr: 'sum(rabbitmq_queue_messages_ready)', legend: 'ready' },
          { expr: 'sum(rabbitmq_queue_messages_unacked)', legend: 'unacknowledged' },
        ]),
        prom('Alarms', [
          { expr: 'max(rabbitmq_alarms_memory_used_watermark)', legend: 'memory' },
          { expr: 'max(rabbitmq_alarms_free_disk_space_watermark)', legend: 'disk' },
        ]),
        prom(
          'Memory and free disk',
          [
            { expr: 'sum(rabbitmq_process_resident_memory_bytes)', legend: 'memory' },
            { expr: 'min(rabbitmq_disk_space_available_bytes)', legend: 'free disk' },
          ],
          'bytes',
        ),
        logs('RabbitMQ logs', '{namespace=~"$namespace", container="rabbitmq"}'),
      ],
      [namespace],
    ),
    'plantmesh-mqtt.json': dashboard(
      'plantmesh-mqtt',
      'plantmesh / MQTT brokers',
      [
        prom(
          'Publishes received and sent',
          [
            { expr: 'sum by (pod) (rate(mqtt_publish_received[1m]))', legend: 'received {{pod}}' },
            { expr: 'sum by (pod) (rate(mqtt_publish_sent[1m]))', legend: 'sent {{pod}}' },
          ],
          'ops',
        ),
        prom(
          'Queued messages (offline sessions)',
          [
            { expr: 'sum by (pod) (rate(queue_message_in[1m]))', legend: 'in {{pod}}' },
            { expr: 'sum by (pod) (rate(queue_message_out[1m]))', legend: 'out {{pod}}' },
            { expr: 'sum by (pod) (rate(queue_message_drop[1m]))', legend: 'dropped {{pod}}' },
          ],
          'ops',
        ),
        prom('Connected clients', [{ expr: 'sum by (pod) (socket_open - socket_close)', legend: '{{pod}}' }]),
        logs('Broker logs', '{namespace=~"$namespace", container="vernemq"}'),
      ],
      [namespace],
    ),
    'plantmesh-postgresql.json': dashboard(
      'plantmesh-postgresql',
      'plantmesh / PostgreSQL',
      [
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
        logs('PostgreSQL logs', '{namespace=~"$namespace", container="postgresql"}'),
      ],
      [namespace],
    ),
    'plantmesh-plant.json': dashboard(
      'plantmesh-plant',
      'plantmesh / Plant',
      [
        sql(
          'Latest values',
          `select s.path as series, l.value, s.unit, case l.quality when 0 then 'good' when 1 then 'uncertain' else 'bad' end as quality, l.ts as "time"
from metrics.latest l join metrics.series s on s.id = l.series_id
where s.path like '$series' order by s.path limit 200`,
          'table',
          24,
        ),
        sql(
          'Trends',
          `select date_bin('10 seconds', m.ts, timestamp '2000-01-01') as time, s.path as metric, avg(m.value) as value
from metrics.samples m join metrics.series s on s.id = m.series_id
where $__timeFilter(m.ts) and s.path like '$series' and m.series_id in (select id from metrics.series where path like '$series' order by id limit 10)
group by 1, 2 order by 1`,
          'timeseries',
          24,
        ),
        sql(
          'Recent events',
          `select stored_at as "time", payload->>'type' as type, topic, id, payload->>'heatId' as heat, payload->>'plateId' as plate
from raw.events order by seq desc limit 50`,
          'table',
          16,
        ),
        sql(
          'Events per type, last hour',
          `select payload->>'type' as type, count(*) as events from raw.events
where stored_at > now() - interval '1 hour' group by 1 order by 2 desc`,
          'barchart',
          8,
        ),
        sql(
          'Quarantined, not replayed',
          `select stage, reason, count(*) as payloads, max(quarantined_at) as last
from raw.quarantine where replayed_at is null group by 1, 2 order by 3 desc limit 20`,
          'table',
          24,
        ),
      ],
      [seriesFilter],
    ),
  };
}

/** Writes the dashboards' JSON files. */
export function writeDashboards(dir = join(import.meta.dirname, 'dashboards')): void {
  for (const [file, definition] of Object.entries(dashboards())) {
    writeFileSync(join(dir, file), `${JSON.stringify(definition, null, 2)}\n`);
  }
}

if (process.argv[1] === import.meta.filename) writeDashboards();
