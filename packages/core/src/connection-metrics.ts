import { Counter, Gauge, type Registry } from 'prom-client';

export interface ConnectionTracker {
  /** Records the connection's state; a change from up to down counts as a lost connection. */
  set(up: boolean): void;
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * `plantmesh_connection_up{target}` and `plantmesh_connection_losses_total{target}` for one connection
 * (postgres, amqp, mqtt), shared by every connection of a service. Without a registry it records nothing.
 */
export function trackConnection(registry: Registry | undefined, target: string): ConnectionTracker {
  if (!registry) return { set: () => {} };
  const up = metric(
    registry,
    'plantmesh_connection_up',
    () =>
      new Gauge({
        name: 'plantmesh_connection_up',
        help: '1 while the connection to the target is up',
        labelNames: ['target'],
        registers: [registry],
      }),
  );
  const losses = metric(
    registry,
    'plantmesh_connection_losses_total',
    () =>
      new Counter({
        name: 'plantmesh_connection_losses_total',
        help: 'Times the connection to the target was lost (each is followed by reconnect attempts)',
        labelNames: ['target'],
        registers: [registry],
      }),
  );
  up.set({ target }, 0);
  losses.inc({ target }, 0);
  let current = false;
  return {
    set(state) {
      if (current && !state) losses.inc({ target });
      current = state;
      up.set({ target }, state ? 1 : 0);
    },
  };
}
