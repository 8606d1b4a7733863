import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  version: string;
  level?: string;
  /** stdout unless given (tests capture the lines). */
  destination?: DestinationStream;
}

/** An error as pino writes it, less the peer certificate a TLS error carries (kilobytes of DER). */
function serializeError(error: Error): Record<string, unknown> {
  const { cert: _cert, ...serialized } = pino.stdSerializers.err(error) as Record<string, unknown>;
  return serialized;
}

/** JSON logs to stdout with service, version and, inside a span, its trace and span ids. */
export function createLogger({ service, version, level = 'info', destination }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, version },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: serializeError },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const spanContext = span.spanContext();
      return isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
