import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { KeyDeskProblem } from '../problem/problem.js';

/**
 * Verifies the Entra access tokens ticketing systems present. Entra issues v1 tokens unless the
 * API's app registration asks for v2, and the two differ in issuer and audience: both are
 * accepted, for this tenant only, signed with RS256 by a key from the tenant's JWKS.
 */

export const APP_ROLES = {
  disclose: 'BitLocker.Disclose',
  lookup: 'BitLocker.Lookup',
  audit: 'BitLocker.Audit',
} as const;
export type AppRole = (typeof APP_ROLES)[keyof typeof APP_ROLES];

export interface VerifiedCaller {
  kind: 'app' | 'user';
  /** Client id of the calling application (`azp` in v2, `appid` in v1). */
  appId: string | null;
  /** Object id of the service principal (app) or user. */
  oid: string | null;
  upn: string | null;
  name: string | null;
  roles: string[];
  tokenVersion: '1.0' | '2.0';
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedCaller>;
}

export interface EntraTokenVerifierOptions {
  authorityHost: string;
  tenantId: string;
  audiences: string[];
  /** For tests and proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
}

interface OpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
}

interface TrustAnchors {
  issuers: string[];
  jwks: ReturnType<typeof createRemoteJWKSet>;
}

const DISCOVERY_TIMEOUT_MS = 5_000;
const CLOCK_TOLERANCE_SECONDS = 60;
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

export function createEntraTokenVerifier(options: EntraTokenVerifierOptions): AccessTokenVerifier {
  const fetchImpl = options.fetch ?? fetch;
  let anchors: Promise<TrustAnchors> | null = null;

  const discover = async (): Promise<TrustAnchors> => {
    const base = `${options.authorityHost}/${encodeURIComponent(options.tenantId)}`;
    const [v2, v1] = await Promise.all([
      fetchOpenIdConfiguration(fetchImpl, `${base}/v2.0/.well-known/openid-configuration`),
      fetchOpenIdConfiguration(fetchImpl, `${base}/.well-known/openid-configuration`),
    ]);
    return {
      issuers: [...new Set([v2.issuer, v1.issuer])],
      // v1 and v2 tokens are signed with the same tenant keys; jose refetches on an unknown `kid`
      // (key rotation) at most once per cooldown period.
      jwks: createRemoteJWKSet(new URL(v2.jwks_uri), { timeoutDuration: DISCOVERY_TIMEOUT_MS, cooldownDuration: 30_000 }),
    };
  };

  // Ticketing systems reuse one token for an hour; checking its RS256 signature once, not on
  // every request, takes the costliest step off the hot path. Entries live at most five minutes
  // (a retired signing key stops being honoured soon after) and never past the token's expiry.
  const verified = new Map<string, { caller: VerifiedCaller; until: number }>();

  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.until > Date.now()) return hit.caller;
      if (hit) verified.delete(token);
      if (anchors === null) {
        // A failed discovery is forgotten so the next request tries again.
        anchors = discover().catch((error: unknown) => {
          anchors = null;
          throw error;
        });
      }
      const { issuers, jwks } = await anchors;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: issuers,
          audience: options.audiences,
          algorithms: ['RS256'],
          requiredClaims: ['exp', 'iat'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
      } catch (error) {
        throw toProblem(error);
      }
      checkIsAccessToken(payload);
      const caller = describeCaller(payload);
      const expiresAt = (payload.exp ?? 0) * 1000 + CLOCK_TOLERANCE_SECONDS * 1000;
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, { caller, until: Math.min(expiresAt, Date.now() + VERIFIED_TOKEN_TTL_MS) });
      return caller;
    },
  };
}

async function fetchOpenIdConfiguration(fetchImpl: typeof fetch, url: string): Promise<OpenIdConfiguration> {
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new KeyDeskProblem('identity_provider_unavailable', `Entra ID's OpenID configuration could not be fetched from ${url}.`, { cause: error, headers: { 'retry-after': '5' } });
  }
  const body = (await response.json().catch(() => null)) as Partial<OpenIdConfiguration> | null;
  if (!response.ok || typeof body?.issuer !== 'string' || typeof body.jwks_uri !== 'string') {
    throw new KeyDeskProblem(
      'identity_provider_unavailable',
      `Entra ID's OpenID configuration at ${url} answered ${response.status} without an issuer and jwks_uri. Check AZURE_AUTHORITY_HOST and AZURE_TENANT_ID.`,
      { headers: { 'retry-after': '5' } },
    );
  }
  return { issuer: body.issuer, jwks_uri: body.jwks_uri };
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
  return new KeyDeskProblem('unauthorized', `The access token was rejected: ${reason}.`, {
    cause: error,
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}

/**
 * An ID token for KeyDesk's own app (audience = its client ID) is signed by the same keys as an
 * access token: it must not open the API. Access tokens name the client they were issued to
 * (`azp` in v2, `appid` in v1) and carry no `nonce`.
 */
function checkIsAccessToken(payload: JWTPayload): void {
  if (payload.nonce !== undefined || (stringClaim(payload, 'azp') === null && stringClaim(payload, 'appid') === null)) {
    throw new KeyDeskProblem('unauthorized', 'The access token was rejected: it is not an access token (an ID token cannot call the API).', {
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
}

function stringClaim(payload: JWTPayload, name: string): string | null {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function describeCaller(payload: JWTPayload): VerifiedCaller {
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  // App-only tokens carry no delegated scopes; v2 ones also say idtyp=app (an optional claim in v1).
  const isApp = stringClaim(payload, 'idtyp') === 'app' || stringClaim(payload, 'scp') === null;
  return {
    kind: isApp ? 'app' : 'user',
    appId: stringClaim(payload, 'azp') ?? stringClaim(payload, 'appid'),
    oid: stringClaim(payload, 'oid'),
    upn: isApp ? null : (stringClaim(payload, 'preferred_username') ?? stringClaim(payload, 'upn') ?? stringClaim(payload, 'unique_name')),
    name: stringClaim(payload, 'name'),
    roles,
    tokenVersion: stringClaim(payload, 'ver') === '2.0' ? '2.0' : '1.0',
  };
}

/** Disclose includes look-up: an app trusted with keys may also find the device first. */
export function hasRole(caller: VerifiedCaller, role: AppRole): boolean {
  if (caller.roles.includes(role)) return true;
  return role === APP_ROLES.lookup && caller.roles.includes(APP_ROLES.disclose);
}
