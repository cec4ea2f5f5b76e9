import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { KeyDeskProblem } from '../problem/problem.js';
import { acceptedAudiences, checkIsAccessToken, checkTenant, describeCaller, type VerifiedCaller } from './caller.js';
import { CLOCK_TOLERANCE_SECONDS, checkTokenLifetime, readTimeClaims, tokenRejected } from './jwt-shape.js';
import { discoverTrustAnchors, type DiscoveryOptions, type TrustAnchors } from './openid.js';

/**
 * Verifies the Entra access tokens ticketing systems present. Entra issues v1 tokens unless the
 * API's app registration asks for v2, and the two differ in issuer and audience: both are
 * accepted, for this tenant only, signed with RS256 by a key from the tenant's JWKS.
 */

export type { VerifiedCaller } from './caller.js';

export { APP_ROLES, type AppRole } from './roles.js';

export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedCaller>;
  /**
   * Fetches the tenant's OpenID configurations now and uses what they say from then on; rejects
   * with `identity_provider_unavailable` when they cannot be fetched (the last ones stay in use).
   */
  checkIdentityProvider(): Promise<void>;
}

export interface EntraTokenVerifierOptions {
  authorityHost: string;
  /** The tenant's GUID or one of its domains (contoso.onmicrosoft.com). */
  tenantId: string;
  /** Each is accepted with or without one trailing slash. */
  audiences: string[];
  /** For tests and proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
}

export function createEntraTokenVerifier(options: EntraTokenVerifierOptions): AccessTokenVerifier {
  const anchors = trustAnchorSource({ authorityHost: options.authorityHost, tenantId: options.tenantId, fetch: options.fetch ?? fetch });
  const audiences = acceptedAudiences(options.audiences);
  const verified = verifiedTokenCache();

  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit) return hit;
      // Refused before Entra is asked for anything: a stream of junk costs no discovery or JWKS fetch.
      checkTokenLifetime(readTimeClaims(token), Date.now() / 1000);
      const { issuers, jwks, tenantGuid } = await anchors.current();
      const payload = await verifySignature(token, jwks, issuers, audiences);
      checkIsAccessToken(payload);
      const caller = describeCaller(payload, checkTenant(payload, tenantGuid));
      verified.set(token, caller, payload.exp ?? 0);
      return caller;
    },
    async checkIdentityProvider() {
      await anchors.refresh();
    },
  };
}

/**
 * The anchors in use, discovered on first need. A failed discovery is forgotten so the next
 * request tries again; concurrent requests share one discovery.
 */
function trustAnchorSource(options: DiscoveryOptions): { current(): Promise<TrustAnchors>; refresh(): Promise<TrustAnchors> } {
  let known: TrustAnchors | null = null;
  let pending: Promise<TrustAnchors> | null = null;
  const refresh = (): Promise<TrustAnchors> => {
    pending ??= discoverTrustAnchors(options, known)
      .then((anchors) => (known = anchors))
      .catch((error: unknown) => {
        throw error instanceof KeyDeskProblem
          ? error
          : new KeyDeskProblem('identity_provider_unavailable', "Entra ID's OpenID configuration could not be read.", { cause: error, headers: { 'retry-after': '5' } });
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
  return { current: () => (known ? Promise.resolve(known) : refresh()), refresh };
}

/** How long a verified token is taken on trust, and how many are remembered. */
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Ticketing systems reuse one token for an hour; checking its RS256 signature once, not on every
 * request, takes the costliest step off the hot path. Entries live at most five minutes (a
 * retired signing key stops being honoured soon after) and never past the token's expiry.
 */
export function verifiedTokenCache(maxEntries = VERIFIED_TOKEN_CACHE_SIZE) {
  const entries = new Map<string, { caller: VerifiedCaller; until: number }>();
  return {
    get(token: string): VerifiedCaller | null {
      const hit = entries.get(token);
      if (hit && hit.until > Date.now()) return hit.caller;
      if (hit) entries.delete(token);
      return null;
    },
    set(token: string, caller: VerifiedCaller, expSeconds: number): void {
      const expiresAt = (expSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(token, { caller, until: Math.min(expiresAt, Date.now() + VERIFIED_TOKEN_TTL_MS) });
    },
  };
}

async function verifySignature(token: string, jwks: JWTVerifyGetKey, issuers: string[], audiences: string[]): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer: issuers,
      audience: audiences,
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return payload;
  } catch (error) {
    throw toProblem(error);
  }
}

function toProblem(error: unknown): KeyDeskProblem {
  if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && error.name === 'TypeError')) {
    return new KeyDeskProblem('identity_provider_unavailable', 'The signing keys of Entra ID could not be fetched to verify the token.', { cause: error, headers: { 'retry-after': '5' } });
  }
  const reason =
    error instanceof joseErrors.JWTExpired
      ? 'the token has expired'
      : error instanceof joseErrors.JWTClaimValidationFailed
        ? `its "${error.claim}" claim is not accepted (${error.reason === 'check_failed' ? 'wrong value' : error.reason})`
        : error instanceof joseErrors.JOSEAlgNotAllowed
          ? 'it is not signed with RS256'
          : error instanceof joseErrors.JWKSNoMatchingKey
            ? 'it is not signed by a key of this tenant'
            : error instanceof joseErrors.JWSSignatureVerificationFailed
              ? 'its signature is not valid'
              : 'it is not a valid JWT';
  return tokenRejected(reason, error);
}
