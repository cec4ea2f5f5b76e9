import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import nock from 'nock';
import { SignJWT } from 'jose';
import { createEntraTokenVerifier, hasRole } from '../../src/auth/access-token.js';
import type { KeyDeskProblem } from '../../src/problem/problem.js';
import {
  AUTHORITY,
  CALLER_APP_ID,
  CALLER_SP_OID,
  CLIENT_ID,
  TENANT_ID,
  issueAppToken,
  makeSigningKey,
  mockEntraDiscovery,
  unsignedToken,
  type SigningKey,
} from '../helpers/entra.js';

describe('Entra access token verification', () => {
  let tenantKey: SigningKey;
  let strangerKey: SigningKey;

  beforeAll(async () => {
    tenantKey = await makeSigningKey();
    strangerKey = await makeSigningKey();
  });
  beforeEach(() => {
    nock.disableNetConnect();
    mockEntraDiscovery([tenantKey]);
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const verifier = () =>
    createEntraTokenVerifier({ authorityHost: AUTHORITY, tenantId: TENANT_ID, audiences: [`api://${CLIENT_ID}`, CLIENT_ID] });

  const rejection = async (token: string) => {
    try {
      await verifier().verify(token);
    } catch (error) {
      const problem = error as KeyDeskProblem;
      return `${problem.code}: ${problem.detail}`;
    }
    return 'accepted';
  };

  it('accepts a v2 app-only token and names the calling app', async () => {
    const caller = await verifier().verify(await issueAppToken(tenantKey, { version: '2.0' }));
    expect(caller).toEqual({
      kind: 'app',
      appId: CALLER_APP_ID,
      oid: CALLER_SP_OID,
      upn: null,
      name: null,
      roles: ['BitLocker.Disclose'],
      tokenVersion: '2.0',
    });
  });

  it('accepts a v1 token, issued by sts.windows.net for the App ID URI', async () => {
    const caller = await verifier().verify(await issueAppToken(tenantKey, { version: '1.0' }));
    expect(caller).toMatchObject({ kind: 'app', appId: CALLER_APP_ID, tokenVersion: '1.0' });
  });

  it('takes a delegated token as a user with their UPN', async () => {
    const token = await issueAppToken(tenantKey, {
      extraClaims: { idtyp: undefined, scp: 'Disclosures.ReadWrite', preferred_username: 'agent@contoso.com', name: 'Agent Smith' },
    });
    expect(await verifier().verify(token)).toMatchObject({ kind: 'user', upn: 'agent@contoso.com', name: 'Agent Smith' });
  });

  it('refuses an expired token', async () => {
    expect(await rejection(await issueAppToken(tenantKey, { expiresInSeconds: -3600 }))).toBe('unauthorized: The access token was rejected: the token has expired.');
  });

  it('refuses a token for another audience', async () => {
    expect(await rejection(await issueAppToken(tenantKey, { audience: 'https://graph.microsoft.com' }))).toMatch(/unauthorized: .*"aud" claim/);
  });

  it('refuses a token from another tenant', async () => {
    const otherTenant = 'f0e1d2c3-b4a5-4968-8776-655443322110';
    expect(await rejection(await issueAppToken(tenantKey, { issuer: `${AUTHORITY}/${otherTenant}/v2.0` }))).toMatch(/unauthorized: .*"iss" claim/);
  });

  it('refuses a token signed by a key that is not the tenant\'s', async () => {
    const forged = await issueAppToken(strangerKey, { key: { ...strangerKey, kid: tenantKey.kid } });
    expect(await rejection(forged)).toBe('unauthorized: The access token was rejected: its signature is not valid.');
  });

  it('refuses a token whose key id the tenant does not publish', async () => {
    expect(await rejection(await issueAppToken(strangerKey))).toMatch(/not signed by a key of this tenant/);
  });

  it('refuses an ID token issued to KeyDesk itself, though it is signed by the tenant', async () => {
    const idToken = await issueAppToken(tenantKey, { extraClaims: { azp: undefined, idtyp: undefined, nonce: 'n-0S6_WzA2Mj', preferred_username: 'agent@contoso.com' } });
    expect(await rejection(idToken)).toBe('unauthorized: The access token was rejected: it is not an access token (an ID token cannot call the API).');
  });

  it("refuses alg: none", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = unsignedToken({ iss: `${AUTHORITY}/${TENANT_ID}/v2.0`, aud: CLIENT_ID, exp: now + 600, iat: now, roles: ['BitLocker.Disclose'] });
    expect(await rejection(token)).toMatch(/^unauthorized: /);
  });

  it('refuses an HS256 token signed with the public key as secret', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(tenantKey.jwk));
    const token = await new SignJWT({ roles: ['BitLocker.Disclose'] })
      .setProtectedHeader({ alg: 'HS256', kid: tenantKey.kid })
      .setIssuer(`${AUTHORITY}/${TENANT_ID}/v2.0`)
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(secret);
    expect(await rejection(token)).toBe('unauthorized: The access token was rejected: it is not signed with RS256.');
  });

  it('says the identity provider is unavailable when discovery fails, and retries later', async () => {
    nock.cleanAll();
    nock(AUTHORITY).get(/openid-configuration/).times(2).reply(503, 'busy');
    const v = verifier();
    const token = await issueAppToken(tenantKey);
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'identity_provider_unavailable' });
    mockEntraDiscovery([tenantKey]);
    await expect(v.verify(token)).resolves.toMatchObject({ appId: CALLER_APP_ID });
  });

  it('keeps refusing a token once it has expired, even after accepting it before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const v = verifier();
      const token = await issueAppToken(tenantKey, { expiresInSeconds: 120 });
      await expect(v.verify(token)).resolves.toMatchObject({ appId: CALLER_APP_ID });
      vi.setSystemTime(Date.now() + 120_000 + 61_000);
      await expect(v.verify(token)).rejects.toMatchObject({ code: 'unauthorized', detail: expect.stringContaining('expired') });
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets Disclose include Lookup, but not the other way round', () => {
    const base = { kind: 'app' as const, appId: 'a', oid: 'o', upn: null, name: null, tokenVersion: '2.0' as const };
    expect(hasRole({ ...base, roles: ['BitLocker.Disclose'] }, 'BitLocker.Lookup')).toBe(true);
    expect(hasRole({ ...base, roles: ['BitLocker.Lookup'] }, 'BitLocker.Disclose')).toBe(false);
    expect(hasRole({ ...base, roles: ['BitLocker.Audit'] }, 'BitLocker.Lookup')).toBe(false);
  });
});
