import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDefinition } from '@plantmesh/etl-curated';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const shipped = join(root, 'packages/etl-curated/definitions');
const copies = join(chart, 'files/definitions');
const development = join(root, 'k8s/values-development.yaml');

const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'];
const etlObjects = (objects: Manifest[]) => ({
  deployment: objects.find((o) => o.kind === 'Deployment' && component(o) === 'etl-curated') as Manifest,
  configMap: objects.find((o) => o.kind === 'ConfigMap' && component(o) === 'etl-curated'),
});
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort();

/** A plant's own data product, as an operator adds it in the values. */
const coils = `apiVersion: plantmesh.dev/v1
kind: CuratedDefinition
product:
  name: coils
  domain: rolling
  owner: hot-mill-team@plant.local
  description: Coils wound at the hot strip mill, with their weight
  version: 1.0.0
source:
  topics: ["+/hot-mill/+/events/coil.wound"]
payloadSchema:
  type: object
  required: [coilId, weight_t, occurredAt]
  properties:
    coilId: { type: string, minLength: 1 }
    weight_t: { type: number, exclusiveMinimum: 0, maximum: 50 }
    occurredAt: { type: string, format: date-time }
table: coils
columns:
  - { name: coil_id, from: /coilId, type: text }
  - { name: weight, from: /weight_t, type: numeric, unit: KGM, sourceUnit: TNE }
  - { name: wound_at, from: /occurredAt, type: timestamptz, nullable: false }
key: [coil_id]
eventTime: wound_at
`;

/** The definition format's own JSON Schema (2020-12), which the ETL checks every file against. */
function definitionValidator() {
  const schema = JSON.parse(readFileSync(join(root, 'packages/etl-curated/definition.schema.json'), 'utf8'));
  return new Ajv2020({ allErrors: true, strict: false }).compile(schema);
}

describe('the curated ETL in the chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plantmesh-etl-values-'));
  /** Renders the development values plus the given values (written to a file, as an operator would). */
  const render = (values: Record<string, unknown> = {}, set: string[] = []) => {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    return helmTemplate(chart, { values: [development, file], set });
  };

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the definitions of packages/etl-curated byte for byte, so that the copies cannot drift', () => {
    expect(yamlFiles(copies)).toEqual(yamlFiles(shipped));
    expect(yamlFiles(copies)).toContain('heats.yaml');
    for (const name of yamlFiles(shipped)) {
      expect(readFileSync(join(copies, name)).equals(readFileSync(join(shipped, name))), name).toBe(true);
    }
  });

  it('mounts them from a ConfigMap as the folder DEFINITIONS_DIR names, so that an edited ConfigMap reaches the pods', () => {
    const { deployment, configMap } = etlObjects(render());
    expect(configMap?.data).toEqual(
      Object.fromEntries(yamlFiles(shipped).map((name) => [name, readFileSync(join(shipped, name), 'utf8')])),
    );
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(
      (container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]),
    );
    const mount = (container.volumeMounts as Array<{ name: string; mountPath: string; subPath?: string }>).find(
      (m) => m.mountPath === env.DEFINITIONS_DIR,
    );
    // The whole folder, read-only: the kubelet never updates a subPath file.
    expect(mount).toEqual({ name: expect.any(String), mountPath: env.DEFINITIONS_DIR, readOnly: true });
    expect(pod.volumes).toContainEqual({ name: mount?.name, configMap: { name: configMap?.metadata.name } });
    // The ETL applies a changed file itself: no checksum annotation restarts the pods on an edit.
    expect(Object.keys(deployment.spec.template.metadata.annotations ?? {})).not.toContainEqual(
      expect.stringMatching(/checksum/),
    );
    expect(deployment.spec.replicas).toBe(1);
    expect(etlObjects(render({}, ['services.etlCurated.replicas=3'])).deployment.spec.replicas).toBe(3);
    // The migrations set its login's password from its own Secret.
    const job = render().find((o) => o.kind === 'Job') as Manifest;
    expect(job.spec.template.spec.containers[0].env).toContainEqual({
      name: 'ETL_CURATED_DB_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'plantmesh-etl-curated-credentials', key: 'postgres-password' } },
    });
  });

  it('adds and replaces definitions from the values, each valid against definition.schema.json', () => {
    const heats = readFileSync(join(shipped, 'heats.yaml'), 'utf8').replace('version: 1.0.0', 'version: 1.1.0');
    const { configMap } = etlObjects(
      render({ services: { etlCurated: { definitions: { 'coils.yaml': coils, 'heats.yaml': heats } } } }),
    );
    const data = configMap?.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(['coils.yaml', ...yamlFiles(shipped)].sort());
    expect(data['coils.yaml']).toBe(coils);
    expect(data['heats.yaml']).toBe(heats);
    const validate = definitionValidator();
    for (const [file, text] of Object.entries(data)) {
      expect(validate(parse(text)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      // And what a schema cannot say (key and event time among the columns, units), as the ETL checks it.
      expect(() => parseDefinition(text, file), file).not.toThrow();
    }
    // The check bites: a definition without its key is refused.
    expect(validate(parse(coils.replace('key: [coil_id]\n', '')))).toBe(false);
  });

  it("uses the plant's own ConfigMap instead when named, and refuses what cannot work", () => {
    const { deployment, configMap } = etlObjects(
      render({}, ['services.etlCurated.existingConfigMap=plant-definitions']),
    );
    expect(configMap).toBeUndefined();
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: 'definitions',
      configMap: { name: 'plant-definitions' },
    });
    expect(() =>
      render({
        services: { etlCurated: { existingConfigMap: 'plant-definitions', definitions: { 'coils.yaml': coils } } },
      }),
    ).toThrow(/services.etlCurated.definitions are not used with services.etlCurated.existingConfigMap/);
    // A ConfigMap key the ETL would read: a .yaml or .yml name, not hidden.
    expect(() => render({ services: { etlCurated: { definitions: { '.coils.yaml': coils } } } })).toThrow(
      /services\/etlCurated\/definitions': additional properties '\.coils\.yaml' not allowed/,
    );
    expect(() => render({ services: { etlCurated: { definition: {} } } })).toThrow(
      /additional properties 'definition' not allowed/,
    );
  });
});
