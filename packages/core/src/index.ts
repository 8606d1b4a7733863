export {
  AmqpClient,
  type AmqpOptions,
  type AmqpPublishOptions,
  type ConfirmChannel,
  type ConsumeMessage,
} from './amqp.js';
export { type BackoffOptions, backoffDelay, sleep } from './backoff.js';
export {
  type BrokerService,
  type BrokerSetup,
  type BrokerUser,
  brokerUrl,
  brokerUserNames,
  brokerUsers,
  checkIngestTopology,
  clientBrokerUsers,
  setupBroker,
} from './broker-setup.js';
export {
  type CheckedYaml,
  checkedYaml,
  DefinitionError,
  type DefinitionProblem,
  pointerPath,
  type SchemaError,
  type SchemaValidator,
} from './checked-yaml.js';
export { appendTo } from './collections.js';
export { ConfigError, type ConfigOf, type EnvShape, env, parseEnv } from './config.js';
export { type ConnectionTracker, trackConnection } from './connection-metrics.js';
export { passwordVariable, urlWithLogin } from './credentials.js';
export {
  catalogExchange,
  declareIngestTopology,
  decodeEventRecord,
  decodeSampleBatch,
  defaultIngestLimits,
  type EventEnvelope,
  type EventIdType,
  encodeEventBatch,
  encodeSampleBatch,
  eventBatchRecords,
  eventRecord,
  type IngestLimits,
  ingest,
  type SampleGroup,
} from './ingest.js';
export {
  isStorableText,
  jsonArrayElements,
  jsonbRefusal,
  jsonObjectMembers,
  numericLimits,
  storableText,
} from './json-text.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createMetricsRegistry } from './metrics.js';
export { type MqttClient, type MqttClientOptions, MqttConnection, type MqttOptions } from './mqtt.js';
export { type OpsServer, startOpsServer } from './ops-server.js';
export { inTransaction, isDataPgError, isTransientPgError, Postgres, type PostgresOptions } from './postgres.js';
export { type QuarantineEntry, quarantineKey, writeQuarantine } from './quarantine.js';
export { Readiness, type ReadinessCheck } from './readiness.js';
export {
  connectPostgres,
  packageVersion,
  runService,
  runtimeEnv,
  type ServiceDefinition,
  type ServiceRuntime,
} from './service.js';
export { Shutdown, type ShutdownStep } from './shutdown.js';
export { quoteIdentifier, quoteLiteral } from './sql.js';
export { extractTraceContext, injectTraceContext, startTracing, type TraceCarrier, type Tracing } from './tracing.js';
