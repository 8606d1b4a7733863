import { join } from 'node:path';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const render = (valueSet: string, set: string[] = []) =>
  helmTemplate(chart, { values: [join(root, `k8s/values-${valueSet}.yaml`)], set });

const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'] as string;
const plantmeshWorkloads = (objects: Manifest[]) =>
  objects.filter(
    (o) =>
      ['Deployment', 'StatefulSet', 'Job'].includes(o.kind) &&
      [
        'events-reader',
        'sensors-reader',
        'amqp-writer',
        'etl-curated',
        'etl-business',
        'i3x-api',
        'migrations',
      ].includes(component(o)),
  );
const envOf = (o: Manifest) =>
  Object.fromEntries(
    (o.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]),
  );

describe('TLS in the chart', () => {
  it('renders every connection verified against the mounted CA with the production values', () => {
    const objects = render('production');
    for (const workload of plantmeshWorkloads(objects)) {
      const name = component(workload);
      const env = envOf(workload);
      expect(env.NODE_EXTRA_CA_CERTS, name).toBe('/etc/plantmesh-ca/ca.crt');
      expect(workload.spec.template.spec.containers[0].volumeMounts, name).toContainEqual({
        name: 'plantmesh-ca',
        mountPath: '/etc/plantmesh-ca',
        readOnly: true,
      });
      expect(workload.spec.template.spec.volumes, name).toContainEqual({
        name: 'plantmesh-ca',
        secret: { secretName: 'plant-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
      });
      if (env.DATABASE_URL)
        expect(env.DATABASE_URL, name).toMatch(/@plantmesh-postgresql:5432\/plantmesh\?sslmode=verify-full$/);
      if (env.AMQP_URL) expect(env.AMQP_URL, name).toMatch(/^amqps:\/\/.*@plantmesh-rabbitmq:5671$/);
      if (env.MQTT_URL)
        expect(env.MQTT_URL, name).toMatch(/^mqtts:\/\/plantmesh-mqtt-(events|sensors)\.plantmesh\.svc:8883$/);
    }
    const job = plantmeshWorkloads(objects).find((o) => component(o) === 'migrations') as Manifest;
    expect(envOf(job).RABBITMQ_MANAGEMENT_URL).toMatch(/^https:\/\/plantmesh:.*@plantmesh-rabbitmq:15671$/);

    // Each server has its certificate for the names the platform reaches it by, and listens with it.
    for (const server of ['postgresql', 'rabbitmq']) {
      const certificate = objects.find(
        (o) => o.kind === 'Certificate' && o.metadata.name === `plantmesh-${server}-tls`,
      );
      expect(certificate?.spec).toMatchObject({
        secretName: `plantmesh-${server}-tls`,
        issuerRef: { name: 'plant-ca', kind: 'ClusterIssuer' },
        dnsNames: [
          `plantmesh-${server}`,
          `plantmesh-${server}.plantmesh.svc`,
          `plantmesh-${server}.plantmesh.svc.cluster.local`,
        ],
      });
    }
    const postgres = objects.find((o) => o.kind === 'StatefulSet' && component(o) === 'postgresql') as Manifest;
    expect(postgres.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['ssl=on', 'ssl_key_file=/etc/postgresql-tls/tls.key']),
    );
    const rabbitConfig = objects.find((o) => o.kind === 'ConfigMap' && component(o) === 'rabbitmq')?.data[
      'rabbitmq.conf'
    ];
    expect(rabbitConfig).toContain('listeners.tcp = none\n');
    expect(rabbitConfig).toContain('listeners.ssl.default = 5671\n');
    expect(rabbitConfig).toContain('management.ssl.port = 15671\n');
  });

  it('renders plain connections without a CA with the development values (as plantmesh up runs)', () => {
    const objects = render('development');
    for (const workload of plantmeshWorkloads(objects)) {
      const env = envOf(workload);
      expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
      if (env.AMQP_URL) expect(env.AMQP_URL).toMatch(/^amqp:\/\/.*:5672$/);
      if (env.DATABASE_URL) expect(env.DATABASE_URL).not.toContain('sslmode');
    }
    expect(objects.filter((o) => o.kind === 'Certificate')).toEqual([]);
  });

  it('says what is missing when TLS is asked for without what it needs', () => {
    expect(() => render('production', ['tls.caSecret='])).toThrow(/caSecret/);
    expect(() => render('production', ['mqtt.tls.enabled=false'])).toThrow(
      /tls.enabled needs mqtt.tls.enabled: the readers use the brokers' TLS listener/,
    );
  });
});
