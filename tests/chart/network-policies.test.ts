import { join } from 'node:path';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: unknown;
  ipBlock?: { cidr: string };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ port: number }>;
}

/** A peer as a name: the component its pod selector picks, or what values let in from outside. */
function peerName(peer: Peer): string {
  const component = peer.podSelector?.matchLabels?.['app.kubernetes.io/component'];
  if (component) return component;
  if (peer.ipBlock) return `cidr:${peer.ipBlock.cidr}`;
  return `namespaces:${JSON.stringify(peer.namespaceSelector)}`;
}

/**
 * The flows the rendered policies allow: an arrow counts when its source may send (egress) and its
 * destination may receive (ingress) on the same port; peers outside the release only need ingress.
 */
function allowedFlows(objects: Manifest[]): { flows: string[]; oneSided: string[] } {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const egress = new Set<string>();
  const ingress = new Set<string>();
  for (const policy of policies) {
    const self = policy.spec.podSelector.matchLabels?.['app.kubernetes.io/component'];
    if (!self) continue;
    for (const rule of (policy.spec.egress ?? []) as Rule[]) {
      for (const peer of rule.to ?? [])
        for (const { port } of rule.ports ?? []) egress.add(`${self} -> ${peerName(peer)}:${port}`);
    }
    for (const rule of (policy.spec.ingress ?? []) as Rule[]) {
      for (const peer of rule.from ?? [])
        for (const { port } of rule.ports ?? []) ingress.add(`${peerName(peer)} -> ${self}:${port}`);
    }
  }
  const components = new Set(policies.map((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/component']));
  const flows = [...ingress].filter((flow) => egress.has(flow) || !components.has(flow.split(' -> ')[0])).sort();
  const oneSided = [...egress].filter((flow) => !ingress.has(flow)).sort();
  return { flows, oneSided };
}

describe('NetworkPolicies', () => {
  const values = [join(root, 'k8s/values-production.yaml')];
  const objects = helmTemplate(chart, { values });

  it('deny everything by default for every pod of the release, but name resolution', () => {
    const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith('-default-deny'));
    expect(deny?.spec.podSelector.matchLabels).toEqual({
      'app.kubernetes.io/instance': 'plantmesh',
      'app.kubernetes.io/part-of': 'plantmesh',
    });
    expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny?.spec.ingress).toBeUndefined();
    expect(deny?.spec.egress).toEqual([
      {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    ]);
    // Every workload carries the labels the default deny selects.
    for (const workload of objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
      expect(workload.spec.template.metadata.labels).toMatchObject(deny?.spec.podSelector.matchLabels);
    }
  });

  it('allow exactly the arrows of the data flow, and ingress from outside only from what values allow', () => {
    const plant = 'cidr:10.20.0.0/16';
    const prometheus = 'namespaces:{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}';
    const ingressController = 'namespaces:{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}';
    const expected = [
      // DESIGN.md "Data flow": plant -> brokers -> readers -> RabbitMQ -> writer -> PostgreSQL, and
      // raw.events --etl-curated--> curated.* --etl-business--> business.* inside PostgreSQL.
      `${plant} -> mqtt-events:1883`,
      `${plant} -> mqtt-sensors:1883`,
      // MQTT over TLS, on in the production values.
      `${plant} -> mqtt-events:8883`,
      `${plant} -> mqtt-sensors:8883`,
      // TLS is on in the production values: the readers use the brokers' TLS listener, RabbitMQ
      // listens on AMQPS and HTTPS only.
      'events-reader -> mqtt-events:8883',
      'sensors-reader -> mqtt-sensors:8883',
      'events-reader -> rabbitmq:5671',
      'sensors-reader -> rabbitmq:5671',
      'amqp-writer -> rabbitmq:5671',
      'amqp-writer -> postgresql:5432',
      'etl-curated -> postgresql:5432',
      'etl-business -> postgresql:5432',
      // The I3X API reads the stores (and syncs the model); its clients come in through the Ingress.
      'i3x-api -> postgresql:5432',
      // Its subscriptions are fed by the live stream.
      'i3x-api -> rabbitmq:5671',
      `${ingressController} -> i3x-api:8443`,
      // The catalog discovers from every store (PostgreSQL's catalogs and the data); its readers come in
      // only as networkPolicy.catalogFrom allows (nobody in these values).
      'catalog -> postgresql:5432',
      // It publishes its registration events on RabbitMQ (ADR 0021).
      'catalog -> rabbitmq:5671',
      'migrations -> postgresql:5432',
      // The migrations declare the RabbitMQ topology and the services' users (management API).
      'migrations -> rabbitmq:5671',
      'migrations -> rabbitmq:15671',
      // RabbitMQ nodes form their cluster.
      'rabbitmq -> rabbitmq:4369',
      'rabbitmq -> rabbitmq:25672',
      // Prometheus scrapes every ops port.
      `${prometheus} -> events-reader:9464`,
      `${prometheus} -> sensors-reader:9464`,
      `${prometheus} -> amqp-writer:9464`,
      `${prometheus} -> etl-curated:9464`,
      `${prometheus} -> etl-business:9464`,
      `${prometheus} -> i3x-api:9464`,
      `${prometheus} -> catalog:9464`,
      `${prometheus} -> rabbitmq:15692`,
      `${prometheus} -> mqtt-events:8888`,
      `${prometheus} -> mqtt-sensors:8888`,
    ].sort();
    const { flows, oneSided } = allowedFlows(objects);
    expect(flows).toEqual(expected);
    expect(oneSided).toEqual([]);
  });

  it('reach external infrastructure by port only, and nothing outside the release may publish unless allowed', () => {
    const external = helmTemplate(chart, { values: [join(root, 'k8s/values-external.yaml')] });
    const writer = external.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-amqp-writer');
    expect(writer?.spec.egress).toEqual([
      { ports: [{ port: 5672, protocol: 'TCP' }] },
      { ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    // The ETLs reach PostgreSQL only.
    for (const etl of ['etl-curated', 'etl-business']) {
      const policy = external.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `plantmesh-${etl}`);
      expect(policy?.spec.egress, etl).toEqual([{ ports: [{ port: 5432, protocol: 'TCP' }] }]);
    }
    expect(allowedFlows(external).flows).toEqual([]);
    // The I3X API reaches PostgreSQL and RabbitMQ only (and, with an identity provider, its issuer's port).
    const api = external.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-i3x-api');
    expect(api?.spec.egress).toEqual([
      { ports: [{ port: 5432, protocol: 'TCP' }] },
      { ports: [{ port: 5672, protocol: 'TCP' }] },
    ]);
    const production = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plantmesh-i3x-api');
    expect(production?.spec.egress).toEqual([
      expect.objectContaining({ ports: [{ port: 5432, protocol: 'TCP' }] }),
      expect.objectContaining({ ports: [{ port: 5671, protocol: 'TCP' }] }),
      { ports: [{ port: 443, protocol: 'TCP' }] },
    ]);

    const closed = helmTemplate(chart, {
      values: [join(root, 'k8s/values-development.yaml')],
      set: ['networkPolicy.mqttFrom=null', 'networkPolicy.i3xFrom=null'],
    });
    expect(allowedFlows(closed).flows.filter((flow) => flow.startsWith('namespaces:{}'))).toEqual([]);
  });
});
