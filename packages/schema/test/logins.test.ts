import { join } from 'node:path';
import { PostgresServer, startServiceProcess } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePassword, migrate, serviceUrl, stores, storeUrls } from '../src/index.js';
import { captureLog } from './capture-log.js';
import { query } from './query.js';

const cli = join(import.meta.dirname, '../../cli/src/main.ts');

describe('PostgreSQL logins: each service and each user with the least it needs (real PostgreSQL)', () => {
  let server: PostgresServer;
  const writerPassword = generatePassword();

  async function plantmesh(args: string[]): Promise<{ code: number | null; output: string }> {
    const child = startServiceProcess({
      entry: cli,
      args,
      env: { DATABASE_URL: server.url },
      logFile: join(server.dir, `cli-${args.join('-')}.log`),
    });
    const code = await child.waitExit(30_000);
    return { code, output: child.tail(20) };
  }

  beforeAll(async () => {
    server = await PostgresServer.create().then((s) => s.start());
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), captureLog().log, { 'amqp-writer': writerPassword });
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('the writer logs in as itself, writes raw events, samples and the quarantine, and is refused the rest', async () => {
    const writer = serviceUrl(server.url, 'amqp-writer', writerPassword);
    const [who] = await query<{ user: string; superuser: string }>(
      writer,
      `select current_user as user, current_setting('is_superuser') as superuser`,
    );
    expect(who).toEqual({ user: 'plantmesh_amqp_writer', superuser: 'off' });
    await query(
      writer,
      `insert into raw.events (id, topic, source, received_at, payload) values ('w1', 't', 's', now(), '{}')
       on conflict (id, id_type) do nothing`,
    );
    await query(
      writer,
      `insert into raw.quarantine (key, stage, reason, payload) values (sha256('w'), 'test', 'r', '\\x00')`,
    );
    await query(writer, `insert into metrics.series (path) values ('a/b/c/d/e')`);
    await query(writer, 'select metrics.create_partitions(current_date + 1)');
    const refused = [
      'alter table raw.events add column x int',
      'drop table metrics.samples',
      'delete from raw.events',
      'update raw.events set topic = $$x$$',
      'truncate metrics.latest',
      'create table raw.mine (x int)',
      'create role intruder',
    ];
    for (const sql of refused) {
      await expect(query(writer, sql), sql).rejects.toThrow(/permission denied|must be owner|must be the owner/);
    }
    // A wrong password is refused, as it should be, with PostgreSQL's own message.
    await expect(query(serviceUrl(server.url, 'amqp-writer', 'not-the-password'), 'select 1')).rejects.toThrow(
      /password authentication failed for user "plantmesh_amqp_writer"/,
    );
  });

  it('migrating again keeps the login and sets a rotated password', async () => {
    const rotated = generatePassword();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), captureLog().log, { 'amqp-writer': rotated });
    await expect(query(serviceUrl(server.url, 'amqp-writer', writerPassword), 'select 1')).rejects.toThrow(
      /password authentication failed/,
    );
    expect(await query(serviceUrl(server.url, 'amqp-writer', rotated), 'select 1 as ok')).toEqual([{ ok: 1 }]);
  });

  it('plantmesh users: create, connect, rotate (the old password stops working), drop', async () => {
    const created = await plantmesh(['users', 'create', 'quality_model', '--role', 'results-writer']);
    expect(created.code, created.output).toBe(0);
    const password = created.output.trim().split('\n').at(-1) as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const url = (secret: string) => server.url.replace('plantmesh:plantmesh@', `quality_model:${secret}@`);
    await query(
      url(password),
      `insert into raw.events (id, topic, source, received_at, payload) values ('m1', 'models/quality', 'model', now(), '{"ok":true}')`,
    );
    expect(await query(url(password), 'select count(*)::int as n from metrics.series')).toEqual([{ n: 1 }]);
    await expect(query(url(password), 'delete from raw.events')).rejects.toThrow(/permission denied/);

    const reader = await plantmesh(['users', 'create', 'grafana', '--role', 'reader']);
    const readerPassword = reader.output.trim().split('\n').at(-1) as string;
    const readerUrl = server.url.replace('plantmesh:plantmesh@', `grafana:${readerPassword}@`);
    expect(await query(readerUrl, 'select count(*)::int as n from raw.events')).toEqual([{ n: 2 }]);
    await expect(
      query(
        readerUrl,
        `insert into raw.events (id, topic, source, received_at, payload) values ('g', 't', 's', now(), '{}')`,
      ),
    ).rejects.toThrow(/permission denied for table events/);

    const listed = await plantmesh(['users', 'list']);
    expect(listed.output).toMatch(/^grafana\treader\tpassword set \d{4}-/m);
    expect(listed.output).toMatch(/^quality_model\tresults-writer\tpassword set /m);
    expect(listed.output).toMatch(/^2 user\(s\)$/m);

    const rotated = await plantmesh(['users', 'rotate', 'quality_model']);
    expect(rotated.code, rotated.output).toBe(0);
    const newPassword = rotated.output.trim().split('\n').at(-1) as string;
    await expect(query(url(password), 'select 1')).rejects.toThrow(/password authentication failed/);
    expect(await query(url(newPassword), 'select 1 as ok')).toEqual([{ ok: 1 }]);

    expect((await plantmesh(['users', 'drop', 'quality_model'])).code).toBe(0);
    await expect(query(url(newPassword), 'select 1')).rejects.toThrow(/password authentication failed|does not exist/);

    // The platform's own roles and bad names are not a user's to take or drop.
    const reserved = await plantmesh(['users', 'drop', 'plantmesh_amqp_writer']);
    expect(reserved).toMatchObject({ code: 1 });
    expect(reserved.output).toMatch(/no plantmesh user named "plantmesh_amqp_writer"/);
    expect((await plantmesh(['users', 'create', 'plantmesh_x', '--role', 'reader'])).output).toMatch(/reserved/);
    expect((await plantmesh(['users', 'create', 'Bad-Name', '--role', 'reader'])).output).toMatch(/lower-case letters/);
    expect((await plantmesh(['users', 'create', 'someone', '--role', 'admin'])).output).toMatch(
      /--role must be one of reader, results-writer/,
    );
  });
});
