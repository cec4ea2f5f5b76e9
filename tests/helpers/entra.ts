import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * A stand-in for the tenant's signing keys and OpenID configurations, served through nock exactly
 * as Entra serves them, and tokens shaped like the ones Entra issues to a ticketing system.
 */

export const TENANT_ID = '7f9c3a52-1c4e-4b7a-9d0e-2f5b8c6a1d34';
export const CLIENT_ID = '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43';
export const CALLER_APP_ID = 'c2d9e1f0-4b3a-4e8d-9a7c-1f2e3d4c5b6a';
export const CALLER_SP_OID = '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d';
export const AUTHORITY = 'https://login.microsoftonline.com';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function makeSigningKey(kid = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' };
  return { kid, privateKey, jwk };
}

/** The tenant's v2 OpenID configuration, as Entra serves it. */
export function openIdConfigurationV2(authority: string, tenant: string): Record<string, unknown> {
  return {
    issuer: `${authority}/${tenant}/v2.0`,
    jwks_uri: `${authority}/${tenant}/discovery/v2.0/keys`,
    authorization_endpoint: `${authority}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${authority}/${tenant}/oauth2/v2.0/token`,
    end_session_endpoint: `${authority}/${tenant}/oauth2/v2.0/logout`,
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

/** Serves the v1 and v2 OpenID configurations and the JWKS for `keys`, as often as asked. */
export function mockEntraDiscovery(keys: SigningKey[], authority = AUTHORITY, tenant = TENANT_ID): nock.Scope {
  const host = new URL(authority).host;
  return nock(authority)
    .persist()
    .get(`/${tenant}/v2.0/.well-known/openid-configuration`)
    .reply(200, openIdConfigurationV2(authority, tenant))
    .get(`/${tenant}/.well-known/openid-configuration`)
    .reply(200, {
      // The public cloud's v1 issuer lives on another host than the authority.
      issuer: host === 'login.microsoftonline.com' ? `https://sts.windows.net/${tenant}/` : `${authority}/${tenant}/`,
      jwks_uri: `${authority}/common/discovery/keys`,
      authorization_endpoint: `${authority}/${tenant}/oauth2/authorize`,
      token_endpoint: `${authority}/${tenant}/oauth2/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    })
    .get(`/${tenant}/discovery/v2.0/keys`)
    .reply(200, { keys: keys.map((k) => k.jwk) });
}

export interface TokenOptions {
  version?: '1.0' | '2.0';
  roles?: string[];
  audience?: string;
  issuer?: string;
  expiresInSeconds?: number;
  key?: SigningKey;
  extraClaims?: Record<string, unknown>;
}

/** An app-only access token for KeyDesk's API, as Entra issues it to a ticketing system. */
export async function issueAppToken(signingKey: SigningKey, options: TokenOptions = {}): Promise<string> {
  const version = options.version ?? '2.0';
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> =
    version === '2.0'
      ? { azp: CALLER_APP_ID, azpacr: '1', idtyp: 'app', ver: '2.0' }
      : { appid: CALLER_APP_ID, appidacr: '1', idtyp: 'app', ver: '1.0' };
  const key = options.key ?? signingKey;
  return new SignJWT({
    ...claims,
    tid: TENANT_ID,
    oid: CALLER_SP_OID,
    sub: CALLER_SP_OID,
    roles: options.roles ?? ['BitLocker.Disclose'],
    ...options.extraClaims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(options.issuer ?? (version === '2.0' ? `${AUTHORITY}/${TENANT_ID}/v2.0` : `https://sts.windows.net/${TENANT_ID}/`))
    .setAudience(options.audience ?? (version === '2.0' ? CLIENT_ID : `api://${CLIENT_ID}`))
    .setIssuedAt(now - 60)
    .setNotBefore(now - 60)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(key.privateKey);
}

/** A token with `alg: none`, the classic forgery. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

export const STAFF_CLIENT_ID = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';

export interface UserTokenOptions extends TokenOptions {
  clientId?: string;
  upn?: string;
  oid?: string;
  acrs?: string[];
}

/**
 * A delegated access token for KeyDesk's API: a person signed in through some client app
 * (`azp`), with their app roles and a delegated scope, as Entra issues it (v2).
 */
export async function issueUserToken(signingKey: SigningKey, options: UserTokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const oid = options.oid ?? '11aa22bb-33cc-44dd-85ee-66ff77aa88bb';
  return new SignJWT({
    azp: options.clientId ?? STAFF_CLIENT_ID,
    azpacr: '0',
    ver: '2.0',
    scp: 'access_as_user',
    tid: TENANT_ID,
    oid,
    sub: oid,
    name: 'Sam Agent',
    preferred_username: options.upn ?? 'sam.agent@contoso.com',
    roles: options.roles ?? ['BitLocker.Disclose'],
    ...(options.acrs ? { acrs: options.acrs } : {}),
    ...options.extraClaims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signingKey.kid })
    .setIssuer(`${AUTHORITY}/${TENANT_ID}/v2.0`)
    .setAudience(CLIENT_ID)
    .setIssuedAt(now - 60)
    .setNotBefore(now - 60)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(signingKey.privateKey);
}
