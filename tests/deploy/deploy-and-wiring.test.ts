import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type PlantEvent, Simulator } from '@plantmesh/simulator';
import {
  freePort,
  helmTemplate,
  ManagedProcess,
  type Manifest,
  type PlatformServers,
  startPlatformServers,
  waitFor,
} from '@plantmesh/testkit';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approximately, expectedTonnage, expectedYield, zone } from '../../packages/etl-business/test/expected.js';
import { sbom } from '../../scripts/sbom.js';

const exec = promisify(execFile);

const root = join(import.meta.dirname, '../..');
// The packages the chart's images are built from (Dockerfile: one image per package).
const packages = ['mqtt-reader', 'amqp-writer', 'etl-curated', 'etl-business', 'i3x-api', 'catalog', 'cli'];
const devOnly = ['vitest', 'typescript', '@biomejs', 'vite@', '@unni-craftsman', '@aws-cdk'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

/** CycloneDX's own JSON schema for BOM 1.5 (with the SPDX and JSF schemas it refers to), as published. */
function cycloneDxValidator() {
  const schemas = join(
    createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json'),
    '../res/schema',
  );
  const load = (file: string) => JSON.parse(readFileSync(join(schemas, file), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The BOM schema refers to these by their file names, relative to its own $id.
  for (const file of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
    ajv.addSchema({ ...load(file), $id: `http://cyclonedx.org/schema/${file}` });
  }
  return ajv.compile(load('bom-1.5.SNAPSHOT.schema.json'));
}

/**
 * A container's environment as the kubelet builds it: Secret references resolved, the pod's name
 * from the downward API, and $(VAR) references expanded from the variables before them.
 */
function resolveEnv(env: EnvVar[], secrets: Record<string, Record<string, string>>, podName: string) {
  const resolved: Record<string, string> = {};
  for (const variable of env) {
    let value = variable.value;
    const secret = variable.valueFrom?.secretKeyRef;
    if (secret) value = secrets[secret.name]?.[secret.key];
    if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') value = podName;
    if (value === undefined)
      throw new Error(`${variable.name}: unresolved reference ${JSON.stringify(variable.valueFrom)}`);
    resolved[variable.name] = value.replace(/\$\(([A-Z0-9_]+)\)/g, (whole, name: string) => resolved[name] ?? whole);
  }
  return resolved;
}

/**
 * A ConfigMap volume as the kubelet writes it: the files in a folder of their own, `..data` a symlink to
 * that folder and each key a symlink through `..data`. An update writes a new folder and swaps `..data`
 * in one rename, as the kubelet does for a mounted folder (never for a subPath file).
 */
class ConfigMapVolume {
  private version = 0;
  /** What the volume holds now. */
  data: Record<string, string> = {};

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  write(data: Record<string, string>): void {
    this.version += 1;
    const folder = `..${this.version}`;
    mkdirSync(join(this.dir, folder));
    for (const [key, text] of Object.entries(data)) writeFileSync(join(this.dir, folder, key), text);
    symlinkSync(folder, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const key of Object.keys(data)) {
      if (!existsSync(join(this.dir, key))) symlinkSync(join('..data', key), join(this.dir, key));
    }
    this.data = data;
  }
}

describe('images (pnpm deploy as in the Dockerfile) started with the chart wiring', () => {
  const out = mkdtempSync(join(tmpdir(), 'plantmesh-deploy-'));
  let servers: PlatformServers;
  let objects: Manifest[];
  let opsPort: number;
  let apiPort: number;
  let catalogPort: number;
  // The Secrets an operator provides with values-external.yaml (the local servers' credentials); the
  // ones the chart generates (the services' own credentials) are added from the rendered objects.
  const secrets: Record<string, Record<string, string>> = {
    'plant-postgresql': { password: 'plantmesh' },
    'plant-rabbitmq': { password: 'plantmesh' },
    'plant-mqtt': { 'reader-password': 'unused-by-local-mosquitto' },
  };

  beforeAll(async () => {
    // Asynchronously: a build and five deploys take minutes, in which the test worker must stay responsive.
    await exec('pnpm', ['build'], { cwd: root, maxBuffer: 64 << 20 });
    for (const name of packages) {
      await exec('pnpm', ['--filter', `@plantmesh/${name}`, 'deploy', '--legacy', '--prod', join(out, name)], {
        cwd: root,
        maxBuffer: 64 << 20,
      });
    }
    servers = await startPlatformServers();
    opsPort = await freePort();
    apiPort = await freePort();
    catalogPort = await freePort();
    // The chart pointed at the local servers as at existing infrastructure.
    objects = helmTemplate(join(root, 'charts/plantmesh'), {
      values: [join(root, 'k8s/values-external.yaml')],
      set: [
        `postgresql.external.host=127.0.0.1`,
        `postgresql.external.port=${servers.postgres.port}`,
        `rabbitmq.external.host=127.0.0.1`,
        `rabbitmq.external.port=${servers.rabbitmq.port}`,
        `rabbitmq.external.managementPort=${new URL(servers.rabbitmq.managementUrl as string).port}`,
        `mqtt.events.external.url=${servers.mosquitto.url}`,
        `mqtt.sensors.external.url=${servers.mosquitto.url}`,
        `common.opsPort=${opsPort}`,
        `services.i3xApi.port=${apiPort}`,
        `services.catalog.port=${catalogPort}`,
      ],
    });
    for (const secret of objects.filter((o) => o.kind === 'Secret')) {
      secrets[secret.metadata.name] = Object.fromEntries(
        Object.entries(secret.data as Record<string, string>).map(([key, value]) => [
          key,
          Buffer.from(value, 'base64').toString('utf8'),
        ]),
      );
    }
  }, 300_000);

  afterAll(async () => {
    await servers?.destroy();
    rmSync(out, { recursive: true, force: true });
  });

  it('holds each package with its production dependencies only', () => {
    for (const name of packages) {
      const store = readdirSync(join(out, name, 'node_modules/.pnpm'));
      expect(existsSync(join(out, name, 'dist/main.js')), name).toBe(true);
      expect(
        store.filter((entry) => devOnly.some((dev) => entry.startsWith(dev.replace('/', '+')))),
        name,
      ).toEqual([]);
    }
    expect(existsSync(join(out, 'cli/node_modules/@plantmesh/schema/migrations/raw'))).toBe(true);
  });

  it("describes each image's contents in a CycloneDX 1.5 SBOM that the published schema accepts", () => {
    const validate = cycloneDxValidator();
    for (const name of packages) {
      const bom = sbom(join(out, name), `plantmesh-${name}`, '0.1.0');
      expect(validate(bom), `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
      const purls = bom.components.map((component) => component.purl);
      // What the package runs on is listed, with versions; what only builds or tests it is not.
      expect(purls, name).toContainEqual(expect.stringMatching(/^pkg:npm\/%40plantmesh\/core@0\.1\.0$/));
      expect(purls, name).toContainEqual(expect.stringMatching(/^pkg:npm\/pino@\d+\.\d+\.\d+$/));
      expect(
        purls.filter((purl) => /\/(vitest|typescript|@biomejs)/.test(purl)),
        name,
      ).toEqual([]);
      expect(new Set(purls).size).toBe(purls.length);
    }
    const writer = sbom(join(out, 'amqp-writer'), 'plantmesh-amqp-writer', '0.1.0');
    expect(writer.components.find((component) => component.name === 'pg')?.licenses).toEqual([{ expression: 'MIT' }]);
    // The validator bites: a component without a name is refused.
    expect(validate({ ...writer, components: [{ type: 'library', version: '1' }] })).toBe(false);
  });

  /**
   * Runs a workload's container from the deploy output of its image, with its rendered command and env,
   * and its ConfigMap volumes written under its log name (paths in the env that point into a mount follow
   * it there).
   */
  function run(
    workload: Manifest,
    logName: string,
  ): { process: ManagedProcess; container: Manifest; volumes: Record<string, ConfigMapVolume> } {
    const container = workload.spec.template.spec.containers[0];
    const image = /plantmesh-([a-z0-9-]+):/.exec(container.image)?.[1] as string;
    expect(packages).toContain(image);
    const [command, ...args] = container.command as string[];
    const env = resolveEnv(container.env, secrets, `${workload.metadata.name}-0`);
    const volumes: Record<string, ConfigMapVolume> = {};
    for (const mount of (container.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>) {
      const volume = workload.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
      if (volume?.secret) {
        // A Secret volume: its items (or every key) as files, as the kubelet writes them.
        const data = secrets[volume.secret.secretName];
        expect(data, `${logName}: Secret ${volume.secret.secretName}`).toBeDefined();
        const dir = join(out, 'volumes', logName, mount.name);
        mkdirSync(dir, { recursive: true });
        const items = (volume.secret.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key }))) as Array<{
          key: string;
          path: string;
        }>;
        for (const item of items)
          writeFileSync(join(dir, item.path), (data as Record<string, string>)[item.key] as string);
        for (const [name, value] of Object.entries(env)) {
          if (value === mount.mountPath || value.startsWith(`${mount.mountPath}/`))
            env[name] = dir + value.slice(mount.mountPath.length);
        }
        continue;
      }
      if (!volume?.configMap) continue;
      const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name);
      expect(configMap, `${logName}: ConfigMap ${volume.configMap.name}`).toBeDefined();
      const local = new ConfigMapVolume(join(out, 'volumes', logName, mount.name));
      local.write(configMap?.data);
      volumes[mount.name] = local;
      for (const [name, value] of Object.entries(env)) {
        if (value === mount.mountPath || value.startsWith(`${mount.mountPath}/`))
          env[name] = local.dir + value.slice(mount.mountPath.length);
      }
    }
    const child = new ManagedProcess({
      command: command === 'node' ? process.execPath : (command as string),
      args,
      cwd: join(out, image),
      env: { PATH: process.env.PATH, ...env },
      logFile: join(out, `${logName}.log`),
    });
    child.start();
    return { process: child, container, volumes };
  }

  it('migrates the stores with the migrations Job as rendered', async () => {
    const job = objects.find((o) => o.kind === 'Job') as Manifest;
    const { process: migrate } = run(job, 'migrations');
    expect(await migrate.waitExit(60_000), migrate.tail()).toBe(0);
    const client = new pg.Client(servers.postgres.url);
    await client.connect();
    const { rows } = await client.query(`select to_regclass('raw.events')::text as events`);
    await client.end();
    expect(rows[0].events).toBe('raw.events');
  });

  it('starts every plantmesh workload, whose declared probes answer on their ports and paths', async () => {
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
    expect(workloads.map((w) => w.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual([
      'amqp-writer',
      'catalog',
      'etl-business',
      'etl-curated',
      'events-reader',
      'i3x-api',
      'sensors-reader',
    ]);
    for (const workload of workloads) {
      const { process: service, container } = run(workload, workload.metadata.name);
      try {
        const ports = Object.fromEntries(
          (container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]),
        );
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          const { path, port } = container[probe].httpGet as { path: string; port: string | number };
          const url = `http://127.0.0.1:${typeof port === 'string' ? ports[port] : port}${path}`;
          await waitFor(`${workload.metadata.name} ${probe} ${url}`, async () => {
            if (!service.alive) throw new Error(service.tail());
            return (await fetch(url)).status === 200;
          });
        }
      } finally {
        expect(await service.stop('SIGTERM'), service.tail()).toBe(0);
      }
    }
  });

  it("moves the plant's events end to end through the deployed reader, writer, curated ETL and business ETL", async () => {
    const pipeline = objects.filter(
      (o) =>
        ['Deployment', 'StatefulSet'].includes(o.kind) &&
        ['events-reader', 'amqp-writer', 'etl-curated', 'etl-business'].includes(
          o.metadata.labels?.['app.kubernetes.io/component'] ?? '',
        ),
    );
    expect(pipeline).toHaveLength(4);
    const processes: ManagedProcess[] = [];
    for (const workload of pipeline) {
      // Services on one host: each gets its own ops port.
      const port = await freePort();
      const container = workload.spec.template.spec.containers[0];
      container.env = (container.env as EnvVar[]).map((v) =>
        v.name === 'OPS_PORT' ? { ...v, value: String(port) } : v,
      );
      processes.push(run(workload, `e2e-${workload.metadata.name}`).process);
      await waitFor(
        'ready',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
      );
    }
    const client = new pg.Client(servers.postgres.url);
    await client.connect();
    try {
      // The simulated plant, recorded as the broker acknowledged each event: a heat's life (started, slabs
      // cut, finished, plates ready and quenched, the quench line's states) is about 20 events, so 120 let
      // several heats finish with their plates quenched.
      const published: PlantEvent[] = [];
      const plant = new Simulator({
        eventsUrl: servers.mosquitto.url,
        eventsPerSecond: 400,
        eventQos: 1,
        maxEvents: 120,
        series: 1,
        samplesPerSecond: 0,
        samplesPerMessage: 1,
        sensorQos: 0,
        seed: 26,
        site: 'plant1',
        onEvent: (event) => published.push(event),
      });
      expect((await plant.run()).events).toBe(120);
      const ids = published.map((event) => event.payload.id);
      await waitFor(
        'the events stored',
        async () =>
          (await client.query('select count(*)::int as n from raw.events where id = any($1)', [ids])).rows[0].n ===
          ids.length,
      );
      // Curated by the shipped heats.yaml (mounted from the rendered ConfigMap): tonnes become kilograms.
      const heat = published.find((event) => event.payload.type === 'heat.finished')?.payload as PlantEvent['payload'];
      const castWeight = async () =>
        (await client.query('select cast_weight::float8 as kg from curated.heats where heat_id = $1', [heat.heatId]))
          .rows[0]?.kg;
      await waitFor('the heat curated', async () => (await castWeight()) !== undefined);
      expect(await castWeight()).toBeCloseTo((heat.castWeight_t as number) * 1000, 3);

      // The KPIs of the shipped KPI definitions (mounted likewise), computed from the curated rows, equal a
      // computation from what the plant published.
      const kpis = async () => ({
        yield: (
          await client.query<{ heat_id: string; yield: number }>(
            'select heat_id, yield::float8 as yield from business.heat_yield order by heat_id',
          )
        ).rows.map((row) => [row.heat_id, row.yield]),
        tonnage: (
          await client.query<{ key: string; heats: number; tonnage: number }>(
            `select to_char(window_start at time zone '${zone}', 'YYYY-MM-DD HH24:MI') || ' ' || strand as key, heats,
               tonnage::float8 as tonnage from business.tonnage_cast_per_shift order by 1`,
          )
        ).rows.map((row) => [row.key, row.heats, row.tonnage]),
      });
      const expected = { yield: expectedYield(published), tonnage: expectedTonnage(published) };
      expect(expected.yield.length).toBeGreaterThan(2);
      const settled = async () => {
        try {
          expect(await kpis()).toEqual(approximately(expected));
          return true;
        } catch {
          return false;
        }
      };
      await waitFor('the KPIs of what the plant published', settled, 60_000).catch(() => {});
      expect(await kpis()).toEqual(approximately(expected));
    } finally {
      await client.end();
      for (const child of processes) expect(await child.stop('SIGTERM'), child.tail()).toBe(0);
    }
  });

  it.each([
    {
      component: 'etl-curated',
      file: 'heats.yaml',
      version: `select version from curated.definitions where product = 'heats'`,
    },
    {
      component: 'etl-business',
      file: 'tonnage-cast-per-shift.yaml',
      version: `select version from business.kpi_definitions where kpi = 'tonnage_cast_per_shift'`,
    },
  ])('applies an edited definitions ConfigMap in the running $component, without a restart', async (etl) => {
    const workload = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === etl.component,
    ) as Manifest;
    const { process: service, container, volumes } = run(workload, `${etl.component}-reload`);
    const port = (container.env as EnvVar[]).find((v) => v.name === 'OPS_PORT')?.value;
    const client = new pg.Client(servers.postgres.url);
    await client.connect();
    try {
      await waitFor(
        'ready',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
      );
      const version = async () => (await client.query(etl.version)).rows[0]?.version;
      await waitFor('version 1.0.0 applied', async () => (await version()) === '1.0.0');
      const pid = service.pid;
      const definitions = volumes.definitions as ConfigMapVolume;
      const text = definitions.data[etl.file] as string;
      expect(text).toContain('version: 1.0.0');
      definitions.write({ ...definitions.data, [etl.file]: text.replace('version: 1.0.0', 'version: 1.1.0') });
      await waitFor(`${etl.file} 1.1.0 applied`, async () => (await version()) === '1.1.0');
      expect(service.pid).toBe(pid);
      expect(service.alive).toBe(true);
    } finally {
      await client.end();
      expect(await service.stop('SIGTERM'), service.tail()).toBe(0);
    }
  });
  it("serves the I3X API over HTTPS with the chart's certificate, to a key made by the CLI image", async () => {
    const workload = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'i3x-api',
    ) as Manifest;
    const { stdout } = await exec(
      process.execPath,
      ['dist/main.js', 'keys', 'create', 'deploy-check', '--scopes', 'read'],
      {
        cwd: join(out, 'cli'),
        env: { PATH: process.env.PATH, DATABASE_URL: servers.postgres.url },
      },
    );
    const key = stdout.split('\n').find((line) => line.startsWith('pmk_')) as string;
    expect(key).toMatch(/^pmk_[\w-]{43}$/);
    const { process: service } = run(workload, 'i3x-api-https');
    const tls = secrets['plantmesh-i3x-api-tls'] as Record<string, string>;
    const call = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: { success: boolean } }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: apiPort,
            path,
            // The chart's self-signed certificate, for the Service's names.
            ca: tls['tls.crt'],
            servername: 'plantmesh-i3x-api',
            headers: { accept: 'application/json', ...headers },
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
        req.end();
      });
    try {
      await waitFor(
        'i3x-api ready',
        async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined))?.status === 200,
      );
      expect((await call('/v1/info')).status).toBe(200);
      expect((await call('/v1/namespaces')).status).toBe(401);
      const namespaces = await call('/v1/namespaces', { authorization: `Bearer ${key}` });
      expect(namespaces.status).toBe(200);
      expect(namespaces.body.success).toBe(true);
      // As itself: the chart's login for the API, not the administrator.
      const client = new pg.Client(servers.postgres.url);
      await client.connect();
      try {
        const { rows } = await client.query(
          `select distinct usename from pg_stat_activity where application_name = 'i3x-api'`,
        );
        expect(rows).toEqual([{ usename: 'plantmesh_i3x_api' }]);
      } finally {
        await client.end();
      }
    } finally {
      expect(await service.stop('SIGTERM'), service.tail()).toBe(0);
    }
  });
});
