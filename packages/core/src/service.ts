import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError, type ConfigOf, type EnvShape, env, parseEnv } from './config.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { type OpsServer, startOpsServer } from './ops-server.js';
import { Postgres } from './postgres.js';
import { Readiness } from './readiness.js';
import { Shutdown } from './shutdown.js';
import { startTracing } from './tracing.js';

/** The version field of a package.json. */
export function packageVersion(packageJson: URL): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/** Variables every service reads, besides its own. */
export const runtimeEnv = {
  OPS_HOST: env.string().default('0.0.0.0'),
  OPS_PORT: env.port().default(9464),
  LOG_LEVEL: env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: env.int(100).default(25_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url(['http', 'https']).optional(),
};

export interface ServiceDefinition<S extends EnvShape> {
  name: string;
  /** The service's package.json, for its version: `new URL('../package.json', import.meta.url)`. */
  packageJson: URL;
  env: S;
}

export interface ServiceRuntime<S extends EnvShape> {
  name: string;
  version: string;
  config: ConfigOf<S & typeof runtimeEnv>;
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Register closing steps here; they run in reverse order on SIGTERM/SIGINT. */
  shutdown: Shutdown;
  ops: OpsServer;
}

/**
 * A PostgreSQL pool of the service's, checked now and watched: its readiness joins /readyz as `target`
 * and it closes on shutdown.
 */
export async function connectPostgres(
  runtime: Pick<ServiceRuntime<EnvShape>, 'name' | 'log' | 'metrics' | 'readiness' | 'shutdown'>,
  url: string,
  target: string,
): Promise<Postgres> {
  const postgres = new Postgres({
    url,
    log: runtime.log,
    metrics: runtime.metrics,
    target,
    applicationName: runtime.name,
  });
  await postgres.start();
  runtime.readiness.register(target, () => postgres.ready);
  runtime.shutdown.add(target, () => postgres.close());
  return postgres;
}

/**
 * Starts a service: validates its configuration (a bad variable exits 2 with one line naming it),
 * then logging, tracing, metrics and the ops port, and hands over to `main`, which connects to what
 * it needs and registers its readiness checks and shutdown steps.
 */
export async function runService<S extends EnvShape>(
  definition: ServiceDefinition<S>,
  main: (runtime: ServiceRuntime<S>) => Promise<void>,
): Promise<void> {
  let config: ConfigOf<S & typeof runtimeEnv>;
  try {
    config = parseEnv({ ...runtimeEnv, ...definition.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${definition.name}: ${error.message}\n`);
    process.exit(2);
  }
  const version = packageVersion(definition.packageJson);
  const log = createLogger({ service: definition.name, version, level: config.LOG_LEVEL });
  const fail = (error: unknown, message: string) => {
    log.fatal({ err: error }, message);
    process.exit(1);
  };
  process.on('uncaughtException', (error) => fail(error, 'uncaught exception'));
  process.on('unhandledRejection', (error) => fail(error, 'unhandled rejection'));

  const tracing = startTracing(definition.name, version, config.OTEL_EXPORTER_OTLP_ENDPOINT);
  const metrics = createMetricsRegistry(definition.name);
  const readiness = new Readiness();
  const shutdown = new Shutdown(log, config.SHUTDOWN_TIMEOUT_MS);
  shutdown.add('tracing', () => tracing.shutdown());
  shutdown.listen();
  // Not ready before `main` has connected everything and registered its own checks.
  let started = false;
  readiness.register('started', () => started);
  const ops = await startOpsServer(config.OPS_HOST, config.OPS_PORT, metrics, readiness);
  shutdown.add('ops server', () => ops.close());
  log.info({ opsPort: ops.port }, 'starting');
  try {
    await main({ name: definition.name, version, config, log, metrics, readiness, shutdown, ops });
  } catch (error) {
    if (shutdown.stopping) return;
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(2);
    }
    fail(error, 'start failed');
  }
  started = true;
  log.info('started');
}
