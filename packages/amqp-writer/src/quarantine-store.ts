import { ingest, type QuarantineEntry } from '@plantmesh/core';

/** An AMQP header's value as text (amqplib gives some as Buffers), or null. */
export function headerText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

/** A whole AMQP message as a quarantine row, its topic and source from the reader's headers. */
export function messageQuarantineEntry(
  message: { content: Buffer; properties: { headers?: Record<string, unknown> } },
  stage: string,
  reason: string,
): QuarantineEntry {
  const headers = message.properties.headers ?? {};
  return {
    stage,
    source: headerText(headers[ingest.headers.source]),
    topic: headerText(headers[ingest.headers.topic]),
    reason,
    payload: message.content,
    headers,
  };
}
