/**
 * OAuth 2 / OpenID Connect bearer tokens of the plant's identity provider (Keycloak, Entra ID, ...): a JWT
 * signed by a key of the configured issuer's JWKS (found through its discovery document unless given),
 * with that issuer, this API's audience, not expired, and the API's scopes in a configured claim. The
 * keys are fetched once and again when a token names a key not seen yet (jose's remote key set, with its
 * cooldown), so a rotation at the issuer needs no restart.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { I3xError } from '../envelope.js';
import { isScope, type Principal, type Scope } from './principal.js';

export interface OidcOptions {
  /** The issuer, exactly as tokens carry it in `iss`. */
  issuer: string;
  /** This API's audience (`aud`). */
  audience: string;
  /** The issuer's JWKS; from `<issuer>/.well-known/openid-configuration` when not given. */
  jwksUrl?: string;
  /** Claim holding the scopes: a space-separated string or an array; a dotted path reaches nested claims (realm_access.roles). */
  scopesClaim?: string;
  /** What a scope is called at the issuer: `i3x:read` grants read with the default prefix `i3x:`. */
  scopePrefix?: string;
  clockToleranceSeconds?: number;
  /** Timeout of the discovery and JWKS requests. */
  timeoutMs?: number;
}

/** Asymmetric signatures only: a JWKS never holds a shared secret, and `none` is never accepted. */
const algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const challenge = (error?: string) => `Bearer realm="plantmesh-i3x"${error ? `, error="${error}"` : ''}`;

export const unauthorized = (detail: string, error?: 'invalid_token') =>
  new I3xError(401, detail, undefined, { 'www-authenticate': challenge(error) });

export class OidcVerifier {
  private keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  readonly scopesClaim: string;
  readonly scopePrefix: string;

  constructor(readonly options: OidcOptions) {
    this.scopesClaim = options.scopesClaim ?? 'scope';
    this.scopePrefix = options.scopePrefix ?? 'i3x:';
  }

  /** The discovery document's URL (also published in the OpenAPI document). */
  get discoveryUrl(): string {
    return `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    this.discovering ??= this.discover().finally(() => {
      this.discovering = undefined;
    });
    this.keys = await this.discovering;
    return this.keys;
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const timeoutDuration = this.options.timeoutMs ?? 5_000;
    let jwksUrl = this.options.jwksUrl;
    if (!jwksUrl) {
      const response = await fetch(this.discoveryUrl, { signal: AbortSignal.timeout(timeoutDuration) });
      if (!response.ok) throw new Error(`${this.discoveryUrl} answered ${response.status}`);
      const document = (await response.json()) as { issuer?: string; jwks_uri?: string };
      if (document.issuer !== this.options.issuer) {
        throw new Error(`${this.discoveryUrl} names the issuer ${document.issuer}, not ${this.options.issuer}`);
      }
      if (typeof document.jwks_uri !== 'string') throw new Error(`${this.discoveryUrl} has no jwks_uri`);
      jwksUrl = document.jwks_uri;
    }
    return createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration });
  }

  /** The token's principal; a 401 for any token this server does not accept, a 503 when the issuer cannot be asked. */
  async verify(token: string): Promise<Principal> {
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.keySet();
    } catch (error) {
      throw new I3xError(
        503,
        `bearer tokens cannot be checked now: the identity provider's keys are unavailable (${(error as Error).message})`,
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw this.refusal(error);
    }
    const granted = new Set<Scope>();
    for (const value of this.claimValues(payload)) {
      if (!value.startsWith(this.scopePrefix)) continue;
      const scope = value.slice(this.scopePrefix.length);
      if (isScope(scope)) granted.add(scope);
    }
    return {
      kind: 'token',
      id: `token:${payload.iss}:${payload.sub}`,
      name: String(payload.sub),
      scopes: granted,
    };
  }

  private claimValues(payload: JWTPayload): string[] {
    let value: unknown = payload;
    for (const part of this.scopesClaim.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
    if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
    return [];
  }

  private refusal(error: unknown): I3xError {
    if (error instanceof errors.JWKSTimeout) {
      return new I3xError(
        503,
        "bearer tokens cannot be checked now: the identity provider's keys did not arrive in time",
      );
    }
    if (error instanceof errors.JWTExpired) return unauthorized('the bearer token has expired', 'invalid_token');
    if (error instanceof errors.JWTClaimValidationFailed) {
      const claim = error.claim;
      const why =
        claim === 'iss'
          ? 'it was not issued by the identity provider this server trusts'
          : claim === 'aud'
            ? 'it is not meant for this API (audience)'
            : claim === 'nbf'
              ? 'it is not valid yet'
              : `its "${claim}" claim is missing or wrong`;
      return unauthorized(`the bearer token is refused: ${why}`, 'invalid_token');
    }
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) {
      return unauthorized(
        'the bearer token is refused: it is not signed by a key of the identity provider this server trusts',
        'invalid_token',
      );
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
      return unauthorized('the bearer token is refused: its signature algorithm is not accepted', 'invalid_token');
    }
    if (error instanceof errors.JOSEError) {
      return unauthorized('the bearer token is malformed', 'invalid_token');
    }
    if (error instanceof TypeError || (error as { name?: string }).name === 'AbortError') {
      // fetch of the key set failed: the issuer is away, not the client at fault.
      return new I3xError(503, `bearer tokens cannot be checked now: ${(error as Error).message}`);
    }
    return unauthorized('the bearer token is malformed', 'invalid_token');
  }
}
