import { type Context, context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry when an OTLP endpoint is configured; otherwise tracing stays off and the
 * API's no-op tracer costs nothing. The exporter also reads the standard OTEL_EXPORTER_OTLP_* variables.
 */
export function startTracing(service: string, version: string, otlpEndpoint: string | undefined): Tracing {
  if (!otlpEndpoint) return { shutdown: async () => {} };
  process.env.OTEL_SERVICE_NAME ??= service;
  process.env.OTEL_RESOURCE_ATTRIBUTES = [process.env.OTEL_RESOURCE_ATTRIBUTES, `service.version=${version}`]
    .filter(Boolean)
    .join(',');
  // OTLP/HTTP's base-endpoint rule: traces go to <endpoint>/v1/traces unless a traces endpoint is set.
  const url = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
  const sdk = new NodeSDK({ traceExporter: new OTLPTraceExporter({ url }), instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * A message's headers as they travel: MQTT v5 user properties (string or string[] values) and AMQP
 * headers (strings, or Buffers after a round trip through some clients) both fit this shape.
 */
export type TraceCarrier = Record<string, unknown>;

// The W3C propagator is used directly, not the global one, so that the trace context travels with
// a message even through a service whose own tracing is off.
const propagator = new W3CTraceContextPropagator();

const setter: TextMapSetter<TraceCarrier> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(String);
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return undefined;
  },
};

/** Writes `traceparent` (and `tracestate`) of the given context into MQTT user properties or AMQP headers. */
export function injectTraceContext<C extends TraceCarrier>(carrier: C, from: Context = context.active()): C {
  propagator.inject(from, carrier, setter);
  return carrier;
}

/** Reads the trace context from MQTT user properties or AMQP headers; the active context when absent. */
export function extractTraceContext(carrier: TraceCarrier | undefined, into: Context = context.active()): Context {
  return carrier ? propagator.extract(into, carrier, getter) : into;
}
