import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { createEntraTokenVerifier } from '../../src/auth/access-token.js';
import { problemOf } from '../helpers/problems.js';
import { AUTHORITY, CALLER_APP_ID, CLIENT_ID, TENANT_ID, issueAppToken, makeSigningKey, mockEntraDiscovery, openIdConfigurationV2, type SigningKey } from '../helpers/entra.js';
import { nowSeconds, requestsSeen, tokenWith, verdictOn } from './token-fixtures.js';

const verifier = () => createEntraTokenVerifier({ authorityHost: AUTHORITY, tenantId: TENANT_ID, audiences: [`api://${CLIENT_ID}`, CLIENT_ID] });

const part = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const RS256_HEADER = { alg: 'RS256', typ: 'JWT', kid: 'k1' };
const now = nowSeconds();
const GOOD_TIMES = { iat: now - 60, exp: now + 3600 };

let tenantKey: SigningKey;
let seen: string[];

beforeAll(async () => {
  tenantKey = await makeSigningKey();
});
beforeEach(() => {
  nock.disableNetConnect();
  seen = requestsSeen(mockEntraDiscovery([tenantKey]));
});
afterEach(() => {
  nock.emitter.removeAllListeners('no match');
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('bearer values refused without asking Entra', () => {
  it.each([
    ['a single word', 'not-a-token'],
    ['two parts', `${part(RS256_HEADER)}.${part(GOOD_TIMES)}`],
    ['four parts', `${part(RS256_HEADER)}.${part(GOOD_TIMES)}.c2ln.c2ln`],
    ['an empty signature', `${part(RS256_HEADER)}.${part(GOOD_TIMES)}.`],
    ['a part that is not base64url', `${part(RS256_HEADER)}.${part(GOOD_TIMES)}.c2ln+/=`],
    ['a header that is not JSON', `${part('{alg')}.${part(GOOD_TIMES)}.c2ln`],
    ['a header that is a JSON array', `${part(['RS256'])}.${part(GOOD_TIMES)}.c2ln`],
    ['alg none', `${part({ alg: 'none' })}.${part(GOOD_TIMES)}.c2ln`],
    ['alg HS256', `${part({ alg: 'HS256', kid: 'k1' })}.${part(GOOD_TIMES)}.c2ln`],
    ['no kid', `${part({ alg: 'RS256' })}.${part(GOOD_TIMES)}.c2ln`],
    ['a numeric kid', `${part({ alg: 'RS256', kid: 7 })}.${part(GOOD_TIMES)}.c2ln`],
    ['a payload that is not JSON', `${part(RS256_HEADER)}.${part('exp=1')}.c2ln`],
    ['no exp', `${part(RS256_HEADER)}.${part({ iat: now })}.c2ln`],
    ['no iat', `${part(RS256_HEADER)}.${part({ exp: now + 3600 })}.c2ln`],
    ['an exp given as a string', `${part(RS256_HEADER)}.${part({ ...GOOD_TIMES, exp: String(now + 3600) })}.c2ln`],
  ])('refuses %s with 401 and sends no request', async (_what, token) => {
    expect(await verdictOn(verifier(), token)).toMatch(/^unauthorized: The access token was rejected: /);
    expect(seen).toEqual([]);
  });

  it('refuses a signed token that expired more than 60 s ago, and sends no request', async () => {
    expect(await verdictOn(verifier(), await issueAppToken(tenantKey, { expiresInSeconds: -120 }))).toBe('unauthorized: The access token was rejected: the token has expired.');
    expect(seen).toEqual([]);
  });

  it('refuses a token issued in the future or living past 28 hours, and sends no request', async () => {
    expect(await verdictOn(verifier(), await tokenWith(tenantKey, { iat: now + 3600, exp: now + 7200 }))).toMatch(/"iat" claim lies more than 60 s in the future/);
    expect(await verdictOn(verifier(), await tokenWith(tenantKey, { iat: now, exp: now + 29 * 3600 }))).toMatch(/more than 28 hours/);
    expect(seen).toEqual([]);
  });

  it('asks Entra for a well-formed token that expired less than 60 s ago, and accepts it (clock skew)', async () => {
    expect(await verdictOn(verifier(), await issueAppToken(tenantKey, { expiresInSeconds: -30 }))).toBe('accepted');
    expect(seen).toContain(`/${TENANT_ID}/discovery/v2.0/keys`);
  });

  it('never echoes the bearer value in its refusal', async () => {
    const token = `${part(RS256_HEADER)}.${part({ ...GOOD_TIMES, exp: now - 3600 })}.c2lnbmF0dXJl`;
    const problem = await problemOf(verifier().verify(token));
    expect(JSON.stringify(problem.toJSON())).not.toContain('c2lnbmF0dXJl');
    expect(JSON.stringify(problem.toJSON())).not.toContain(token.split('.')[1]);
  });
});

describe('checkIdentityProvider', () => {
  it("fetches the tenant's OpenID configurations at once, and not its signing keys", async () => {
    await verifier().checkIdentityProvider();
    expect([...seen].sort()).toEqual([`/${TENANT_ID}/.well-known/openid-configuration`, `/${TENANT_ID}/v2.0/.well-known/openid-configuration`]);
  });

  it('fetches them again on every call, so an outage shows while tokens are still verified', async () => {
    const v = verifier();
    await v.verify(await issueAppToken(tenantKey));
    await v.checkIdentityProvider();
    await v.checkIdentityProvider();
    expect(seen.filter((path) => path.endsWith('/v2.0/.well-known/openid-configuration'))).toHaveLength(3);
  });

  it('rejects with identity_provider_unavailable when Entra answers 503, and keeps verifying with what it learned before', async () => {
    const v = verifier();
    await v.checkIdentityProvider();
    await v.verify(await issueAppToken(tenantKey));
    nock.cleanAll();
    nock(AUTHORITY).get(/openid-configuration/).times(2).reply(503, 'busy');

    const problem = await problemOf(v.checkIdentityProvider());

    expect(problem.code).toBe('identity_provider_unavailable');
    await expect(v.verify(await issueAppToken(tenantKey, { expiresInSeconds: 1800 }))).resolves.toMatchObject({ appId: CALLER_APP_ID });
  });

  it('rejects with identity_provider_unavailable when Entra cannot be reached', async () => {
    nock.cleanAll();
    nock(AUTHORITY).get(/openid-configuration/).times(2).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    expect((await problemOf(verifier().checkIdentityProvider())).code).toBe('identity_provider_unavailable');
  });

  it('picks up a new jwks_uri from the refreshed configuration and verifies tokens signed by its keys', async () => {
    const v = verifier();
    await v.verify(await issueAppToken(tenantKey));
    const newKey = await makeSigningKey();
    nock.cleanAll();
    nock(AUTHORITY)
      .get(`/${TENANT_ID}/v2.0/.well-known/openid-configuration`)
      .reply(200, { ...openIdConfigurationV2(AUTHORITY, TENANT_ID), jwks_uri: `${AUTHORITY}/${TENANT_ID}/discovery/v2.0/keys?appid=rotated` })
      .get(`/${TENANT_ID}/.well-known/openid-configuration`)
      .reply(200, { issuer: `https://sts.windows.net/${TENANT_ID}/`, jwks_uri: `${AUTHORITY}/common/discovery/keys` })
      .get(`/${TENANT_ID}/discovery/v2.0/keys`)
      .query({ appid: 'rotated' })
      .reply(200, { keys: [newKey.jwk] });

    await v.checkIdentityProvider();

    await expect(v.verify(await issueAppToken(newKey))).resolves.toMatchObject({ appId: CALLER_APP_ID });
  });
});
