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

/** A found element's bulk item as JSON text, from its result's JSON text. */
export function okJson(elementId: string, resultJson: string): string {
  return `{"success":true,"elementId":${JSON.stringify(elementId)},"result":${resultJson}}`;
}

/**
 * A bulk answer as JSON text (what `bulk` gives, and a 206 with its detail), from each found element's item
 * as JSON text (`okJson`): for answers whose items keep their text (last values, ADR 0023), so that a hot
 * answer is mostly concatenation.
 */
export function bulkJson(
  elementIds: readonly string[],
  itemJson: (elementId: string) => string | undefined,
  truncation: Truncation,
): { status: 200 | 206; json: string } {
  let success = true;
  const items = elementIds.map((elementId) => {
    const item = itemJson(elementId);
    if (item !== undefined) return item;
    success = false;
    return JSON.stringify(notFound(elementId));
  });
  const detail = truncation.truncated ? `,"responseDetail":${JSON.stringify(truncation.detail())}` : '';
  return {
    status: truncation.truncated ? 206 : 200,
    json: `{"success":${success},"results":[${items.join(',')}]${detail}}`,
  };
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
