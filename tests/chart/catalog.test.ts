import { join } from 'node:path';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const render = (valueSet: string, set: string[] = []) =>
  helmTemplate(chart, { values: [join(root, `k8s/values-${valueSet}.yaml`)], set });

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
const component = (o: Manifest) => o.metadata.labels?.['app.kubernetes.io/component'];
const ofCatalog = (objects: Manifest[], kind: string) =>
  objects.filter((o) => o.kind === kind && component(o) === 'catalog');

describe('the catalog in the chart', () => {
  it('runs as its own login with its API behind its Service, the registration token from its own Secret', () => {
    const objects = render('production');
    const [deployment] = ofCatalog(objects, 'Deployment');
    const container = deployment?.spec.template.spec.containers[0];
    expect(container.image).toBe('registry.plant.local/plantmesh/plantmesh-catalog:0.1.0');
    expect(container.ports).toContainEqual({ name: 'api', containerPort: 8080, protocol: 'TCP' });
    const env = Object.fromEntries((container.env as EnvVar[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      DATABASE_URL: 'postgres://plantmesh_catalog@plantmesh-postgresql:5432/plantmesh?sslmode=verify-full',
      PGPASSWORD: { secretKeyRef: { name: 'plantmesh-catalog-credentials', key: 'postgres-password' } },
      REGISTRATION_TOKEN: { secretKeyRef: { name: 'plantmesh-catalog-registration', key: 'token' } },
      CATALOG_PORT: '8080',
      CATALOG_PUBLIC_URL: 'http://plantmesh-catalog.plantmesh.svc:80',
      I3X_URL: 'https://plantmesh-i3x-api.plantmesh.svc:443',
      EVENTS_READER_TOPICS: expect.any(String),
      // Its registration events (ADR 0021), as its own RabbitMQ user over AMQPS, the password from its own Secret.
      RABBITMQ_PASSWORD: { secretKeyRef: { name: 'plantmesh-catalog-credentials', key: 'rabbitmq-password' } },
      AMQP_URL: 'amqps://plantmesh-catalog:$(RABBITMQ_PASSWORD)@plantmesh-rabbitmq:5671',
    });
    // The password is defined before the URL that names it (Kubernetes expands only earlier variables).
    const names = (container.env as EnvVar[]).map((e) => e.name);
    expect(names.indexOf('RABBITMQ_PASSWORD')).toBeLessThan(names.indexOf('AMQP_URL'));
    const credentials = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'plantmesh-catalog-credentials');
    expect(Object.keys(credentials?.data ?? {}).sort()).toEqual(['postgres-password', 'rabbitmq-password']);
    const [service] = ofCatalog(objects, 'Service');
    expect(service?.spec.ports).toContainEqual({ name: 'api', port: 80, targetPort: 'api', protocol: 'TCP' });
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'plantmesh-catalog-registration');
    expect(secret?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(Buffer.from(secret?.data.token, 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
    // The migrations Job sets its login's password.
    const job = objects.find((o) => o.kind === 'Job') as Manifest;
    expect(
      (job.spec.template.spec.containers[0].env as EnvVar[]).find((e) => e.name === 'CATALOG_DB_PASSWORD')?.valueFrom,
    ).toEqual({
      secretKeyRef: { name: 'plantmesh-catalog-credentials', key: 'postgres-password' },
    });
    // ... and its RabbitMQ user's, which only the catalog reads besides.
    expect(
      (job.spec.template.spec.containers[0].env as EnvVar[]).find((e) => e.name === 'CATALOG_AMQP_PASSWORD')?.valueFrom,
    ).toEqual({
      secretKeyRef: { name: 'plantmesh-catalog-credentials', key: 'rabbitmq-password' },
    });
    // Egress to RabbitMQ's AMQPS port (its events), and to PostgreSQL.
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-catalog');
    const egressPorts = (
      (policy as Manifest).spec.egress as Array<{ ports: Array<{ port: number }>; to?: unknown[] }>
    ).map((rule) => JSON.stringify({ to: rule.to, ports: rule.ports }));
    expect(egressPorts.some((rule) => rule.includes('"rabbitmq"') && rule.includes('"port":5671'))).toBe(true);
  });

  it('has no Kubernetes API access unless asked, and then only get/list/watch on what it discovers', () => {
    const off = render('production');
    expect(off.filter((o) => ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))).toEqual(
      [],
    );
    expect(ofCatalog(off, 'ServiceAccount')[0]?.automountServiceAccountToken).toBe(false);
    expect(ofCatalog(off, 'Deployment')[0]?.spec.template.spec.automountServiceAccountToken).toBe(false);

    const on = render('production', ['services.catalog.kubernetes.watch=true']);
    const [account] = ofCatalog(on, 'ServiceAccount');
    expect(account?.automountServiceAccountToken).toBe(true);
    expect(ofCatalog(on, 'Deployment')[0]?.spec.template.spec.automountServiceAccountToken).toBe(true);
    const roles = on.filter((o) => ['Role', 'ClusterRole'].includes(o.kind));
    expect(roles.map((r) => r.kind)).toEqual(['Role']);
    expect(roles[0]?.rules).toEqual([
      { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
    ]);
    const binding = on.find((o) => o.kind === 'RoleBinding');
    expect(binding?.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'plantmesh-catalog',
    });
    expect(binding?.subjects).toEqual([
      { kind: 'ServiceAccount', name: account?.metadata.name, namespace: 'plantmesh' },
    ]);
    // Every other service account still has no token.
    expect(
      on.filter((o) => o.kind === 'ServiceAccount' && o.automountServiceAccountToken !== false).map(component),
    ).toEqual(['catalog']);
    // Its NetworkPolicy lets it reach the API server's port, and its readers in only as values allow.
    const policy = on.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-catalog');
    expect(policy?.spec.egress).toContainEqual({ ports: [{ port: 443, protocol: 'TCP' }] });
    const readers = render('production', [
      'networkPolicy.catalogFrom[0].namespaceSelector.matchLabels.team=analytics',
    ]).find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-catalog');
    expect(readers?.spec.ingress).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { team: 'analytics' } } }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
  });

  it("reads the I3X API's document with a key from a Secret when given one, through its own arrow", () => {
    const objects = render('production', ['services.catalog.i3xKey.existingSecret=catalog-i3x-key']);
    const env = ofCatalog(objects, 'Deployment')[0]?.spec.template.spec.containers[0].env as EnvVar[];
    expect(env.find((e) => e.name === 'I3X_API_KEY')?.valueFrom).toEqual({
      secretKeyRef: { name: 'catalog-i3x-key', key: 'api-key' },
    });
    const policy = (name: string) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name);
    expect(policy('plantmesh-catalog')?.spec.egress).toContainEqual({
      to: [{ podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/component': 'i3x-api' }) } }],
      ports: [{ port: 8443, protocol: 'TCP' }],
    });
    expect(JSON.stringify(policy('plantmesh-i3x-api')?.spec.ingress)).toContain(
      '"app.kubernetes.io/component":"catalog"',
    );
    const without = render('production');
    expect(
      ((ofCatalog(without, 'Deployment')[0] as Manifest).spec.template.spec.containers[0].env as EnvVar[]).some(
        (e) => e.name === 'I3X_API_KEY',
      ),
    ).toBe(false);
    expect(
      JSON.stringify(
        without.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-catalog')?.spec.egress,
      ),
    ).not.toContain('i3x-api');
  });

  it('can be switched off', () => {
    const objects = render('development', ['services.catalog.enabled=false']);
    expect(objects.filter((o) => component(o) === 'catalog')).toEqual([]);
  });
});
