/**
 * The I3X response shapes (IMPLEMENTATION_GUIDE.md, Response Format): success `{success, result}`, bulk
 * `{success, results}` in request order (top-level success false if any item failed), failure
 * `{success: false, responseDetail: {title, status, detail}}` (RFC 9457), and responseDetail on a 206.
 */

export interface ResponseDetail {
  title: string;
  status: number;
  detail: string;
}

export const titles: Record<number, string> = {
  206: 'Partial Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** An error answered with its status and the failure envelope (and headers such as WWW-Authenticate). */
export class I3xError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly title = titles[status] ?? 'Error',
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'I3xError';
  }

  get detail(): ResponseDetail {
    return { title: this.title, status: this.status, detail: this.message };
  }
}

export const badRequest = (detail: string) => new I3xError(400, detail);

export function failure(status: number, detail: string, title = titles[status] ?? 'Error') {
  return { success: false as const, responseDetail: { title, status, detail } };
}

export type BulkItem<T> =
  | { success: true; elementId: string; result: T }
  | { success: false; elementId: string; responseDetail: ResponseDetail };

export function ok<T>(elementId: string, result: T): BulkItem<T> {
  return { success: true, elementId, result };
}

export function notFound<T>(elementId: string, what = 'Element'): BulkItem<T> {
  return {
    success: false,
    elementId,
    responseDetail: { title: 'Not Found', status: 404, detail: `${what} not found: ${elementId}` },
  };
}

export function bulk<T>(results: BulkItem<T>[]) {
  return { success: results.every((item) => item.success), results };
}

/** A found element's bulk item as UTF-8 JSON, from its result's JSON text. */
export function okItemBytes(elementId: string, resultJson: string): Buffer {
  return Buffer.from(`{"success":true,"elementId":${JSON.stringify(elementId)},"result":${resultJson}}`);
}

const comma = Buffer.from(',');

/**
 * A bulk answer as UTF-8 JSON (what `bulk` gives, and a 206 with its detail), from each found element's item
 * as UTF-8 JSON (`okItemBytes`): for answers whose items keep their bytes (last values, ADR 0023), so that a
 * hot answer is one copy of them, with nothing to serialize or encode.
 */
export function bulkBytes(
  elementIds: readonly string[],
  itemBytes: (elementId: string) => Buffer | undefined,
  truncation: Truncation,
): { status: 200 | 206; body: Buffer } {
  let success = true;
  const items: Buffer[] = [];
  for (const elementId of elementIds) {
    if (items.length > 0) items.push(comma);
    const item = itemBytes(elementId);
    if (item === undefined) success = false;
    items.push(item ?? Buffer.from(JSON.stringify(notFound(elementId))));
  }
  const head = Buffer.from(`{"success":${success},"results":[`);
  const detail = truncation.truncated ? `,"responseDetail":${JSON.stringify(truncation.detail())}` : '';
  const tail = Buffer.from(`]${detail}}`);
  return { status: truncation.truncated ? 206 : 200, body: Buffer.concat([head, ...items, tail]) };
}

/** What was left out to stay within a server limit: the answer becomes a 206 with this detail. */
export class Truncation {
  private readonly reasons = new Set<string>();

  add(reason: string): void {
    this.reasons.add(reason);
  }

  get truncated(): boolean {
    return this.reasons.size > 0;
  }

  detail(): ResponseDetail {
    return { title: 'Partial results returned', status: 206, detail: [...this.reasons].join('; ') };
  }
}
