/**
 * HTTP APIs the catalog lists with their OpenAPI documents: its own (in process) and others it fetches
 * (the I3X API's /v1/openapi.json, which needs a read key). A document that cannot be fetched now keeps the
 * last one fetched; without any, the API is listed without its document rather than left out.
 */
export interface HttpApi {
  name: string;
  description: string;
  baseUrl: string;
  openapi?: Record<string, unknown>;
}

export class RemoteOpenApi {
  private last: Record<string, unknown> | undefined;
  /** Why the last fetch failed, for the log; undefined after a success. */
  failure: string | undefined;

  constructor(
    private readonly api: Omit<HttpApi, 'openapi'>,
    private readonly documentUrl: string,
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = 5_000,
  ) {}

  async get(): Promise<HttpApi> {
    try {
      const response = await fetch(this.documentUrl, {
        headers: { accept: 'application/json', ...this.headers },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) throw new Error(`${this.documentUrl} answered ${response.status}`);
      const document = (await response.json()) as Record<string, unknown>;
      if (typeof document !== 'object' || document === null || typeof document.openapi !== 'string') {
        throw new Error(`${this.documentUrl} is not an OpenAPI document`);
      }
      this.last = document;
      this.failure = undefined;
    } catch (error) {
      this.failure = (error as Error).message;
    }
    return { ...this.api, ...(this.last ? { openapi: this.last } : {}) };
  }
}
