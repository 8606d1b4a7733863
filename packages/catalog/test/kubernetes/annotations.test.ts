/** The annotation rules on their own: merging by product name, ports, a Service's API, limits. */
import { describe, expect, it } from 'vitest';
import { productsFromObjects, type WatchedObject } from '../../src/kubernetes/index.js';

const dp = (extra: Record<string, string> = {}) => ({ 'plantmesh.dev/data-product': 'true', ...extra });
const object = (
  kind: WatchedObject['kind'],
  name: string,
  annotations: Record<string, string>,
  extra: Partial<WatchedObject> = {},
): WatchedObject => ({ kind, metadata: { name, namespace: 'plant', resourceVersion: '1', annotations }, ...extra });
const read = (objects: WatchedObject[]) => productsFromObjects(objects, { defaultFreshnessSeconds: 86_400 });

describe('Kubernetes annotations', () => {
  it('merges the objects of one product: fields by precedence, ports united', () => {
    const { products, refused } = read([
      object(
        'ConfigMap',
        'twin-config',
        dp({ 'plantmesh.dev/product-name': 'Furnace Twin', 'plantmesh.dev/owner': 'cm' }),
      ),
      object(
        'Service',
        'twin',
        dp({
          'plantmesh.dev/product-name': 'furnace_twin',
          'plantmesh.dev/owner': 'svc',
          'plantmesh.dev/api-port': '443',
        }),
        {
          spec: { ports: [{ name: 'https', port: 443 }] },
        },
      ),
      object(
        'Deployment',
        'furnace_twin',
        dp({ 'plantmesh.dev/tags': 'a, b, a', 'plantmesh.dev/outputs': 'mqtt_topic:x\nmqtt_topic:y' }),
      ),
    ]);
    expect(refused).toEqual([]);
    expect(products).toHaveLength(1);
    expect(products[0]?.product).toMatchObject({
      name: 'furnace_twin',
      owner: 'svc',
      domain: 'plant',
      tags: ['a', 'b'],
      status: 'active',
      freshnessObjectiveSeconds: 86_400,
      ports: [
        { assetId: 'http_api:plant/twin', direction: 'output' },
        { assetId: 'mqtt_topic:x', direction: 'output' },
        { assetId: 'mqtt_topic:y', direction: 'output' },
      ],
    });
    expect(products[0]?.assets[0]?.properties).toMatchObject({ baseUrl: 'https://twin.plant.svc:443' });
    expect(products[0]?.named).toEqual(['mqtt_topic:x', 'mqtt_topic:y']);
  });

  it('takes ports as a JSON array with descriptions, and refuses unknown fields in it', () => {
    const ok = read([
      object(
        'Deployment',
        'm',
        dp({ 'plantmesh.dev/inputs': '[{"assetId": "postgres_table:curated.heats", "description": "heats"}]' }),
      ),
    ]);
    expect(ok.products[0]?.product.ports).toEqual([
      { assetId: 'postgres_table:curated.heats', direction: 'input', description: 'heats' },
    ]);
    const bad = read([
      object('Deployment', 'm', dp({ 'plantmesh.dev/inputs': '[{"assetId": "mqtt_topic:x", "evil": 1}]' })),
    ]);
    expect(bad.products).toEqual([]);
    expect(bad.refused[0]).toMatchObject({ object: 'plant/Deployment/m', annotation: 'plantmesh.dev/inputs' });
  });

  it('ignores objects not opted in, and refuses wrong values with the reason', () => {
    const { products, refused } = read([
      object('Deployment', 'off', { 'plantmesh.dev/data-product': 'yes', 'plantmesh.dev/owner': '<b>x</b>' }),
      object('Deployment', 'status', dp({ 'plantmesh.dev/status': 'live' })),
      object('Deployment', 'fresh', dp({ 'plantmesh.dev/freshness-objective-seconds': '1e3' })),
      object(
        'Deployment',
        'tags',
        dp({ 'plantmesh.dev/tags': Array.from({ length: 51 }, (_, i) => `t${i}`).join(',') }),
      ),
      object('Service', 'noport', dp({ 'plantmesh.dev/api-port': 'grpc' }), {
        spec: { ports: [{ name: 'http', port: 80 }] },
      }),
      object('Service', 'query', dp({ 'plantmesh.dev/openapi-path': '/doc?x=1' }), { spec: { ports: [{ port: 80 }] } }),
      object('Deployment', 'lt', dp({ 'plantmesh.dev/description': 'keep temperature < 1300 and > 900' })),
    ]);
    expect(products.map((p) => p.product.name)).toEqual(['lt']);
    expect(refused.map((r) => [r.object, r.annotation])).toEqual([
      ['plant/Deployment/fresh', 'plantmesh.dev/freshness-objective-seconds'],
      ['plant/Deployment/status', 'plantmesh.dev/status'],
      ['plant/Deployment/tags', 'plantmesh.dev/tags'],
      ['plant/Service/noport', 'plantmesh.dev/api-port'],
      ['plant/Service/query', 'plantmesh.dev/openapi-path'],
    ]);
  });
});
