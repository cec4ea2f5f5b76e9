import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { KeyDeskProblem } from '../problem/problem.js';

/**
 * What the tenant's OpenID configurations tell the token verifier: the issuers its tokens name
 * (v1 and v2 differ), the tenant's GUID (AZURE_TENANT_ID may be a domain), and where its
 * signing keys are published.
 */

export interface TrustAnchors {
  issuers: string[];
  tenantGuid: string;
  jwksUri: string;
  jwks: JWTVerifyGetKey;
}

export interface DiscoveryOptions {
  authorityHost: string;
  tenantId: string;
  fetch: typeof fetch;
}

interface OpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
}

export const DISCOVERY_TIMEOUT_MS = 5_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Fetches both OpenID configurations; the key set of `previous` is kept while its URL stays the same. */
export async function discoverTrustAnchors(options: DiscoveryOptions, previous: TrustAnchors | null): Promise<TrustAnchors> {
  const base = `${options.authorityHost}/${encodeURIComponent(options.tenantId)}`;
  const [v2, v1] = await Promise.all([
    fetchOpenIdConfiguration(options.fetch, `${base}/v2.0/.well-known/openid-configuration`),
    fetchOpenIdConfiguration(options.fetch, `${base}/.well-known/openid-configuration`),
  ]);
  const jwksUri = v2.jwks_uri;
  return {
    issuers: [...new Set([v2.issuer, v1.issuer])],
    tenantGuid: tenantGuidOf(options.tenantId, [v2.issuer, v1.issuer]),
    jwksUri,
    // v1 and v2 tokens are signed with the same tenant keys; jose refetches on an unknown `kid`
    // (key rotation) at most once per cooldown period. Keeping the set keeps the keys it holds.
    jwks:
      previous?.jwksUri === jwksUri
        ? previous.jwks
        : createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: DISCOVERY_TIMEOUT_MS, cooldownDuration: 30_000 }),
  };
}

/**
 * The v2 issuer is `{authority}/{tid}/v2.0`, the v1 one `https://sts.windows.net/{tid}/` (or
 * `{authority}/{tid}/` outside the public cloud): the tenant GUID is the first path segment.
 */
function tenantGuidOf(tenantId: string, issuers: string[]): string {
  if (GUID.test(tenantId)) return tenantId.toLowerCase();
  for (const issuer of issuers) {
    const segment = URL.canParse(issuer) ? new URL(issuer).pathname.split('/')[1] : undefined;
    if (segment !== undefined && GUID.test(segment)) return segment.toLowerCase();
  }
  throw new KeyDeskProblem(
    'identity_provider_unavailable',
    `Entra ID's OpenID configuration for ${tenantId} names no tenant GUID in its issuer. Set AZURE_TENANT_ID to the tenant's GUID or primary domain.`,
    { headers: { 'retry-after': '5' } },
  );
}

async function fetchOpenIdConfiguration(fetchImpl: typeof fetch, url: string): Promise<OpenIdConfiguration> {
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new KeyDeskProblem('identity_provider_unavailable', `Entra ID's OpenID configuration could not be fetched from ${url}.`, { cause: error, headers: { 'retry-after': '5' } });
  }
  const body = (await response.json().catch(() => null)) as Partial<OpenIdConfiguration> | null;
  if (!response.ok || typeof body?.issuer !== 'string' || typeof body.jwks_uri !== 'string' || !URL.canParse(body.jwks_uri)) {
    throw new KeyDeskProblem(
      'identity_provider_unavailable',
      `Entra ID's OpenID configuration at ${url} answered ${response.status} without an issuer and jwks_uri. Check AZURE_AUTHORITY_HOST and AZURE_TENANT_ID.`,
      { headers: { 'retry-after': '5' } },
    );
  }
  return { issuer: body.issuer, jwks_uri: body.jwks_uri };
}
