/**
 * The catalog's Kubernetes watcher in the chart (ADR 0019): with services.catalog.kubernetes.watch, the catalog's
 * service account may get, list and watch Services, Deployments and ConfigMaps of the release's namespace —
 * exactly those verbs on exactly those resources, never more, never cluster-wide — and the catalog is told to
 * watch in-cluster that namespace only. Without it, no rule and the watcher off.
 */
import { join } from 'node:path';
import { helmTemplate, type Manifest } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const render = (valueSet: string, set: string[] = []) =>
  helmTemplate(chart, { values: [join(root, `k8s/values-${valueSet}.yaml`)], set });

const rbac = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

function catalogEnv(objects: Manifest[]): Record<string, string | undefined> {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'catalog',
  );
  const env = deployment?.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

describe('the catalog watcher in the chart', () => {
  for (const valueSet of ['development', 'production']) {
    it(`grants only get, list and watch on services, deployments and configmaps (${valueSet})`, () => {
      const objects = render(valueSet, ['services.catalog.kubernetes.watch=true']);
      const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
      expect(roles.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['Role/plantmesh-catalog']);
      const rules = roles[0]?.rules as Rule[];
      // Every rule: exactly get, list, watch; no wildcard, no subresource, no names, no URLs.
      for (const rule of rules) {
        expect([...rule.verbs].sort()).toEqual(['get', 'list', 'watch']);
        expect(rule.resourceNames).toBeUndefined();
        expect(rule.nonResourceURLs).toBeUndefined();
        expect(rule.apiGroups).not.toContain('*');
        expect(rule.resources).not.toContain('*');
      }
      // And together exactly the three kinds the watcher reads.
      const granted = rules.flatMap((rule) => rule.apiGroups.flatMap((g) => rule.resources.map((r) => `${g}/${r}`)));
      expect(granted.sort()).toEqual(['/configmaps', '/services', 'apps/deployments']);
      // Bound to the catalog's service account only, in the release's namespace (a Role: never cluster-wide).
      const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
      expect(bindings.map((b) => b.kind)).toEqual(['RoleBinding']);
      expect(bindings[0]?.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'plantmesh-catalog',
      });
      expect(bindings[0]?.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'plantmesh-catalog', namespace: 'plantmesh' },
      ]);
      // The watcher runs in-cluster over that namespace.
      expect(catalogEnv(objects)).toMatchObject({ KUBERNETES_WATCH: 'in-cluster', KUBERNETES_NAMESPACES: 'plantmesh' });
    });
  }

  it('without the watch: no RBAC object, no token, and the watcher off', () => {
    const objects = render('production');
    expect(objects.filter((o) => rbac.includes(o.kind))).toEqual([]);
    const env = catalogEnv(objects);
    expect(env.KUBERNETES_WATCH).toBe('off');
    expect(env.KUBERNETES_NAMESPACES).toBeUndefined();
  });
});
