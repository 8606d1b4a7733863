import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled, helmTemplate } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'charts/plantmesh');
const rules = join(chart, 'files/alerts.yaml');
const values = [join(root, 'k8s/values-development.yaml')];

describe('alert rules', () => {
  const { promtool } = ensureInstalled('promtool');

  it('are valid rules and behave as their unit tests say (promtool)', () => {
    expect(execFileSync(promtool, ['check', 'rules', rules], { encoding: 'utf8' })).toMatch(/SUCCESS: 17 rules found/);
    const output = execFileSync(promtool, ['test', 'rules', join(import.meta.dirname, 'alerts.promtool.yaml')], {
      encoding: 'utf8',
    });
    expect(output).toMatch(/SUCCESS/);
  });

  it('ship in the chart as a PrometheusRule, with a ServiceMonitor, when the operator CRDs exist', () => {
    const withOperator = helmTemplate(chart, { values, apiVersions: ['monitoring.coreos.com/v1'] });
    const rule = withOperator.find((o) => o.kind === 'PrometheusRule');
    expect(rule?.spec).toEqual(parse(readFileSync(rules, 'utf8')));
    const monitor = withOperator.find((o) => o.kind === 'ServiceMonitor');
    expect(monitor?.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(['ops', 'metrics']);
    // Every Service it selects has a port it scrapes.
    const selected = withOperator.filter(
      (o) =>
        o.kind === 'Service' &&
        Object.entries(monitor?.spec.selector.matchLabels ?? {}).every(
          ([key, value]) => o.metadata.labels?.[key] === value,
        ),
    );
    expect(selected.length).toBeGreaterThan(4);

    const plain = helmTemplate(chart, { values });
    expect(plain.filter((o) => ['PrometheusRule', 'ServiceMonitor'].includes(o.kind))).toEqual([]);
  });
});
