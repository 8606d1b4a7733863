import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seriesObjectId } from '@plantmesh/information-model';
import { isPortOpen, type ManagedProcess, startServiceProcess, waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { localPorts } from '../src/ports.js';

const cli = join(import.meta.dirname, '../src/main.ts');

/**
 * A base port whose block of ports is free now: between the test workers' ports (below 30000) and the
 * range the kernel gives outgoing connections (32768 and up), where a port that nothing listens on may
 * still be taken.
 */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 30_000 + Math.floor(Math.random() * 2_700);
    const ports = Array.from({ length: 20 }, (_, offset) => base + offset);
    const open = await Promise.all(ports.map(isPortOpen));
    if (!open.includes(true)) return base;
  }
}

describe('plantmesh up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-up-'));
  let running: ManagedProcess | undefined;

  afterAll(async () => {
    // Ctrl-C, as a user would (SIGKILL only if it does not stop): a killed `up` leaves its children running.
    await running?.stop('SIGINT', 60_000);
    rmSync(dir, { recursive: true, force: true });
  });

  async function upUntilReady(base: number): Promise<{ platform: ManagedProcess; output: string[] }> {
    const output: string[] = [];
    const platform = startServiceProcess({
      entry: cli,
      args: ['up', '--dir', dir, '--ports-from', String(base), '--observe'],
      env: {},
      logFile: join(dir, `up-${Date.now()}.log`),
      onLine: (line) => output.push(line),
    });
    running = platform;
    await waitFor('plantmesh is up', async () => output.includes('Press Ctrl-C to stop.') || !platform.alive, 120_000);
    expect(platform.alive, output.join('\n')).toBe(true);
    return { platform, output };
  }

  it('starts the servers with migrated stores, prints where they are, and stops cleanly on Ctrl-C', async () => {
    const base = await freeBase();
    const ports = localPorts(base);
    const { platform, output } = await upUntilReady(base);
    const postgresUrl = `postgres://plantmesh:plantmesh@127.0.0.1:${ports.postgres}/plantmesh`;
    expect(output).toContain('plantmesh is up:');
    expect(output.join('\n')).toContain(postgresUrl);
    expect(output.join('\n')).toContain(`mqtt://127.0.0.1:${ports.mqttEvents}`);
    expect(output.join('\n')).toContain(`mqtt://127.0.0.1:${ports.mqttSensors}`);

    const client = new pg.Client(postgresUrl);
    await client.connect();
    const count = async (sql: string) => (await client.query(sql)).rows[0].n as number;
    expect(await count('select count(*)::int as n from plantmesh.schema_migrations')).toBeGreaterThan(6);
    // The simulator feeds both readers; events and samples reach PostgreSQL through the writer.
    await waitFor('events and samples stored', async () => {
      const events = await count('select count(*)::int as n from raw.events');
      const latest = await count('select count(*)::int as n from metrics.latest');
      return events > 0 && latest > 0;
    });
    // Each service as itself: the writer's own PostgreSQL login, each service's own RabbitMQ user.
    const logins = await client.query(
      `select distinct usename from pg_stat_activity where application_name = 'amqp-writer'`,
    );
    expect(logins.rows).toEqual([{ usename: 'plantmesh_amqp_writer' }]);
    // The curated ETL refines the simulated plant's events into the shipped data products, as itself.
    await waitFor('curated rows', async () => {
      const curated = await count(
        `select (select count(*) from curated.heats) + (select count(*) from curated.slabs)
           + (select count(*) from curated.plates) + (select count(*) from curated.quench_results) as n`,
      );
      return Number(curated) > 0;
    });
    const etl = await client.query(
      `select distinct usename from pg_stat_activity where application_name = 'etl-curated'`,
    );
    expect(etl.rows).toEqual([{ usename: 'plantmesh_etl_curated' }]);
    // And the business ETL computes the shipped KPIs from them, as itself.
    await waitFor('KPI rows', async () => Number(await count('select count(*) as n from business.heat_yield')) > 0);
    const kpis = await client.query(
      `select distinct usename from pg_stat_activity where application_name = 'etl-business'`,
    );
    expect(kpis.rows).toEqual([{ usename: 'plantmesh_etl_business' }]);
    await client.end();
    expect(output.join('\n')).toMatch(/amqp-writer logs in as postgres:\/\/plantmesh_amqp_writer:[\w-]+@/);
    expect(output.join('\n')).toMatch(/user plantmesh-reader password [\w-]+ \(reads #\)/);
    const brokerUsers = async () => {
      const response = await fetch(`http://127.0.0.1:${ports.rabbitmqManagement}/api/connections`, {
        headers: { authorization: `Basic ${Buffer.from('plantmesh:plantmesh').toString('base64')}` },
      });
      const connections = (await response.json()) as Array<{ user: string }>;
      return [...new Set(connections.map((connection) => connection.user))].sort().join(' ');
    };
    await waitFor(
      'each service connected to RabbitMQ as its own user',
      async () =>
        (await brokerUsers()) ===
        'plantmesh-amqp-writer plantmesh-catalog plantmesh-events-reader plantmesh-i3x-api plantmesh-sensors-reader',
    );
    // The I3X API serves subscriptions, fed by the live stream: with the printed key, a subscription to a
    // simulated series gets its new samples through /sync.
    const apiKey = output.join('\n').match(/key (pmk_[\w-]{43})/)?.[1] as string;
    expect(apiKey).toBeDefined();
    const i3x = async (route: string, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${ports.i3xApi}/v1${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: read freely
      return (await response.json()) as any;
    };
    const seriesClient = new pg.Client(postgresUrl);
    await seriesClient.connect();
    const path = (await seriesClient.query('select path from metrics.series order by id limit 1')).rows[0].path;
    await seriesClient.end();
    const { subscriptionId } = (await i3x('/subscriptions', { clientId: 'up-test' })).result;
    await waitFor('the series registered (once the model has it)', async () => {
      const registered = await i3x('/subscriptions/register', {
        clientId: 'up-test',
        subscriptionId,
        elementIds: [seriesObjectId(path)],
      });
      return registered.success === true;
    });
    await waitFor('live updates through /sync', async () => {
      const synced = await i3x('/subscriptions/sync', { clientId: 'up-test', subscriptionId });
      return (synced.result ?? []).some((batch: { updates: unknown[] }) => batch.updates.length > 0);
    });
    for (const name of ['amqp-writer', 'events-reader', 'sensors-reader', 'etl-curated', 'etl-business']) {
      expect(output.some((line) => line.startsWith(`[${name}]`) && line.includes(' started'))).toBe(true);
    }
    // The catalog lists what the platform holds, and its login is its own.
    expect(output.join('\n')).toContain(`http://127.0.0.1:${ports.catalog}/v1/products`);
    await waitFor(
      'the catalog lists the curated and KPI products',
      async () => {
        const response = await fetch(`http://127.0.0.1:${ports.catalog}/v1/products?limit=1000`).catch(() => undefined);
        if (response?.status !== 200) return false;
        const names = ((await response.json()) as { products: Array<{ name: string }> }).products.map((p) => p.name);
        return ['heats', 'heat_yield', 'raw-events'].every((name) => names.includes(name));
      },
      60_000,
    );
    const catalogLogin = new pg.Client(postgresUrl);
    await catalogLogin.connect();
    expect(
      (await catalogLogin.query(`select distinct usename from pg_stat_activity where application_name = 'catalog'`))
        .rows,
    ).toEqual([{ usename: 'plantmesh_catalog' }]);
    // Its registration events (the products discovery found) went out on plantmesh.catalog: none left waiting.
    await waitFor('the catalog published its events', async () => {
      const { rows } = await catalogLogin.query<{ n: number; last: number }>(
        'select (select count(*)::int from catalog.event_outbox) as n, (select last::int from catalog.event_sequence) as last',
      );
      return rows[0]?.n === 0 && (rows[0]?.last ?? 0) > 0;
    });
    await catalogLogin.end();
    const management = await fetch(`http://127.0.0.1:${ports.rabbitmqManagement}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from('plantmesh:plantmesh').toString('base64')}` },
    });
    expect(management.status).toBe(200);
    // Prometheus scrapes the services and loaded the chart's alert rules.
    const prometheus = `http://127.0.0.1:${ports.prometheus}`;
    await waitFor('prometheus scraping the services', async () => {
      const body = (await (await fetch(`${prometheus}/api/v1/query?query=up`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      return body.data.result.length >= 6 && body.data.result.every((r) => r.value[1] === '1');
    });
    const rules = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as { data: { groups: unknown[] } };
    const groups = readFileSync(join(import.meta.dirname, '../../../charts/plantmesh/files/alerts.yaml'), 'utf8').match(
      /^ {2}- name: /gm,
    );
    expect(rules.data.groups).toHaveLength(groups?.length ?? 0);

    platform.signal('SIGINT');
    expect(await platform.waitExit(60_000)).toBe(0);
    expect(output.at(-1)).toBe('stopped');
    for (const port of [ports.postgres, ports.amqp, ports.mqttEvents, ports.mqttSensors, ports.prometheus]) {
      expect(await isPortOpen(port)).toBe(false);
    }

    // The data stays: a second start finds the stores migrated.
    const again = await upUntilReady(base);
    expect(again.output.join('\n')).toMatch(/migrations: 0 applied, \d+ already in place/);
    again.platform.signal('SIGINT');
    expect(await again.platform.waitExit(60_000)).toBe(0);
  });
});
