/**
 * The Grafana dashboards of plantmesh, built with Grafana's typed dashboard SDK (one module per
 * dashboard in src/, what they share in src/shared.ts) and written as JSON into dashboards/ (which the
 * Helm chart ships as ConfigMaps for Grafana's sidecar, and grafana/provisioning loads locally):
 *   pnpm grafana:dashboards
 * tests/observability checks that the JSON is up to date and runs every query of every panel.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etl } from './src/etl.js';
import { kpis } from './src/kpis.js';
import { mqtt } from './src/mqtt.js';
import { overview } from './src/overview.js';
import { plant } from './src/plant.js';
import { postgresql } from './src/postgresql.js';
import { rabbitmq } from './src/rabbitmq.js';
import { services } from './src/services.js';
import type { DashboardJson } from './src/shared.js';

export function dashboards(): Record<string, DashboardJson> {
  return {
    'plantmesh-overview.json': overview(),
    'plantmesh-services.json': services(),
    'plantmesh-rabbitmq.json': rabbitmq(),
    'plantmesh-mqtt.json': mqtt(),
    'plantmesh-postgresql.json': postgresql(),
    'plantmesh-plant.json': plant(),
    'plantmesh-kpis.json': kpis(),
    'plantmesh-etl.json': etl(),
  };
}

/** Writes the dashboards' JSON files. */
export function writeDashboards(dir = join(import.meta.dirname, 'dashboards')): void {
  for (const [file, definition] of Object.entries(dashboards())) {
    writeFileSync(join(dir, file), `${JSON.stringify(definition, null, 2)}\n`);
  }
}

if (process.argv[1] === import.meta.filename) writeDashboards();
