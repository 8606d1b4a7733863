export { type HelmResult, helm, helmBinary, helmTemplate, type Manifest } from './helm.js';
export { ensureInstalled, type ServerKind } from './install.js';
export { LocalServer, type ServerOptions } from './local-server.js';
export { ManagedProcess, type ProcessSpec } from './managed-process.js';
export { MosquittoServer, type MosquittoServerOptions, type MqttUser } from './mosquitto.js';
export { freePort, isPortOpen, waitFor } from './ports.js';
export { PostgresServer, type PostgresServerOptions } from './postgres.js';
export {
  type PrometheusQueryResult,
  PrometheusServer,
  type PrometheusServerOptions,
  type ScrapeTarget,
} from './prometheus.js';
export { RabbitMqServer, type RabbitMqServerOptions } from './rabbitmq.js';
export { type PlatformServers, startPlatformServers } from './servers.js';
export { type ServiceProcessOptions, startServiceProcess } from './service-process.js';
export { TestCa, type TlsFiles } from './tls.js';
