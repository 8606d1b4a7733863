/**
 * The i3x-api service as a process: environment configuration, the ops port (/healthz, /readyz, /metrics),
 * the I3X port, the model kept in step with new series, a clean SIGTERM; logged in with the model writer's
 * grants only (plantmesh_model_writer, which reads what plantmesh_reader reads).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { freePort, type ManagedProcess, PostgresServer, startServiceProcess, waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('i3x-api as a service process (real PostgreSQL)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let service: ManagedProcess;
  let opsPort: number;
  let apiPort: number;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on('error', () => {});
    await admin.query(`create role i3x_api_test login password 'i3x-api-test-password'`);
    await admin.query('grant plantmesh_model_writer to i3x_api_test');
    const url = new URL(server.url);
    url.username = 'i3x_api_test';
    url.password = 'i3x-api-test-password';
    opsPort = await freePort();
    apiPort = await freePort();
    service = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: url.toString(),
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        I3X_HOST: '127.0.0.1',
        I3X_PORT: String(apiPort),
        MODEL_SYNC_MS: '200',
        LOG_LEVEL: 'info',
      },
      logFile: join(server.dir, 'i3x-api.log'),
    });
  });

  afterAll(async () => {
    if (service?.alive) await service.stop('SIGKILL');
    await admin?.end();
    await server?.stop();
  });

  it('becomes ready, serves /v1/info and the model, keeps it in step with new series, and stops cleanly on SIGTERM', async () => {
    await waitFor(
      'i3x-api ready',
      async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200,
      60_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n${service.tail()}`);
    });
    expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
    const info = await fetch(`http://127.0.0.1:${apiPort}/v1/info`, { headers: { accept: 'application/json' } });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { result: { specVersion: string } }).result.specVersion).toBe('1.0');

    // A series the writer registers now becomes an object within a sync round or two.
    await admin.query(`insert into metrics.series (path, unit) values ('plant9/area/line/cell/temperature', 'CEL')`);
    const id = seriesObjectId('plant9/area/line/cell/temperature');
    await waitFor(
      'the new series as an object',
      async () => {
        const answer = await fetch(`http://127.0.0.1:${apiPort}/v1/objects/list`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ elementIds: [id] }),
        });
        return ((await answer.json()) as { success: boolean }).success;
      },
      20_000,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_i3x_request_seconds_count\{[^}]*route="\/v1\/objects\/list"[^}]*\} \d+/);
    expect(await service.stop('SIGTERM')).toBe(0);
  });
});
