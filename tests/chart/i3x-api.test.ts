import { createPrivateKey, X509Certificate } from 'node:crypto';
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
const api = (objects: Manifest[]) =>
  objects.find((o) => o.kind === 'Deployment' && component(o) === 'i3x-api') as Manifest;
const envOf = (objects: Manifest[]) =>
  Object.fromEntries(
    (api(objects).spec.template.spec.containers[0].env as EnvVar[]).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

describe('the I3X API in the chart', () => {
  it('serves HTTPS on its port behind its Service, with a self-signed certificate made for development', () => {
    const objects = render('development');
    const container = api(objects).spec.template.spec.containers[0];
    expect(container.image).toBe('plantmesh/plantmesh-i3x-api:0.1.0');
    expect(container.ports).toContainEqual({ name: 'api', containerPort: 8443, protocol: 'TCP' });
    const env = envOf(objects);
    expect(env).toMatchObject({
      I3X_PORT: '8443',
      TLS_CERT_FILE: '/etc/plantmesh-i3x-tls/tls.crt',
      TLS_KEY_FILE: '/etc/plantmesh-i3x-tls/tls.key',
      DATABASE_URL: 'postgres://plantmesh_i3x_api@plantmesh-postgresql:5432/plantmesh',
      RATE_LIMIT_MAX: '6000',
    });
    expect(env.ALLOW_PLAIN_HTTP).toBeUndefined();
    expect(env.OIDC_ISSUER).toBeUndefined();
    expect(api(objects).spec.template.spec.volumes).toContainEqual({
      name: 'i3x-tls',
      secret: {
        secretName: 'plantmesh-i3x-api-tls',
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ],
      },
    });
    const service = objects.find((o) => o.kind === 'Service' && component(o) === 'i3x-api');
    expect(service?.spec.ports).toContainEqual({ name: 'api', port: 443, targetPort: 'api', protocol: 'TCP' });
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'plantmesh-i3x-api-tls') as Manifest;
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const certificate = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    expect(certificate.subjectAltName).toContain('DNS:plantmesh-i3x-api.plantmesh.svc');
    expect(certificate.checkPrivateKey(createPrivateKey(Buffer.from(secret.data['tls.key'], 'base64')))).toBe(true);
  });

  it('takes its certificate from cert-manager, tokens from the plant IAM, and clients through an Ingress in production', () => {
    const objects = render('production');
    const env = envOf(objects);
    expect(env).toMatchObject({
      OIDC_ISSUER: 'https://keycloak.plant.local/realms/plant',
      OIDC_AUDIENCE: 'plantmesh-i3x',
      OIDC_SCOPES_CLAIM: 'scope',
      OIDC_SCOPE_PREFIX: 'i3x:',
      TRUST_PROXY: '1',
      NODE_EXTRA_CA_CERTS: '/etc/plantmesh-ca/ca.crt',
    });
    const certificate = objects.find((o) => o.kind === 'Certificate' && component(o) === 'i3x-api');
    expect(certificate?.spec).toMatchObject({
      secretName: 'plantmesh-i3x-api-tls',
      issuerRef: { name: 'plant-ca', kind: 'ClusterIssuer' },
    });
    expect(certificate?.spec.dnsNames).toEqual(
      expect.arrayContaining(['plantmesh-i3x-api', 'plantmesh-i3x-api.plantmesh.svc', 'i3x.plant.local']),
    );
    expect(objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'plantmesh-i3x-api-tls')).toBeUndefined();
    const ingress = objects.find((o) => o.kind === 'Ingress') as Manifest;
    expect(ingress.spec).toMatchObject({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['i3x.plant.local'], secretName: 'plantmesh-i3x-ingress-tls' }],
      rules: [
        {
          host: 'i3x.plant.local',
          http: {
            paths: [
              {
                path: '/v1',
                pathType: 'Prefix',
                backend: { service: { name: 'plantmesh-i3x-api', port: { name: 'api' } } },
              },
            ],
          },
        },
      ],
    });
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget' && component(o) === 'i3x-api')).toBeDefined();
  });

  it('serves plain HTTP only when HTTPS is turned off, uses a given certificate Secret, and says what is missing', () => {
    const plain = render('development', ['services.i3xApi.https.enabled=false']);
    expect(envOf(plain).ALLOW_PLAIN_HTTP).toBe('true');
    expect(envOf(plain).TLS_CERT_FILE).toBeUndefined();
    expect(plain.find((o) => o.kind === 'Secret' && o.metadata.name === 'plantmesh-i3x-api-tls')).toBeUndefined();
    const given = render('development', ['services.i3xApi.https.existingSecret=plant-i3x-tls']);
    expect(given.find((o) => o.metadata.name === 'plantmesh-i3x-api-tls')).toBeUndefined();
    expect(
      api(given).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'i3x-tls').secret.secretName,
    ).toBe('plant-i3x-tls');
    expect(() => render('development', ['services.i3xApi.oidc.issuer=https://idp.example'])).toThrow(
      /services.i3xApi.oidc.audience is required/,
    );
    expect(() => render('development', ['services.i3xApi.ingress.enabled=true'])).toThrow(
      /services.i3xApi.ingress.host is required/,
    );
    expect(() => render('development', ['services.i3xApi.port=443'])).toThrow(/port.*minimum/);
    expect(
      render('development', ['services.i3xApi.enabled=false']).filter(
        (o) => component(o) === 'i3x-api' && o.kind !== 'NetworkPolicy',
      ),
    ).toEqual([]);
  });
});
