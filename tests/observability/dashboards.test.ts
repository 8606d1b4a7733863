import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser as logql } from '@grafana/lezer-logql';
import { shippedKpis } from '@plantmesh/etl-business';
import { shippedDefinitions } from '@plantmesh/etl-curated';
import { createUser } from '@plantmesh/schema';
import { EventGenerator, type PlantEvent, Simulator } from '@plantmesh/simulator';
import { freePort, PrometheusServer, waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboards } from '../../grafana/dashboards.js';
import { IngestPlatform } from '../support/ingest-platform.js';

const root = join(import.meta.dirname, '../..');
const alertsFile = join(root, 'charts/plantmesh/files/alerts.yaml');

interface PanelJson {
  title: string;
  /** None on a row header. */
  datasource?: { type: string };
  targets?: Array<{ expr?: string; rawSql?: string }>;
}
interface DashboardJson {
  title: string;
  time: { from: string };
  panels: PanelJson[];
}

const committed = Object.keys(dashboards()).map((file) => ({
  file,
  json: JSON.parse(readFileSync(join(root, 'grafana/dashboards', file), 'utf8')) as DashboardJson,
}));
const queries = (type: string) =>
  committed.flatMap(({ json }) =>
    json.panels
      .filter((panel) => panel.datasource?.type === type)
      .flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ dashboard: json.title, json, panel: panel.title, target })),
      ),
  );

// Grafana variables and macros as a user would have them set (the service dashboard, for each service),
// over the dashboard's own time range (now-1h, now-7d: from then to now).
const promql = (expr: string, service: string) => expr.replaceAll('$service', service).replaceAll('$namespace', '.*');
const units: Record<string, string> = { m: 'minutes', h: 'hours', d: 'days', w: 'weeks' };
function sqlText(sql: string, { time }: DashboardJson): string {
  const [, amount, unit] = /^now-(\d+)([mhdw])$/.exec(time.from) ?? [];
  const from = `(now() - interval '${amount} ${units[unit as string]}')`;
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 between ${from} and now()`)
    .replaceAll('$__timeFrom()', from)
    .replaceAll('$__timeTo()', 'now()')
    .replaceAll('$series', '%');
}

/** A folder with the shipped definitions and a file that is refused (for the panels of refused files). */
function definitionsWithRefusedFile(shipped: string, kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-dashboards-'));
  cpSync(shipped, dir, { recursive: true });
  writeFileSync(join(dir, 'refused.yaml'), `apiVersion: plantmesh.dev/v1\nkind: ${kind}\n`);
  return dir;
}

describe('dashboards and alerts against the real platform', () => {
  let platform: IngestPlatform;
  let prometheus: PrometheusServer;
  const folders: string[] = [];

  beforeAll(async () => {
    const rabbitmqPrometheusPort = await freePort();
    platform = await IngestPlatform.start({ rabbitmqPrometheusPort });
    // For the KPI dashboard: the last ten hours of the simulated plant in raw.events, an event a minute
    // (a site and seed of their own, apart from the simulator's below), and two heats the heats
    // definition refuses (a cast weight over 400 t), which the curated ETL quarantines.
    const generator = new EventGenerator(42, 'plant2');
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 600 * 60_000;
    const events: PlantEvent[] = [];
    for (let minute = 0; minute < 600; minute += 1) events.push(generator.next(start + minute * 60_000));
    const refused = events
      .filter((event) => event.payload.type === 'heat.finished')
      .slice(0, 2)
      .map((event, index) => ({ ...event, payload: { ...event.payload, id: `refused-${index}`, castWeight_t: 900 } }));
    await platform.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select e -> 'payload' ->> 'id', 'string', e ->> 'topic', 'events', now(), e -> 'payload'
       from jsonb_array_elements($1::jsonb) as e`,
      [JSON.stringify([...events, ...refused])],
    );
    // The ETLs as real services (their metrics scraped), each with its shipped definitions and one file
    // it refuses.
    folders.push(definitionsWithRefusedFile(shippedDefinitions, 'CuratedDefinition'));
    folders.push(definitionsWithRefusedFile(shippedKpis, 'KpiDefinition'));
    const services = [
      await platform.startWriter(),
      await platform.startEventsReader(),
      await platform.startSensorsReader(),
      await platform.startCuratedEtl({ DEFINITIONS_DIR: folders[0] as string }),
      await platform.startBusinessEtl({ KPI_DEFINITIONS_DIR: folders[1] as string }),
    ];
    prometheus = await (
      await PrometheusServer.create({
        targets: [
          ...services.map((service) => ({ address: `127.0.0.1:${service.opsPort}` })),
          { address: `127.0.0.1:${rabbitmqPrometheusPort}` },
        ],
        ruleFiles: [alertsFile],
        scrapeInterval: '1s',
      })
    ).start();
    // Load: both streams for a few seconds.
    await new Simulator({
      eventsUrl: platform.publisherUrl('events'),
      sensorsUrl: platform.publisherUrl('sensors'),
      eventsPerSecond: 500,
      samplesPerSecond: 5_000,
      samplesPerMessage: 10,
      maxEvents: 3_000,
      maxSamples: 30_000,
      meterIntervalMs: 1_000,
      series: 200,
      sensorQos: 0,
      eventQos: 1,
      seed: 31,
      site: 'plant1',
    }).run();
    // Rates need two scrapes of each target (staggered, and slow on a busy machine); RabbitMQ's
    // endpoint comes up a little after the broker.
    // The ETLs take their events, quarantine the refused ones and compute every KPI's windows.
    const kpiTables = [
      'iso22400_quench_line_per_shift',
      'heat_yield',
      'tonnage_cast_per_shift',
      'quench_temperature_deviation_per_hour',
      'energy_per_tonne_per_shift',
      'iso22400_energy_quench_line_per_shift',
    ];
    await waitFor(
      'every KPI table filled, the refused heats quarantined',
      async () => {
        if ((await platform.count('select count(*) as n from business.kpi_definitions')) < 7) return false;
        for (const table of kpiTables) {
          if ((await platform.count(`select count(*) as n from business.${table}`)) === 0) return false;
        }
        return (await platform.count("select count(*) as n from raw.quarantine where stage = 'etl-curated'")) >= 2;
      },
      120_000,
    );
    for (const expression of [
      `count(count_over_time(up[1m]) >= 2) == ${services.length + 1}`,
      'sum(rate(plantmesh_writer_rows_total[1m])) > 0',
      'sum(rate(rabbitmq_global_messages_received_total[1m]))',
      'sum(rate(plantmesh_etl_events_total{outcome="quarantined"}[5m]))',
      'sum(rate(plantmesh_kpi_recompute_seconds_count[5m]))',
      'sum(rate(plantmesh_kpi_freshness_seconds_count[5m]))',
      'sum(plantmesh_kpi_windows_pending)',
    ]) {
      await waitFor(
        `prometheus: ${expression}`,
        async () => ((await prometheus.query(expression)).data?.result.length ?? 0) > 0,
      );
    }
  });

  afterAll(async () => {
    await prometheus?.destroy();
    await platform?.stop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('are the JSON that grafana/dashboards.ts generates', () => {
    for (const { file, json } of committed) expect(json, file).toEqual(dashboards()[file]);
  });

  it('every PromQL of every panel and alert is a valid query, and the pipeline panels show data', async () => {
    const empty: string[] = [];
    for (const { dashboard, panel, target } of queries('prometheus')) {
      let found = 0;
      for (const service of ['amqp-writer', 'mqtt-reader']) {
        const result = await prometheus.query(promql(target.expr as string, service));
        expect(result.status, `${dashboard} / ${panel}: ${target.expr} ${result.error ?? ''}`).toBe('success');
        found += result.data?.result.length ?? 0;
      }
      if (found === 0) empty.push(`${dashboard} / ${panel}: ${target.expr}`);
    }
    const alerts = parse(readFileSync(alertsFile, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    for (const rule of alerts.groups.flatMap((group) => group.rules)) {
      const result = await prometheus.query(rule.expr);
      expect(result.status, `${rule.alert}: ${result.error ?? ''}`).toBe('success');
    }
    // With no VerneMQ here (Mosquitto has no metrics) and nothing refused or retried by the pipeline, only
    // these may be empty.
    const mayBeEmpty =
      /MQTT brokers|Dead letters|dead_lettered|quarantined|Retries|retries_total|connections lost|Alarms/;
    expect(empty.filter((line) => !mayBeEmpty.test(line))).toEqual([]);
  });

  it("every LogQL of every log panel parses with Grafana's LogQL grammar", () => {
    const targets = queries('loki');
    expect(targets.length).toBeGreaterThan(4);
    for (const { dashboard, panel, target } of targets) {
      let broken = false;
      logql.parse(target.expr as string).iterate({
        enter: (node) => {
          if (node.type.isError) broken = true;
        },
      });
      expect(broken, `${dashboard} / ${panel}: ${target.expr}`).toBe(false);
    }
  });

  it('every SQL of the PostgreSQL, plant and KPI dashboards runs as a reader login, and the plant and KPI panels show the data', async () => {
    // As Grafana's datasource does: a login made by `plantmesh users create grafana --role reader`.
    const admin = new pg.Client(platform.postgres.url);
    await admin.connect();
    const password = await createUser(admin, 'grafana', 'reader');
    await admin.end();
    const grafana = new pg.Client(platform.postgres.url.replace('plantmesh:plantmesh@', `grafana:${password}@`));
    await grafana.connect();
    const rowsByPanel = new Map<string, number>();
    try {
      for (const { dashboard, json, panel, target } of queries('grafana-postgresql-datasource')) {
        const { rows } = await grafana.query(sqlText(target.rawSql as string, json));
        rowsByPanel.set(`${dashboard} / ${panel}`, rows.length);
      }
    } finally {
      await grafana.end();
    }
    expect(rowsByPanel.get('plantmesh / Plant / Latest values')).toBeGreaterThan(0);
    expect(rowsByPanel.get('plantmesh / Plant / Trends')).toBeGreaterThan(0);
    expect(rowsByPanel.get('plantmesh / Plant / Recent events')).toBe(50);
    expect(rowsByPanel.get('plantmesh / PostgreSQL / Size of the stores')).toBeGreaterThan(1);
    const kpiPanels = [...rowsByPanel].filter(([panel]) => panel.startsWith('plantmesh / Plant KPIs / '));
    expect(kpiPanels.length).toBe(10);
    for (const [panel, rows] of kpiPanels) expect(rows, panel).toBeGreaterThan(0);
    expect(rowsByPanel.get('plantmesh / Plant KPIs / OEE and its factors, latest shift')).toBe(1);
  });
});
