import { join } from 'node:path';
import { PostgresServer, startServiceProcess } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, stores, storeUrls } from '../src/index.js';
import { captureLog } from './capture-log.js';
import { query } from './query.js';

const cli = join(import.meta.dirname, '../../cli/src/main.ts');
const expectedCount =
  loadMigrations('_common').length + stores.reduce((sum, store) => sum + loadMigrations(store).length, 0);

describe('migrations on a real PostgreSQL (native partitions)', () => {
  let server: PostgresServer;
  let db: pg.Client;

  async function createDatabase(name: string): Promise<string> {
    await db.query(`create database ${name}`);
    return server.urlFor(name);
  }

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    db = new pg.Client(server.url);
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await server?.destroy();
  });

  it('applies every store once, logs the storage path, and applies nothing the second time', async () => {
    const url = await createDatabase('twice');
    const first = captureLog();
    const result = await migrate(storeUrls({ DATABASE_URL: url }, stores), first.log);
    expect(result.applied).toHaveLength(expectedCount);
    expect(first.lines.some((line) => String(line.notice).includes('native daily range partitions'))).toBe(true);

    const second = await migrate(storeUrls({ DATABASE_URL: url }, stores), captureLog().log);
    expect(second).toEqual({ applied: [], alreadyApplied: expectedCount });

    const schemas = await query<{ nspname: string }>(url, 'select nspname from pg_namespace order by 1');
    expect(schemas.map((row) => row.nspname)).toEqual(expect.arrayContaining([...stores]));
  });

  it('runs concurrently from two processes without error, each migration applied once', async () => {
    const url = await createDatabase('concurrent');
    const runs = [1, 2].map((n) =>
      startServiceProcess({
        entry: cli,
        args: ['migrate'],
        env: { DATABASE_URL: url },
        logFile: join(server.dir, `migrate-${n}.log`),
      }),
    );
    const codes = await Promise.all(runs.map((run) => run.waitExit(60_000)));
    expect(codes, runs.map((run) => run.tail()).join('\n')).toEqual([0, 0]);
    // Both really ran: between them they applied each migration exactly once.
    const appliedByRun = runs.map((run) => {
      const done = run
        .tail(200)
        .split('\n')
        .map((line) => JSON.parse(line) as { msg?: string; applied?: number })
        .find((line) => line.msg === 'migrations done');
      return done?.applied;
    });
    expect((appliedByRun[0] ?? 0) + (appliedByRun[1] ?? 0)).toBe(expectedCount);
    const history = await query<{ n: number; distinct_n: number }>(
      url,
      'select count(*)::int as n, count(distinct (set_name, version))::int as distinct_n from plantmesh.schema_migrations',
    );
    expect(history[0]).toEqual({ n: expectedCount, distinct_n: expectedCount });
  });

  it('refuses to continue when an applied migration was changed', async () => {
    const url = await createDatabase('tampered');
    await migrate(storeUrls({ DATABASE_URL: url }, stores), captureLog().log);
    await query(
      url,
      `update plantmesh.schema_migrations set checksum = 'edited' where set_name = 'raw' and version = 1`,
    );
    await expect(migrate(storeUrls({ DATABASE_URL: url }, stores), captureLog().log)).rejects.toThrow(
      /raw\/1_events_and_quarantine was changed after it was applied/,
    );
  });

  it('puts a store in its own database when its URL says so', async () => {
    const main = await createDatabase('main_stores');
    const metricsOnly = await createDatabase('metrics_store');
    await migrate(storeUrls({ DATABASE_URL: main, METRICS_DATABASE_URL: metricsOnly }, stores), captureLog().log);
    const has = async (url: string, table: string) =>
      (await query<{ t: string | null }>(url, 'select to_regclass($1)::text as t', [table]))[0]?.t !== null;
    expect(await has(main, 'raw.events')).toBe(true);
    expect(await has(main, 'metrics.samples')).toBe(false);
    expect(await has(metricsOnly, 'metrics.samples')).toBe(true);
    expect(await has(metricsOnly, 'raw.events')).toBe(false);
  });

  it('gives the stores the behaviour the services rely on', async () => {
    const url = await createDatabase('behaviour');
    await migrate(storeUrls({ DATABASE_URL: url }, stores), captureLog().log);

    // A second copy of an event id is ignored; the same id of another JSON type is another event.
    const insertEvent = `insert into raw.events (id, id_type, topic, source, received_at, payload)
      values ($1, $2, 'plant/caster/heat', 'test', now(), '{"heat": 1}') on conflict (id, id_type) do nothing`;
    await query(url, insertEvent, ['7', 'integer']);
    await query(url, insertEvent, ['7', 'integer']);
    await query(url, insertEvent, ['7', 'string']);
    await expect(query(url, insertEvent, ['7', 'float'])).rejects.toThrow(/events_id_type/);
    expect(await query(url, 'select id, id_type from raw.events order by id_type')).toEqual([
      { id: '7', id_type: 'integer' },
      { id: '7', id_type: 'string' },
    ]);

    // A refused message is quarantined once per key.
    const quarantine = `insert into raw.quarantine (key, stage, reason, payload) values (sha256('k'), 'test', 'r', '\\x00')
      on conflict (key) do nothing`;
    await query(url, quarantine);
    await query(url, quarantine);
    expect(await query(url, 'select count(*)::int as n from raw.quarantine')).toEqual([{ n: 1 }]);

    // Samples of today land in today's partition; a sample far in the past still lands (in the default one).
    const [series] = await query<{ id: number }>(
      url,
      `insert into metrics.series (path, unit) values ('site/area/line/cell/temp', 'CEL') returning id`,
    );
    await query(url, 'insert into metrics.samples (ts, series_id, value) values (now(), $1, 21.5), ($2, $1, 1)', [
      series?.id,
      '2001-01-01T00:00:00Z',
    ]);
    const placed = await query<{ part: string }>(
      url,
      'select tableoid::regclass::text as part from metrics.samples order by ts',
    );
    expect(placed.map((row) => row.part)).toEqual([
      'metrics.samples_default',
      expect.stringMatching(/^metrics\.samples_\d{8}$/),
    ]);
    expect(await query(url, 'select metrics.create_partitions(current_date + 7) as created')).toEqual([{ created: 0 }]);
    expect(await query(url, 'select metrics.create_partitions(current_date + 9) as created')).toEqual([{ created: 2 }]);

    // The reader role reads every store and writes none.
    await query(url, `create role sdk_user login password 'sdk' in role plantmesh_reader`);
    const readerUrl = url.replace('plantmesh:plantmesh@', 'sdk_user:sdk@');
    expect(await query(readerUrl, 'select count(*)::int as n from raw.events')).toEqual([{ n: 2 }]);
    await expect(query(readerUrl, insertEvent, ['evt-2', 'string'])).rejects.toThrow(/permission denied/);
  });
});
