/**
 * The i3x-api service as a process: environment configuration, the ops port (/healthz, /readyz, /metrics),
 * HTTPS with a certificate of a test CA (reloaded when renewed), a key made by `plantmesh keys create` and
 * revoked by `plantmesh keys revoke`, the model kept in step with new series, a clean SIGTERM; logged in
 * with the grants it is given in production only (plantmesh_model_writer, plantmesh_metrics_editor,
 * plantmesh_i3x_server): a value written with a write key is stored and audited.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@plantmesh/core';
import { seriesObjectId } from '@plantmesh/information-model';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import {
  freePort,
  type ManagedProcess,
  PostgresServer,
  startServiceProcess,
  TestCa,
  type TlsFiles,
  waitFor,
} from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const cli = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));

describe('i3x-api as a service process (real PostgreSQL, HTTPS)', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let service: ManagedProcess;
  let opsPort: number;
  let apiPort: number;
  let serviceUrl: string;
  let ca: TestCa;
  let tls: TlsFiles;

  /** A `plantmesh` command as a process: its exit code and what it printed. */
  async function plantmesh(args: string[]): Promise<{ code: number | null; lines: string[] }> {
    const lines: string[] = [];
    const command = startServiceProcess({
      entry: cli,
      args,
      env: { DATABASE_URL: server.url },
      logFile: join(server.dir, `cli-${Date.now()}.log`),
      onLine: (line) => lines.push(line),
    });
    const code = await command.waitExit(60_000);
    return { code, lines };
  }

  /** An HTTPS request that trusts the test CA only. */
  function call(
    path: string,
    options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<{ status: number; body: { success: boolean; [key: string]: unknown } }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: apiPort,
          path: `/v1${path}`,
          method: options.method ?? 'GET',
          ca: readFileSync(tls.ca),
          headers: { accept: 'application/json', 'content-type': 'application/json', ...options.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode as number, body: JSON.parse(Buffer.concat(chunks).toString()) }),
          );
        },
      );
      req.on('error', reject);
      req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
    });
  }

  /** The serial number of the certificate the API presents now. */
  function servedSerial(): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        { host: '127.0.0.1', port: apiPort, ca: readFileSync(tls.ca), servername: 'localhost' },
        () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.end();
        },
      );
      socket.on('error', reject);
    });
  }

  const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on('error', () => {});
    await admin.query(`create role i3x_api_test login password 'i3x-api-test-password'`);
    await admin.query('grant plantmesh_model_writer, plantmesh_metrics_editor, plantmesh_i3x_server to i3x_api_test');
    const url = new URL(server.url);
    url.username = 'i3x_api_test';
    url.password = 'i3x-api-test-password';
    serviceUrl = url.toString();
    opsPort = await freePort();
    apiPort = await freePort();
    ca = TestCa.create();
    tls = ca.issue(['127.0.0.1', 'localhost']);
  });

  afterAll(async () => {
    if (service?.alive) await service.stop('SIGKILL');
    await admin?.end();
    await server?.destroy();
  });

  it('refuses to start without a certificate unless plain HTTP is asked for, naming the variables', async () => {
    const lines: string[] = [];
    const refused = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: serviceUrl,
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(await freePort()),
        I3X_PORT: String(await freePort()),
      },
      logFile: join(server.dir, 'i3x-api-refused.log'),
      onLine: (line) => lines.push(line),
    });
    expect(await refused.waitExit(60_000)).toBe(2);
    expect(lines.join('\n')).toMatch(/TLS_CERT_FILE and TLS_KEY_FILE are required .* or ALLOW_PLAIN_HTTP=true/);
  });

  it('makes, lists and checks keys with plantmesh keys', async () => {
    const bad = await plantmesh(['keys', 'create', 'ops', '--scopes', 'read,admin']);
    expect(bad.code).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/unknown scope "admin"/);
    const made = await plantmesh(['keys', 'create', 'ops', '--scopes', 'read']);
    expect(made.code, made.lines.join('\n')).toBe(0);
    expect(made.lines.some((line) => /^pmk_[\w-]{43}$/.test(line))).toBe(true);
    const again = await plantmesh(['keys', 'create', 'ops', '--scopes', 'read']);
    expect(again.code).toBe(1);
    expect(again.lines.join('\n')).toMatch(/a key named ops exists/);
    const listed = await plantmesh(['keys', 'list']);
    expect(listed.lines).toContainEqual(expect.stringMatching(/^ops\tpmk_\S{4}\.\.\.\tread\tcreated /));
    expect(listed.lines.at(-1)).toBe('1 key(s)');
  });

  it('serves HTTPS with its certificate, a CLI-made key, the model in step with new series, a renewed certificate and a revoked key, and stops cleanly on SIGTERM', async () => {
    const key = (await plantmesh(['keys', 'create', 'service', '--scopes', 'read'])).lines.find((line) =>
      line.startsWith('pmk_'),
    ) as string;
    service = startServiceProcess({
      entry,
      env: {
        DATABASE_URL: serviceUrl,
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        I3X_HOST: '127.0.0.1',
        I3X_PORT: String(apiPort),
        TLS_CERT_FILE: tls.cert,
        TLS_KEY_FILE: tls.key,
        TLS_RELOAD_MS: '1000',
        MODEL_SYNC_MS: '200',
        LOG_LEVEL: 'info',
      },
      logFile: join(server.dir, 'i3x-api.log'),
    });
    await waitFor(
      'i3x-api ready',
      async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200,
      60_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n${service.tail()}`);
    });
    expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
    const info = await call('/info');
    expect(info.status).toBe(200);
    expect((info.body as unknown as { result: { specVersion: string } }).result.specVersion).toBe('1.0');
    // Plain HTTP on the API port gets nothing.
    await expect(fetch(`http://127.0.0.1:${apiPort}/v1/info`)).rejects.toThrow();
    expect((await call('/namespaces')).status).toBe(401);

    // A series the writer registers now becomes an object within a sync round or two.
    await admin.query(`insert into metrics.series (path, unit) values ('plant9/area/line/cell/temperature', 'CEL')`);
    const id = seriesObjectId('plant9/area/line/cell/temperature');
    const list = () =>
      call('/objects/list', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: { elementIds: [id] },
      });
    await waitFor('the new series as an object', async () => (await list()).body.success, 20_000);
    // With a write key, a value is written through the production grants and audited.
    const writeKey = (await plantmesh(['keys', 'create', 'writer', '--scopes', 'read,write'])).lines.find((line) =>
      line.startsWith('pmk_'),
    ) as string;
    const at = new Date(Math.floor(Date.now() / 1_000) * 1_000 - 1_000).toISOString().replace('.000Z', 'Z');
    const written = await call('/objects/value', {
      method: 'PUT',
      headers: { authorization: `Bearer ${writeKey}` },
      body: { updates: [{ elementId: id, value: { value: 21.5, quality: 'Good', timestamp: at } }] },
    });
    expect(written.body).toEqual({ success: true, results: [{ success: true, elementId: id, result: null }] });
    const read = await call('/objects/value', {
      method: 'POST',
      headers: { authorization: `Bearer ${writeKey}` },
      body: { elementIds: [id] },
    });
    expect(read.body.results).toEqual([
      { success: true, elementId: id, result: { isComposition: false, value: 21.5, quality: 'Good', timestamp: at } },
    ]);
    const audited = await admin.query('select principal_name, element_id from i3x.update_audit');
    expect(audited.rows).toEqual([{ principal_name: 'writer', element_id: id }]);
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_i3x_request_seconds_count\{[^}]*route="\/v1\/objects\/list"[^}]*\} \d+/);
    expect(metrics).toMatch(/plantmesh_i3x_auth_refusals_total\{[^}]*status="401"[^}]*\} 1/);

    // cert-manager renews the certificate in place: the next handshakes get the new one, no restart.
    expect(await servedSerial()).toBe(serialOf(tls.cert));
    const renewed = ca.issue(['127.0.0.1', 'localhost']);
    copyFileSync(renewed.key, tls.key);
    copyFileSync(renewed.cert, tls.cert);
    await waitFor('the renewed certificate served', async () => (await servedSerial()) === serialOf(renewed.cert));

    const revoked = await plantmesh(['keys', 'revoke', 'service']);
    expect(revoked.lines.join('\n')).toMatch(/revoked service/);
    await waitFor('the revoked key refused', async () => (await list()).status === 401);
    expect((await plantmesh(['keys', 'revoke', 'service'])).code).toBe(1);
    expect((await plantmesh(['keys', 'list', '--all'])).lines).toContainEqual(
      expect.stringMatching(/^service\t.*\trevoked /),
    );
    expect(await service.stop('SIGTERM')).toBe(0);
  });
});
