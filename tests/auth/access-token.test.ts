import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import nock from 'nock';
import { SignJWT } from 'jose';
import { createEntraTokenVerifier, verifiedTokenCache } from '../../src/auth/access-token.js';
import { holdsRole } from '../../src/auth/roles.js';
import {
  AUTHORITY,
  CALLER_APP_ID,
  CALLER_SP_OID,
  CLIENT_ID,
  TENANT_ID,
  issueAppToken,
  makeSigningKey,
  mockEntraDiscovery,
  openIdConfigurationV2,
  unsignedToken,
  type SigningKey,
} from '../helpers/entra.js';
import { nowSeconds, tokenWith, verdictOn } from './token-fixtures.js';

const OTHER_TENANT = 'f0e1d2c3-b4a5-4968-8776-655443322110';

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

  const verifier = (options: { tenantId?: string; audiences?: string[] } = {}) =>
    createEntraTokenVerifier({ authorityHost: AUTHORITY, tenantId: options.tenantId ?? TENANT_ID, audiences: options.audiences ?? [`api://${CLIENT_ID}`, CLIENT_ID] });

  const rejection = (token: string) => verdictOn(verifier(), token);

  it('accepts a v2 app-only token and names the calling app', async () => {
    const caller = await verifier().verify(await issueAppToken(tenantKey, { version: '2.0' }));
    expect(caller).toEqual({
      kind: 'app',
      appId: CALLER_APP_ID,
      oid: CALLER_SP_OID,
      upn: null,
      name: null,
      roles: ['BitLocker.Disclose'],
      scopes: [],
      acrs: [],
      tenantId: TENANT_ID,
      tokenVersion: '2.0',
    });
  });

  it('accepts a v1 token, issued by sts.windows.net for the App ID URI', async () => {
    const caller = await verifier().verify(await issueAppToken(tenantKey, { version: '1.0' }));
    expect(caller).toMatchObject({ kind: 'app', appId: CALLER_APP_ID, tokenVersion: '1.0' });
  });

  it('refuses an expired token', async () => {
    expect(await rejection(await issueAppToken(tenantKey, { expiresInSeconds: -3600 }))).toBe('unauthorized: The access token was rejected: the token has expired.');
  });

  it('refuses a token for another audience', async () => {
    expect(await rejection(await issueAppToken(tenantKey, { audience: 'https://graph.microsoft.com' }))).toMatch(/unauthorized: .*"aud" claim/);
  });

  it('refuses a token from another tenant', async () => {
    expect(await rejection(await issueAppToken(tenantKey, { issuer: `${AUTHORITY}/${OTHER_TENANT}/v2.0` }))).toMatch(/unauthorized: .*"iss" claim/);
  });

  it("refuses a token signed by a key that is not the tenant's", async () => {
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

  it('refuses alg: none', async () => {
    const now = nowSeconds();
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
    expect(holdsRole(['BitLocker.Disclose'], 'BitLocker.Lookup')).toBe(true);
    expect(holdsRole(['BitLocker.Lookup'], 'BitLocker.Disclose')).toBe(false);
    expect(holdsRole(['BitLocker.Audit'], 'BitLocker.Lookup')).toBe(false);
  });

  describe('app or user', () => {
    const callerOf = async (claims: Record<string, unknown>) => verifier().verify(await issueAppToken(tenantKey, { version: '1.0', extraClaims: claims }));

    it('takes a delegated token as a user, with its UPN, scopes and authentication contexts', async () => {
      const caller = await callerOf({ idtyp: undefined, scp: 'Disclosures.ReadWrite user_impersonation', preferred_username: 'agent@contoso.com', name: 'Agent Smith', acrs: ['c1', 'c2'] });
      expect(caller).toMatchObject({ kind: 'user', upn: 'agent@contoso.com', name: 'Agent Smith', scopes: ['Disclosures.ReadWrite', 'user_impersonation'], acrs: ['c1', 'c2'] });
    });

    it('reads a single authentication context given as a string', async () => {
      expect(await callerOf({ idtyp: undefined, scp: 'Disclosures.ReadWrite', upn: 'agent@contoso.com', acrs: 'c1' })).toMatchObject({ kind: 'user', acrs: ['c1'] });
    });

    it('takes a token without scp that names a user as that user (upn, then unique_name)', async () => {
      expect(await callerOf({ idtyp: undefined, upn: 'ann@contoso.com', unique_name: 'ann.old@contoso.com' })).toMatchObject({ kind: 'user', upn: 'ann@contoso.com', scopes: [] });
      expect(await callerOf({ idtyp: undefined, unique_name: 'bob@contoso.com' })).toMatchObject({ kind: 'user', upn: 'bob@contoso.com' });
    });

    it('takes a v1 token without idtyp, scp or user name as an app', async () => {
      expect(await callerOf({ idtyp: undefined })).toMatchObject({ kind: 'app', upn: null, scopes: [] });
    });

    it('takes a token that says idtyp=app as an app', async () => {
      expect(await callerOf({ idtyp: 'app' })).toMatchObject({ kind: 'app', upn: null });
    });
  });

  describe('audiences', () => {
    it.each([
      ['api://keydesk', 'api://keydesk/'],
      ['api://keydesk/', 'api://keydesk'],
      ['api://keydesk/', 'api://keydesk/'],
    ])('with %s configured, accepts a v1 token for %s', async (configured, audience) => {
      const v = verifier({ audiences: [configured] });
      await expect(v.verify(await issueAppToken(tenantKey, { version: '1.0', audience }))).resolves.toMatchObject({ appId: CALLER_APP_ID });
    });

    it('refuses an audience with two trailing slashes', async () => {
      const token = await issueAppToken(tenantKey, { version: '1.0', audience: 'api://keydesk//' });
      expect(await verdictOn(verifier({ audiences: ['api://keydesk'] }), token)).toMatch(/unauthorized: .*"aud" claim/);
    });

    it('accepts every audience of the configured list', async () => {
      const v = verifier({ audiences: ['api://keydesk.contoso.com', 'api://keydesk', CLIENT_ID] });
      for (const audience of ['api://keydesk.contoso.com', 'api://keydesk/', CLIENT_ID]) {
        await expect(v.verify(await issueAppToken(tenantKey, { version: '1.0', audience }))).resolves.toMatchObject({ appId: CALLER_APP_ID });
      }
    });
  });

  describe('tenant', () => {
    const DOMAIN = 'contoso.onmicrosoft.com';

    /** Entra serves a domain's configurations with the tenant's GUID in the issuer. */
    const mockDomainDiscovery = (issuers: { v2: string; v1: string }) =>
      nock(AUTHORITY)
        .get(`/${DOMAIN}/v2.0/.well-known/openid-configuration`)
        .reply(200, { ...openIdConfigurationV2(AUTHORITY, TENANT_ID), issuer: issuers.v2 })
        .get(`/${DOMAIN}/.well-known/openid-configuration`)
        .reply(200, { issuer: issuers.v1, jwks_uri: `${AUTHORITY}/common/discovery/keys` });

    it("refuses a token whose tid names another tenant, though its issuer is this tenant's", async () => {
      expect(await rejection(await issueAppToken(tenantKey, { extraClaims: { tid: OTHER_TENANT } }))).toBe(
        'unauthorized: The access token was rejected: its "tid" claim names another tenant.',
      );
    });

    it('refuses a token without tid', async () => {
      expect(await rejection(await issueAppToken(tenantKey, { extraClaims: { tid: undefined } }))).toBe('unauthorized: The access token was rejected: it has no "tid" claim.');
    });

    it('with a domain as tenant, learns the GUID from the issuer: accepts the tenant\'s token, refuses another tid', async () => {
      mockDomainDiscovery({ v2: `${AUTHORITY}/${TENANT_ID}/v2.0`, v1: `https://sts.windows.net/${TENANT_ID}/` });
      const v = verifier({ tenantId: DOMAIN });
      await expect(v.verify(await issueAppToken(tenantKey))).resolves.toMatchObject({ tenantId: TENANT_ID });
      expect(await verdictOn(v, await issueAppToken(tenantKey, { extraClaims: { tid: OTHER_TENANT } }))).toMatch(/"tid" claim names another tenant/);
    });

    it('with a domain as tenant, learns the GUID from the v1 issuer when the v2 one names none', async () => {
      mockDomainDiscovery({ v2: `${AUTHORITY}/{tenantid}/v2.0`, v1: `https://sts.windows.net/${TENANT_ID}/` });
      const v = verifier({ tenantId: DOMAIN });
      await expect(v.verify(await issueAppToken(tenantKey, { version: '1.0' }))).resolves.toMatchObject({ tenantId: TENANT_ID });
    });

    it('says the identity provider is unavailable when no issuer names a tenant GUID', async () => {
      mockDomainDiscovery({ v2: `${AUTHORITY}/{tenantid}/v2.0`, v1: 'https://sts.windows.net/{tenantid}/' });
      expect(await verdictOn(verifier({ tenantId: DOMAIN }), await issueAppToken(tenantKey))).toMatch(/^identity_provider_unavailable: .*names no tenant GUID/);
    });
  });

  describe('lifetime', () => {
    it('refuses a token issued more than 60 s in the future', async () => {
      const now = nowSeconds();
      expect(await rejection(await tokenWith(tenantKey, { iat: now + 120, nbf: now, exp: now + 3600 }))).toBe(
        'unauthorized: The access token was rejected: its "iat" claim lies more than 60 s in the future.',
      );
    });

    it('accepts a token issued less than 60 s in the future (clock skew)', async () => {
      const now = nowSeconds();
      expect(await rejection(await tokenWith(tenantKey, { iat: now + 30, nbf: now, exp: now + 3600 }))).toBe('accepted');
    });

    it('refuses a token whose nbf is after its exp', async () => {
      const now = nowSeconds();
      expect(await rejection(await tokenWith(tenantKey, { iat: now - 60, nbf: now + 7200, exp: now + 3600 }))).toBe(
        'unauthorized: The access token was rejected: its "nbf" claim is after its "exp" claim.',
      );
    });

    it('refuses a token valid for more than 28 hours, and accepts one valid for exactly 28', async () => {
      const iat = nowSeconds() - 60;
      expect(await rejection(await tokenWith(tenantKey, { iat, nbf: iat, exp: iat + 28 * 3600 + 1 }))).toMatch(/valid for more than 28 hours/);
      expect(await rejection(await tokenWith(tenantKey, { iat, nbf: iat, exp: iat + 28 * 3600 }))).toBe('accepted');
    });
  });
});

describe('the verified-token cache', () => {
  const caller = (oid: string) => ({ kind: 'app' as const, appId: 'a', oid, upn: null, name: null, roles: [], scopes: [], acrs: [], tenantId: TENANT_ID, tokenVersion: '2.0' as const });

  it('holds at most its bound, forgetting the oldest token first', () => {
    const cache = verifiedTokenCache(2);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    cache.set('t1', caller('1'), exp);
    cache.set('t2', caller('2'), exp);
    cache.set('t3', caller('3'), exp);
    expect(cache.get('t1')).toBeNull();
    expect(cache.get('t2')?.oid).toBe('2');
    expect(cache.get('t3')?.oid).toBe('3');
  });

  it('never trusts a token past its expiry', () => {
    const cache = verifiedTokenCache();
    cache.set('old', caller('1'), Math.floor(Date.now() / 1000) - 120);
    expect(cache.get('old')).toBeNull();
  });
});
