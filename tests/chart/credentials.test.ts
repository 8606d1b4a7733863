import { join } from 'node:path';
import { brokerUsers } from '@plantmesh/core';
import { serviceLogins } from '@plantmesh/schema';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const valueSets = ['development', 'production', 'external'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'] as string;
const containers = (o: Manifest): Array<{ env?: EnvVar[] }> => [
  ...(o.spec.template.spec.initContainers ?? []),
  ...o.spec.template.spec.containers,
];
const workloads = (objects: Manifest[]) => objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const secretRefs = (o: Manifest) =>
  containers(o).flatMap((c) =>
    (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [])),
  );

describe.each(valueSets)('credentials in the chart (%s values)', (valueSet) => {
  const objects = helmTemplate(chart, { values: [join(root, `k8s/values-${valueSet}.yaml`)] });

  it('puts no Secret value into a ConfigMap or an env value', () => {
    const secretValues = objects
      .filter((o) => o.kind === 'Secret')
      .flatMap((o) => Object.values((o.data ?? {}) as Record<string, string>))
      .map((value) => Buffer.from(value, 'base64').toString('utf8'))
      .filter((value) => value.length >= 8);
    expect(secretValues.length).toBeGreaterThan(0);
    const exposed = [
      ...objects
        .filter((o) => o.kind === 'ConfigMap')
        .flatMap((o) => Object.values((o.data ?? {}) as Record<string, string>)),
      ...workloads(objects).flatMap((o) => containers(o).flatMap((c) => (c.env ?? []).map((e) => e.value ?? ''))),
    ];
    for (const secret of secretValues) {
      expect(exposed.filter((text) => text.includes(secret))).toEqual([]);
    }
  });

  it('lets each service log in to PostgreSQL as itself, from its own Secret, and only the migrations as the administrator', () => {
    const adminSecret = valueSet === 'external' ? 'plant-postgresql' : 'plantmesh-postgresql';
    const readers = workloads(objects)
      .filter((o) => secretRefs(o).some((ref) => ref.name === adminSecret))
      .map(component)
      .sort();
    expect(readers).toEqual(valueSet === 'external' ? ['migrations'] : ['migrations', 'postgresql']);

    for (const [service, login] of Object.entries(serviceLogins)) {
      const workload = workloads(objects).find((o) => component(o) === service) as Manifest;
      const env = containers(workload).flatMap((c) => c.env ?? []);
      const url = env.find((e) => e.name === 'DATABASE_URL')?.value;
      expect(url, service).toMatch(
        new RegExp(`^postgres://${login.role}@[^:/]+:\\d+/plantmesh(\\?sslmode=verify-full)?$`),
      );
      expect(env.find((e) => e.name === 'PGPASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: `plantmesh-${service}-credentials`,
        key: 'postgres-password',
      });
    }
  });

  it('lets each service connect to RabbitMQ as its own user, and only the migrations as the administrator', () => {
    const adminSecret = valueSet === 'external' ? 'plant-rabbitmq' : 'plantmesh-rabbitmq';
    const readers = workloads(objects)
      .filter((o) => secretRefs(o).some((ref) => ref.name === adminSecret))
      .map(component)
      .sort();
    expect(readers).toEqual(valueSet === 'external' ? ['migrations'] : ['migrations', 'rabbitmq']);
    for (const [service, { user }] of Object.entries(brokerUsers)) {
      const workload = workloads(objects).find((o) => component(o) === service) as Manifest;
      const env = containers(workload).flatMap((c) => c.env ?? []);
      expect(env.find((e) => e.name === 'AMQP_URL')?.value, service).toMatch(
        new RegExp(`^amqps?://${user}:\\$\\(RABBITMQ_PASSWORD\\)@[^:/]+:\\d+$`),
      );
      expect(env.find((e) => e.name === 'RABBITMQ_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: `plantmesh-${service}-credentials`,
        key: 'rabbitmq-password',
      });
    }
  });

  it('gives each service its own credentials Secret, kept across upgrades, read by it and the migrations only', () => {
    for (const service of new Set([...Object.keys(serviceLogins), ...Object.keys(brokerUsers)])) {
      const ownSecret = `plantmesh-${service}-credentials`;
      const others = workloads(objects)
        .filter((o) => secretRefs(o).some((ref) => ref.name === ownSecret))
        .map(component)
        .sort();
      expect(others, service).toEqual(['migrations', service].sort());
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ownSecret);
      expect(secret?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
      expect(Object.keys(secret?.data ?? {}).sort()).toEqual(
        [
          ...(service in serviceLogins ? ['postgres-password'] : []),
          ...(service in brokerUsers ? ['rabbitmq-password'] : []),
        ].sort(),
      );
    }
  });
});
