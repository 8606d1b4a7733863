import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry whose every series carries the service label; Node's process metrics included. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
