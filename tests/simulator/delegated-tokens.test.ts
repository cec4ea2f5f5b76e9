import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedBrowser } from '../../simulator/index.js';
import { claimsOf, startTestTenant, type TestTenant } from './tenant-kit.js';

/**
 * Staff members' delegated tokens for KeyDesk's API, as Entra issues them to another client app
 * (the helpdesk chat bot): what KeyDesk's API must tell apart from a ticketing system's app-only token.
 */

let v1: TestTenant;
let v2: TestTenant;
beforeAll(async () => {
  [v1, v2] = await Promise.all([startTestTenant(), startTestTenant({ apiTokenVersion: '2.0' })]);
});
afterAll(async () => {
  await Promise.all([v1.close(), v2.close()]);
});

function discloser(t: TestTenant) {
  return t.tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Disclose')!;
}

async function verified(t: TestTenant, token: string, issuer: string) {
  const jwks = (await t.http(`${t.tenant.authorityHost}/${t.tenant.tenantId}/discovery/v2.0/keys`)).json<JSONWebKeySet>();
  return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer })).payload;
}

describe('issueDelegatedApiToken', () => {
  it('gives a v1 token with scp, the staff member’s roles, the chat bot as appid, upn and oid, signed with the tenant’s key', async () => {
    const { tenant } = v1;
    const person = discloser(v1);
    const token = await tenant.issueDelegatedApiToken({ staffUpn: person.upn });
    const claims = await verified(v1, token, `${tenant.authorityHost}/${tenant.tenantId}/`);
    expect(claims).toMatchObject({
      aud: tenant.keydeskApp.appIdUri,
      scp: 'access_as_user',
      roles: ['BitLocker.Disclose'],
      appid: tenant.chatBotApp.clientId,
      upn: person.upn,
      unique_name: person.upn,
      oid: person.oid,
      tid: tenant.tenantId,
      amr: ['pwd'],
      ver: '1.0',
    });
    // Entra adds idtyp to an API's user tokens only with include_user_token, which KeyDesk's registration lacks.
    expect(claims).not.toHaveProperty('idtyp');
    expect(claims).not.toHaveProperty('acrs');
    expect(tenant.chatBotApp).toMatchObject({ name: 'Helpdesk chat bot', roles: [] });
  });

  it('carries acrs (and mfa in amr) when the staff member satisfied a step-up, and the audience asked for', async () => {
    const { tenant } = v1;
    const token = await tenant.issueDelegatedApiToken({ staffUpn: discloser(v1).upn, acrs: ['c1'], resource: `${tenant.keydeskApp.appIdUri}/` });
    expect(claimsOf(token)).toMatchObject({ acrs: ['c1'], amr: ['pwd', 'mfa'], aud: `${tenant.keydeskApp.appIdUri}/` });
  });

  it('gives a v2 token (client id audience, azp, preferred_username) when the API asks for v2 tokens', async () => {
    const { tenant } = v2;
    const person = discloser(v2);
    const ticketing = tenant.ticketingApps[0]!;
    const token = await tenant.issueDelegatedApiToken({ staffUpn: person.upn, clientId: ticketing.clientId });
    const claims = await verified(v2, token, `${tenant.authorityHost}/${tenant.tenantId}/v2.0`);
    expect(claims).toMatchObject({
      aud: tenant.keydeskApp.clientId,
      azp: ticketing.clientId,
      preferred_username: person.upn,
      scp: 'access_as_user',
      roles: ['BitLocker.Disclose'],
      oid: person.oid,
      ver: '2.0',
    });
    for (const claim of ['appid', 'upn', 'idtyp', 'amr']) expect(claims).not.toHaveProperty(claim);
  });

  it('issues no token for a disabled account, as Entra refuses to', async () => {
    const { tenant } = v1;
    const leaver = tenant.directory.owners(tenant.directory.notable.ownerDisabled)[0]!;
    await expect(tenant.issueDelegatedApiToken({ staffUpn: leaver.userPrincipalName })).rejects.toThrow(/disabled/);
  });
});

describe('the chat bot’s own sign-in', () => {
  it('redeems an authorization code for a KeyDesk API token with the user’s roles, and an ID token without them', async () => {
    const { tenant } = v1;
    const person = discloser(v1);
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = 'http://localhost:3978/auth/callback';
    const scope = `openid profile ${tenant.keydeskApp.appIdUri}/access_as_user`;
    const params = new URLSearchParams({
      client_id: tenant.chatBotApp.clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope,
      state: 's',
      nonce: 'n',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const browser = new SimulatedBrowser(tenant.caCertPath);
    const signIn = await browser.signIn(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/authorize?${params}`, { upn: person.upn });
    const answer = await v1.http(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'authorization_code',
        client_id: tenant.chatBotApp.clientId,
        client_secret: tenant.chatBotApp.clientSecret,
        code: signIn.params.get('code')!,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        scope,
      },
    });
    expect(answer.status).toBe(200);
    const body = answer.json<{ access_token: string; id_token: string }>();
    expect(claimsOf(body.access_token)).toMatchObject({ aud: tenant.keydeskApp.appIdUri, scp: 'access_as_user', roles: ['BitLocker.Disclose'], appid: tenant.chatBotApp.clientId, upn: person.upn });
    expect(claimsOf(body.id_token)).toMatchObject({ aud: tenant.chatBotApp.clientId, preferred_username: person.upn });
    expect(claimsOf(body.id_token)).not.toHaveProperty('roles');
    const minted = claimsOf(await tenant.issueDelegatedApiToken({ staffUpn: person.upn }));
    expect(Object.keys(minted).sort()).toEqual(Object.keys(claimsOf(body.access_token)).sort());
  });

  it('refuses the sign-in for a ticketing app, which has no redirect URI registered', async () => {
    const { tenant } = v1;
    const params = new URLSearchParams({ client_id: tenant.ticketingApps[0]!.clientId, response_type: 'code', redirect_uri: 'http://localhost:3978/cb', scope: 'openid' });
    const page = await v1.http(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/authorize?${params}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain('AADSTS500113');
  });
});
