import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@plantmesh/core';

/** A logger whose JSON lines are kept for assertions. */
export function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: createLogger({ service: 'schema-test', version: '0', destination }), lines };
}
