/** Who is calling, and what they may do: the API's scopes (docs/adr/0015-i3x-api-identities.md). */

/** read: every exploratory and query method; write: value and history updates; subscribe: subscriptions. */
export const scopes = ['read', 'write', 'subscribe'] as const;
export type Scope = (typeof scopes)[number];

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (scopes as readonly string[]).includes(value);
}

export interface Principal {
  /** An API key of `plantmesh keys`, or a bearer token of the plant's identity provider. */
  kind: 'api-key' | 'token';
  /** Stable and unique across kinds: what rate limits and subscriptions are kept by. */
  id: string;
  /** For logs: the key's name, the token's subject. */
  name: string;
  scopes: ReadonlySet<Scope>;
}
