import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  ConfigError,
  env,
  extractTraceContext,
  injectTraceContext,
  isTransientPgError,
  parseEnv,
} from '../src/index.js';

describe('parseEnv', () => {
  const shape = { PORT: env.port().default(8080), DATABASE_URL: env.url(['postgres']), MODE: env.oneOf(['a', 'b']) };

  it('parses, coerces and applies defaults', () => {
    const config = parseEnv(shape, { DATABASE_URL: 'postgres://x@127.0.0.1/db', MODE: 'b' });
    expect(config).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://x@127.0.0.1/db', MODE: 'b' });
  });

  it('names every bad variable and what it expects, on one line', () => {
    const attempt = () => parseEnv(shape, { PORT: 'eighty', DATABASE_URL: 'http://nope', MODE: '' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toMatch(/PORT must be a port number \(got "eighty"\)/);
      expect(message).toMatch(/DATABASE_URL must be a postgres URL \(got "http:\/\/nope"\)/);
      expect(message).toMatch(/MODE must be one of a, b/);
    }
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with bounded jitter', () => {
    for (let i = 0; i < 50; i += 1) {
      expect(backoffDelay(1, { initialMs: 100, jitter: 0.2 })).toBeGreaterThanOrEqual(80);
      expect(backoffDelay(1, { initialMs: 100, jitter: 0.2 })).toBeLessThanOrEqual(120);
      expect(backoffDelay(4, { initialMs: 100, jitter: 0 })).toBe(800);
      expect(backoffDelay(30, { initialMs: 100, maxMs: 5_000, jitter: 0 })).toBe(5_000);
    }
  });
});

describe('trace context propagation', () => {
  const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  const active = trace.setSpanContext(context.active(), spanContext);

  it('round-trips through MQTT v5 user properties', () => {
    const userProperties = injectTraceContext<Record<string, string | string[]>>({ other: 'kept' }, active);
    expect(userProperties.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(trace.getSpanContext(extractTraceContext(userProperties))).toMatchObject({ traceId: spanContext.traceId });
  });

  it('round-trips through AMQP headers, including Buffer values', () => {
    const headers = injectTraceContext<Record<string, unknown>>({}, active);
    const received = { traceparent: Buffer.from(String(headers.traceparent)) };
    expect(trace.getSpanContext(extractTraceContext(received))).toMatchObject({
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    });
  });

  it('leaves the carrier empty outside a trace and extracts nothing from it', () => {
    expect(injectTraceContext({})).toEqual({});
    expect(trace.getSpanContext(extractTraceContext({}))).toBeUndefined();
  });
});

describe('isTransientPgError', () => {
  it('retries what the server or the connection failed at, not what the data caused', () => {
    const transient = [
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '57P03', message: 'the database system is starting up' },
      { code: '40P01', message: 'deadlock detected' },
      { code: '08006', message: 'connection failure' },
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { code: 'EPIPE', message: 'write EPIPE' },
      new Error('Connection terminated unexpectedly'),
    ];
    const permanent = [
      { code: '22P02', message: 'invalid input syntax for type json' },
      { code: '42P01', message: 'relation "raw.events" does not exist' },
      { code: '23502', message: 'null value in column violates not-null constraint' },
      new Error('something else'),
      undefined,
    ];
    for (const error of transient) expect(isTransientPgError(error), JSON.stringify(error)).toBe(true);
    for (const error of permanent) expect(isTransientPgError(error), JSON.stringify(error)).toBe(false);
  });
});
