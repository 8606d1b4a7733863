import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKpiDefinition } from '@plantmesh/etl-business';
import { parseDefinition } from '@plantmesh/etl-curated';
import { helm, helmTemplate, type Manifest } from '@plantmesh/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const development = join(root, 'k8s/values-development.yaml');

const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'];
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
/** A folder's definition files by name, as the ConfigMap should hold them. */
const filesOf = (dir: string) =>
  Object.fromEntries(yamlFiles(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));

/** A plant's own data product and a KPI over it, as an operator adds them in the values. */
const fixture = (file: string) => readFileSync(join(import.meta.dirname, 'fixtures', file), 'utf8');
const coils = fixture('coils.yaml');
const coilsPerDay = fixture('coils-per-day.yaml');

/** The ETLs that run from definition files, and what differs between them. */
const etls = [
  {
    component: 'etl-curated',
    values: 'etlCurated',
    variable: 'DEFINITIONS_DIR',
    password: 'ETL_CURATED_DB_PASSWORD',
    package: 'packages/etl-curated/definitions',
    link: 'files/definitions/curated',
    format: 'packages/etl-curated/definition.schema.json',
    // What a schema cannot say (key and event time among the columns, units), as the ETL checks it.
    check: (text: string, file: string) => parseDefinition(text, file),
    added: { file: 'coils.yaml', text: coils, broken: coils.replace('key: [coil_id]\n', '') },
    replaced: 'heats.yaml',
  },
  {
    component: 'etl-business',
    values: 'etlBusiness',
    variable: 'KPI_DEFINITIONS_DIR',
    password: 'ETL_BUSINESS_DB_PASSWORD',
    package: 'packages/etl-business/definitions',
    link: 'files/definitions/kpis',
    format: 'packages/etl-business/kpi.schema.json',
    // What a schema cannot say (known units, the query's parameters for its window), as the ETL checks it.
    check: (text: string, file: string) => readKpiDefinition(text, file),
    added: {
      file: 'coils-per-day.yaml',
      text: coilsPerDay,
      broken: coilsPerDay.replace('table: coils_wound_per_day\n', ''),
    },
    replaced: 'tonnage-cast-per-shift.yaml',
  },
];

/** A definition format's own JSON Schema (2020-12), which the ETL checks every file against. */
function formatValidator(file: string) {
  const schema = JSON.parse(readFileSync(join(root, file), 'utf8'));
  return new Ajv2020({ allErrors: true, strict: false }).compile(schema);
}

describe.each(etls)('the $component ETL in the chart', (etl) => {
  const dir = mkdtempSync(join(tmpdir(), `plantmesh-${etl.component}-values-`));
  const shipped = join(root, etl.package);
  /** Renders the development values plus the given values (written to a file, as an operator would). */
  const render = (values: Record<string, unknown> = {}, set: string[] = []) => {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    return helmTemplate(chart, { values: [development, file], set });
  };
  const etlObjects = (objects: Manifest[]) => ({
    deployment: objects.find((o) => o.kind === 'Deployment' && component(o) === etl.component) as Manifest,
    configMap: objects.find((o) => o.kind === 'ConfigMap' && component(o) === etl.component),
  });
  const ownValues = (values: Record<string, unknown>) => ({ services: { [etl.values]: values } });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("ships the package's own definitions folder, linked into the chart, so that what ships cannot drift", () => {
    // A link to the package's folder, not a copy of it.
    const link = join(chart, etl.link);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(shipped));
    expect(yamlFiles(shipped).length).toBeGreaterThan(1);
    // The rendered ConfigMap holds exactly the package's files.
    expect(etlObjects(render()).configMap?.data).toEqual(filesOf(shipped));
  });

  it('mounts them from a ConfigMap as the folder its variable names, so that an edited ConfigMap reaches the pods', () => {
    const { deployment, configMap } = etlObjects(render());
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(
      (container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]),
    );
    expect(env[etl.variable]).toMatch(/^\/etc\/plantmesh\//);
    const mount = (container.volumeMounts as Array<{ name: string; mountPath: string; subPath?: string }>).find(
      (m) => m.mountPath === env[etl.variable],
    );
    // The whole folder, read-only: the kubelet never updates a subPath file.
    expect(mount).toEqual({ name: expect.any(String), mountPath: env[etl.variable], readOnly: true });
    expect(pod.volumes).toContainEqual({ name: mount?.name, configMap: { name: configMap?.metadata.name } });
    // The ETL applies a changed file itself: no checksum annotation restarts the pods on an edit.
    expect(Object.keys(deployment.spec.template.metadata.annotations ?? {})).not.toContainEqual(
      expect.stringMatching(/checksum/),
    );
    expect(deployment.spec.replicas).toBe(1);
    expect(etlObjects(render({}, [`services.${etl.values}.replicas=3`])).deployment.spec.replicas).toBe(3);
    // The migrations set its login's password from its own Secret.
    const job = render().find((o) => o.kind === 'Job') as Manifest;
    expect(job.spec.template.spec.containers[0].env).toContainEqual({
      name: etl.password,
      valueFrom: { secretKeyRef: { name: `plantmesh-${etl.component}-credentials`, key: 'postgres-password' } },
    });
  });

  it('adds and replaces definitions from the values, each valid against its format', () => {
    const replaced = readFileSync(join(shipped, etl.replaced), 'utf8').replace('version: 1.0.0', 'version: 1.1.0');
    expect(replaced).toContain('version: 1.1.0');
    const { configMap } = etlObjects(
      render(ownValues({ definitions: { [etl.added.file]: etl.added.text, [etl.replaced]: replaced } })),
    );
    const data = configMap?.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual([etl.added.file, ...yamlFiles(shipped)].sort());
    expect(data[etl.added.file]).toBe(etl.added.text);
    expect(data[etl.replaced]).toBe(replaced);
    const validate = formatValidator(etl.format);
    for (const [file, text] of Object.entries(data)) {
      expect(validate(parse(text)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(() => etl.check(text, file), file).not.toThrow();
    }
    // The check bites: a definition without what its format requires is refused.
    expect(validate(parse(etl.added.broken))).toBe(false);
  });

  it("uses the plant's own ConfigMap instead when named, and refuses what cannot work", () => {
    const { deployment, configMap } = etlObjects(
      render({}, [`services.${etl.values}.existingConfigMap=plant-definitions`]),
    );
    expect(configMap).toBeUndefined();
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: 'definitions',
      configMap: { name: 'plant-definitions' },
    });
    expect(() =>
      render(ownValues({ existingConfigMap: 'plant-definitions', definitions: { [etl.added.file]: etl.added.text } })),
    ).toThrow(`services.${etl.values}.definitions are not used with services.${etl.values}.existingConfigMap`);
    // A ConfigMap key the ETL would read: a .yaml or .yml name, not hidden.
    expect(() => render(ownValues({ definitions: { [`.${etl.added.file}`]: etl.added.text } }))).toThrow(
      `services/${etl.values}/definitions': additional properties '.${etl.added.file}' not allowed`,
    );
    expect(() => render(ownValues({ definition: {} }))).toThrow(/additional properties 'definition' not allowed/);
  });
});

describe('the packaged chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-package-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the linked definitions as real files, equal to the packages, and renders them', () => {
    const packaged = helm(['package', chart, '--destination', dir]);
    expect(packaged.ok, packaged.output).toBe(true);
    const archive = join(dir, 'plantmesh-0.1.0.tgz');
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    const unpacked = join(dir, 'plantmesh');
    for (const etl of etls) {
      const folder = join(unpacked, etl.link);
      expect(lstatSync(folder).isDirectory(), etl.link).toBe(true);
      for (const name of readdirSync(folder)) expect(lstatSync(join(folder, name)).isFile(), name).toBe(true);
      expect(filesOf(folder), etl.link).toEqual(filesOf(join(root, etl.package)));
      const configMap = helmTemplate(archive, { values: [development] }).find(
        (o) => o.kind === 'ConfigMap' && component(o) === etl.component,
      );
      expect(configMap?.data, etl.component).toEqual(filesOf(join(root, etl.package)));
    }
  });
});
