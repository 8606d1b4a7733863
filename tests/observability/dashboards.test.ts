import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser as logql } from '@grafana/lezer-logql';
import { createUser } from '@plantmesh/schema';
import { Simulator } from '@plantmesh/simulator';
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
  datasource: { type: string };
  targets: Array<{ expr?: string; rawSql?: string }>;
}
interface DashboardJson {
  title: string;
  panels: PanelJson[];
}

const committed = Object.keys(dashboards()).map((file) => ({
  file,
  json: JSON.parse(readFileSync(join(root, 'grafana/dashboards', file), 'utf8')) as DashboardJson,
}));
const queries = (type: string) =>
  committed.flatMap(({ json }) =>
    json.panels
      .filter((panel) => panel.datasource.type === type)
      .flatMap((panel) => panel.targets.map((target) => ({ dashboard: json.title, panel: panel.title, target }))),
  );

// Grafana variables and macros as a user would have them set (the service dashboard, for each service).
const promql = (expr: string, service: string) => expr.replaceAll('$service', service).replaceAll('$namespace', '.*');
const sqlText = (sql: string) =>
  sql.replace(/\$__timeFilter\(([^)]+)\)/g, "$1 > now() - interval '1 hour'").replaceAll('$series', '%');

describe('dashboards and alerts against the real platform', () => {
  let platform: IngestPlatform;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    const rabbitmqPrometheusPort = await freePort();
    platform = await IngestPlatform.start({ rabbitmqPrometheusPort });
    const services = [
      await platform.startWriter(),
      await platform.startEventsReader(),
      await platform.startSensorsReader(),
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
      series: 200,
      sensorQos: 0,
      eventQos: 1,
      seed: 31,
      site: 'plant1',
    }).run();
    // Rates need two scrapes of each target (staggered, and slow on a busy machine); RabbitMQ's
    // endpoint comes up a little after the broker.
    for (const expression of [
      'count(count_over_time(up[1m]) >= 2) == 4',
      'sum(rate(plantmesh_writer_rows_total[1m])) > 0',
      'sum(rate(rabbitmq_global_messages_received_total[1m]))',
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
    // With no VerneMQ here (Mosquitto has no metrics) and nothing refused, only these may be empty.
    const mayBeEmpty = /MQTT brokers|Dead letters|dead_lettered|quarantined|Retries|connections lost|Alarms/;
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

  it('every SQL of the PostgreSQL and plant dashboards runs as a reader login, and the plant panels show the data', async () => {
    // As Grafana's datasource does: a login made by `plantmesh users create grafana --role reader`.
    const admin = new pg.Client(platform.postgres.url);
    await admin.connect();
    const password = await createUser(admin, 'grafana', 'reader');
    await admin.end();
    const grafana = new pg.Client(platform.postgres.url.replace('plantmesh:plantmesh@', `grafana:${password}@`));
    await grafana.connect();
    const rowsByPanel = new Map<string, number>();
    try {
      for (const { dashboard, panel, target } of queries('grafana-postgresql-datasource')) {
        const { rows } = await grafana.query(sqlText(target.rawSql as string));
        rowsByPanel.set(`${dashboard} / ${panel}`, rows.length);
      }
    } finally {
      await grafana.end();
    }
    expect(rowsByPanel.get('plantmesh / Plant / Latest values')).toBeGreaterThan(0);
    expect(rowsByPanel.get('plantmesh / Plant / Trends')).toBeGreaterThan(0);
    expect(rowsByPanel.get('plantmesh / Plant / Recent events')).toBe(50);
    expect(rowsByPanel.get('plantmesh / PostgreSQL / Size of the stores')).toBeGreaterThan(1);
  });
});
