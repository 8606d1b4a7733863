import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helm, helmTemplate, type Manifest } from '@plantmesh/testkit';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const valueSets = {
  development: [join(root, 'k8s/values-development.yaml')],
  production: [join(root, 'k8s/values-production.yaml')],
  external: [join(root, 'k8s/values-external.yaml')],
};

// Each kind the chart renders, checked against the Kubernetes OpenAPI schemas.
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

const workloads = (objects: Manifest[]) => objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'];

describe('Helm chart', () => {
  it.each(Object.entries(valueSets))(
    'lints and renders valid Kubernetes objects with the %s values',
    (_name, values) => {
      const lint = helm(['lint', chart, ...values.flatMap((file) => ['-f', file])]);
      expect(lint.ok, lint.output).toBe(true);
      const objects = helmTemplate(chart, { values });
      expect(objects.length).toBeGreaterThan(10);
      for (const object of objects) {
        if (object.apiVersion === 'cert-manager.io/v1') {
          // A cert-manager resource: no Kubernetes schema, but the fields cert-manager needs.
          expect(object.kind).toBe('Certificate');
          expect(object.spec).toMatchObject({
            secretName: expect.any(String),
            issuerRef: { name: expect.any(String) },
          });
          continue;
        }
        const Model = models[`${object.apiVersion}/${object.kind}`];
        expect(Model, `no schema for ${object.apiVersion}/${object.kind}`).toBeDefined();
        expect(
          () => new (Model as NonNullable<typeof Model>)(object as never).validate(),
          `${object.kind} ${object.metadata.name}`,
        ).not.toThrow();
      }
      // The namespace manifest under k8s/ too.
      const namespace = parse(readFileSync(join(root, 'k8s/namespace.yaml'), 'utf8'));
      expect(() => new Namespace(namespace).validate()).not.toThrow();
      expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    },
  );

  it('has a schema check that rejects an invalid object (so the check above means something)', () => {
    const [deployment] = helmTemplate(chart, { values: valueSets.development }).filter((o) => o.kind === 'Deployment');
    const broken = { ...deployment, spec: { ...deployment?.spec, replicas: 'two' } };
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it.each(Object.entries(valueSets))(
    'holds every container to the security rules with the %s values',
    (_name, values) => {
      for (const workload of workloads(helmTemplate(chart, { values }))) {
        const pod = workload.spec.template.spec;
        const where = `${workload.kind} ${workload.metadata.name}`;
        expect(pod.securityContext, where).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken, where).toBe(false);
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          const at = `${where} / ${container.name}`;
          expect(container.securityContext, at).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.securityContext.capabilities.add, at).toBeUndefined();
          expect(container.resources?.requests, at).toBeDefined();
          expect(container.resources?.limits, at).toBeDefined();
          if (workload.kind !== 'Job') {
            expect(container.readinessProbe, at).toBeDefined();
            expect(container.livenessProbe, at).toBeDefined();
          }
        }
      }
    },
  );

  it('gives no service account any API access (no Role or binding rendered)', () => {
    const objects = helmTemplate(chart, { values: valueSets.production });
    expect(objects.filter((o) => /Role|RoleBinding/.test(o.kind))).toEqual([]);
    expect(
      objects.filter((o) => o.kind === 'ServiceAccount').every((o) => o.automountServiceAccountToken === false),
    ).toBe(true);
  });

  it('scales out where replicas make sense in production: PDBs, HPAs, 3 RabbitMQ nodes in the peer list', () => {
    const objects = helmTemplate(chart, { values: valueSets.production });
    expect(
      objects
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map(component)
        .sort(),
    ).toEqual(['amqp-writer', 'etl-business', 'etl-curated', 'events-reader', 'i3x-api', 'sensors-reader']);
    expect(
      objects
        .filter((o) => o.kind === 'HorizontalPodAutoscaler')
        .map(component)
        .sort(),
    ).toEqual(['amqp-writer', 'sensors-reader']);
    const rabbit = objects.find((o) => o.kind === 'StatefulSet' && component(o) === 'rabbitmq');
    expect(rabbit?.spec.replicas).toBe(3);
    const config = objects.find((o) => o.kind === 'ConfigMap' && component(o) === 'rabbitmq');
    expect(config?.data['rabbitmq.conf'].match(/classic_config\.nodes\.\d+ =/g)).toHaveLength(3);
  });

  it('runs the migrations as a hook Job with the database password from a Secret', () => {
    const job = helmTemplate(chart, { values: valueSets.development }).find((o) => o.kind === 'Job');
    expect(job?.metadata.annotations?.['helm.sh/hook']).toBe('post-install,pre-upgrade');
    const env = job?.spec.template.spec.containers[0].env as Array<{
      name: string;
      value?: string;
      valueFrom?: unknown;
    }>;
    expect(env.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom).toMatchObject({
      secretKeyRef: { key: 'password' },
    });
    expect(env.find((e) => e.name === 'DATABASE_URL')?.value).toMatch(
      /^postgres:\/\/plantmesh:\$\(POSTGRES_PASSWORD\)@/,
    );
    expect(job?.spec.template.spec.containers[0].command).toEqual(['node', 'dist/main.js', 'migrate']);
  });

  it('uses existing infrastructure and renders none of its own with the external values', () => {
    const objects = helmTemplate(chart, { values: valueSets.external });
    expect(objects.filter((o) => o.kind === 'StatefulSet').map(component)).toEqual(['events-reader']);
    const writer = objects.find((o) => o.kind === 'Deployment' && component(o) === 'amqp-writer');
    const env = writer?.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    expect(env.find((e) => e.name === 'DATABASE_URL')?.value).toContain('@timescaledb.data.svc.cluster.local:5432/');
    expect(env.find((e) => e.name === 'AMQP_URL')?.value).toContain('@rabbitmq.messaging.svc.cluster.local:5672');
  });

  it('closes the brokers to anonymous clients: readers and each publisher are users with ACLs, TLS for publishers', () => {
    const objects = helmTemplate(chart, { values: valueSets.production });
    const broker = objects.find((o) => o.kind === 'StatefulSet' && component(o) === 'mqtt-events');
    const env = broker?.spec.template.spec.containers[0].env as Array<{
      name: string;
      value?: string;
      valueFrom?: unknown;
    }>;
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.DOCKER_VERNEMQ_ALLOW_ANONYMOUS?.value).toBe('off');
    for (const user of ['plantmesh_reader', 'caster_l2', 'quench_l2', 'sensor_gateway']) {
      expect(byName[`DOCKER_VERNEMQ_USER_${user}`]?.valueFrom, user).toMatchObject({
        secretKeyRef: {
          name: 'plantmesh-mqtt',
          key: user === 'plantmesh_reader' ? 'reader-password' : `${user}-password`,
        },
      });
    }
    expect(byName.DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT?.value).toBe('0.0.0.0:8883');
    const acl = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-mqtt-acl'));
    expect(acl?.data['vmq.acl']).toContain('user caster_l2\ntopic write plant1/caster/+/events/#');
    expect(acl?.data['vmq.acl']).toMatch(/^user plantmesh_reader\ntopic read #/);
    const certificate = objects.find((o) => o.kind === 'Certificate' && component(o) === 'mqtt');
    expect(certificate?.spec.dnsNames).toContain('mqtt-events.plant.local');
    for (const reader of ['events-reader', 'sensors-reader']) {
      const workload = objects.find((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && component(o) === reader);
      const env = (workload?.spec.template.spec.containers[0].env ?? []) as Array<{ name: string }>;
      const names = env.map((e) => e.name);
      expect(names, reader).toEqual(expect.arrayContaining(['MQTT_USERNAME', 'MQTT_PASSWORD']));
    }
  });

  it('pins every image by digest when the values give one', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const objects = helmTemplate(chart, {
      values: valueSets.production,
      set: [`image.digests.amqp-writer=${digest}`, `postgresql.image.digest=${digest}`, `mqtt.image.digest=${digest}`],
    });
    const imageOf = (name: string) =>
      workloads(objects).find((o) => component(o) === name)?.spec.template.spec.containers[0].image;
    expect(imageOf('amqp-writer')).toBe(`registry.plant.local/plantmesh/plantmesh-amqp-writer:0.1.0@${digest}`);
    expect(imageOf('events-reader')).toBe('registry.plant.local/plantmesh/plantmesh-mqtt-reader:0.1.0');
    expect(imageOf('postgresql')).toBe(`timescale/timescaledb:2.17.2-pg16@${digest}`);
    expect(imageOf('mqtt-events')).toBe(`vernemq/vernemq:2.0.1@${digest}`);
    expect(() => helmTemplate(chart, { values: valueSets.production, set: ['rabbitmq.image.digest=latest'] })).toThrow(
      /digest/,
    );
  });

  it('refuses bad values with a clear message', () => {
    expect(() =>
      helmTemplate(chart, { values: valueSets.development, set: ['services.amqpWriter.replicas=-1'] }),
    ).toThrow(/services\/amqpWriter\/replicas.*minimum/);
    expect(() => helmTemplate(chart, { values: valueSets.development, set: ['common.logLevel=loud'] })).toThrow(
      /logLevel/,
    );
    expect(() => helmTemplate(chart, {})).toThrow(/mqtt\.acceptEula=true/);
    expect(() => helmTemplate(chart, { values: valueSets.development, set: ['postgresql.enabled=false'] })).toThrow(
      /postgresql\.external\.host is required/,
    );
  });
});
