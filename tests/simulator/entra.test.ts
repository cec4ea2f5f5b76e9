import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, startTestTenant, type TestTenant } from './tenant-kit.js';
import { KEYDESK_GRAPH_PERMISSIONS } from '../../simulator/index.js';

let sim: TestTenant;
let v2: TestTenant;

beforeAll(async () => {
  [sim, v2] = await Promise.all([startTestTenant(), startTestTenant({ apiTokenVersion: '2.0' })]);
});
afterAll(async () => {
  await Promise.all([sim.close(), v2.close()]);
});

function tokenUrl(t: TestTenant): string {
  return `${t.tenant.authorityHost}/${t.tenant.tenantId}/oauth2/v2.0/token`;
}

describe('OpenID discovery', () => {
  it('serves the v2 configuration on the authority host, with an issuer MSAL accepts for it', async () => {
    const { tenant } = sim;
    const answer = await sim.http(`${tenant.authorityHost}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(answer.status).toBe(200);
    const config = answer.json();
    const base = `${tenant.authorityHost}/${tenant.tenantId}`;
    expect(config).toMatchObject({
      issuer: `${base}/v2.0`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('serves the v1 configuration with the authority host as its issuer, since sts.windows.net is another host', async () => {
    const { tenant } = sim;
    const config = (await sim.http(`${tenant.authorityHost}/${tenant.tenantId}/.well-known/openid-configuration`)).json();
    expect(config.issuer).toBe(`${tenant.authorityHost}/${tenant.tenantId}/`);
    expect(config.jwks_uri).toBe(`${tenant.authorityHost}/common/discovery/keys`);
    expect((await sim.http(String(config.jwks_uri))).status).toBe(200);
  });

  it('answers a tenant it does not know with Entra’s invalid_tenant error', async () => {
    const answer = await sim.http(`${sim.tenant.authorityHost}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration`);
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
  });

  it('publishes the signing key with kid, x5t and x5c so its tokens verify against the JWKS', async () => {
    const { tenant } = sim;
    const jwks = (await sim.http(`${tenant.authorityHost}/${tenant.tenantId}/discovery/v2.0/keys`)).json<JSONWebKeySet & { keys: Array<Record<string, unknown>> }>();
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: 'RSA', use: 'sig', e: 'AQAB' });
    expect(key?.kid).toBe(key?.x5t);
    expect(key?.x5c).toHaveLength(1);
    const token = await tenant.issueAppToken(tenant.ticketingApps[0]!.clientId);
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: `${tenant.authorityHost}/${tenant.tenantId}/` })).resolves.toBeDefined();
  });
});

describe('client credentials', () => {
  it('gives KeyDesk a v1.0 Graph token whose roles are its granted Graph permissions', async () => {
    const { tenant } = sim;
    const answer = await sim.http(tokenUrl(sim), {
      form: { grant_type: 'client_credentials', client_id: tenant.keydeskApp.clientId, client_secret: tenant.keydeskApp.clientSecret, scope: `${tenant.graphBaseUrl}/.default` },
    });
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    const claims = claimsOf(String(body.access_token));
    expect(claims).toMatchObject({
      aud: tenant.graphBaseUrl,
      iss: `${tenant.authorityHost}/${tenant.tenantId}/`,
      tid: tenant.tenantId,
      appid: tenant.keydeskApp.clientId,
      oid: tenant.keydeskApp.servicePrincipalId,
      idtyp: 'app',
      ver: '1.0',
    });
    expect([...(claims.roles as string[])].sort()).toEqual(['AuditLog.Read.All', 'BitlockerKey.Read.All', 'Device.Read.All', 'DeviceManagementManagedDevices.Read.All', 'DeviceManagementManagedDevices.ReadWrite.All', 'GroupMember.Read.All', 'User.Read.All']);
    expect(claims).not.toHaveProperty('scp');
  });

  it('gives a ticketing app a v1.0 token for KeyDesk’s API with its app roles, App ID URI audience and appid', async () => {
    const { tenant } = sim;
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const answer = await sim.http(tokenUrl(sim), {
      form: { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: `${tenant.keydeskApp.appIdUri}/.default` },
    });
    const claims = claimsOf(answer.json<{ access_token: string }>().access_token);
    expect(claims).toMatchObject({
      aud: tenant.keydeskApp.appIdUri,
      iss: `${tenant.authorityHost}/${tenant.tenantId}/`,
      appid: app.clientId,
      oid: app.servicePrincipalId,
      roles: ['BitLocker.Disclose'],
      idtyp: 'app',
      ver: '1.0',
    });
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'idp', 'idtyp', 'iss', 'nbf', 'oid', 'roles', 'sub', 'tid', 'uti', 'ver', 'appid', 'appidacr'].sort());
  });

  it('gives a v2.0 token (client id audience, azp, v2 issuer) when the API asks for v2 tokens', async () => {
    const { tenant } = v2;
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Lookup'))!;
    const answer = await v2.http(tokenUrl(v2), {
      form: { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: `${tenant.keydeskApp.clientId}/.default` },
    });
    const claims = claimsOf(answer.json<{ access_token: string }>().access_token);
    expect(claims).toMatchObject({
      aud: tenant.keydeskApp.clientId,
      iss: `${tenant.authorityHost}/${tenant.tenantId}/v2.0`,
      azp: app.clientId,
      azpacr: '1',
      roles: ['BitLocker.Lookup'],
      ver: '2.0',
    });
    expect(claims).not.toHaveProperty('appid');
  });

  it('leaves the roles claim out for an app that holds no role', async () => {
    const { tenant } = sim;
    const app = tenant.ticketingApps.find((a) => a.roles.length === 0)!;
    expect(claimsOf(await tenant.issueAppToken(app.clientId))).not.toHaveProperty('roles');
  });

  it('refuses a wrong client secret with 401 invalid_client AADSTS7000215, and logs the refusal', async () => {
    const { tenant } = sim;
    tenant.clearLogs();
    const answer = await sim.http(`${tokenUrl(sim)}?client-request-id=8b0f4f7e-0000-4000-8000-000000000001`, {
      form: { grant_type: 'client_credentials', client_id: tenant.keydeskApp.clientId, client_secret: 'wrong', scope: `${tenant.graphBaseUrl}/.default` },
    });
    expect(answer.status).toBe(401);
    const body = answer.json<{ error: string; error_description: string; error_codes: number[]; correlation_id: string }>();
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(body.correlation_id).toBe('8b0f4f7e-0000-4000-8000-000000000001');
    expect(tenant.tokenRequests).toMatchObject([{ grantType: 'client_credentials', clientId: tenant.keydeskApp.clientId, status: 401, error: 'invalid_client', aadsts: 7000215 }]);
  });

  it('refuses an unknown client with unauthorized_client AADSTS700016', async () => {
    const answer = await sim.http(tokenUrl(sim), {
      form: { grant_type: 'client_credentials', client_id: '11111111-2222-4333-8444-555555555555', client_secret: 'x', scope: `${sim.tenant.graphBaseUrl}/.default` },
    });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
  });

  it('refuses a scope without /.default with invalid_scope, and an unknown resource with invalid_resource', async () => {
    const { tenant } = sim;
    const form = { grant_type: 'client_credentials', client_id: tenant.keydeskApp.clientId, client_secret: tenant.keydeskApp.clientSecret };
    const notDefault = await sim.http(tokenUrl(sim), { form: { ...form, scope: `${tenant.graphBaseUrl}/Device.Read.All` } });
    expect(notDefault.status).toBe(400);
    expect(notDefault.json()).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
    const unknown = await sim.http(tokenUrl(sim), { form: { ...form, scope: 'https://graph.microsoft.com/.default' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
  });

  it('accepts the client secret in a Basic authorization header too', async () => {
    const { tenant } = sim;
    const basic = Buffer.from(`${tenant.keydeskApp.clientId}:${encodeURIComponent(tenant.keydeskApp.clientSecret)}`).toString('base64');
    const answer = await sim.http(tokenUrl(sim), {
      headers: { authorization: `Basic ${basic}` },
      form: { grant_type: 'client_credentials', scope: `${tenant.graphBaseUrl}/.default` },
    });
    expect(answer.status).toBe(200);
  });

  it('serves the v1 token endpoint with `resource` and its string-typed numbers', async () => {
    const { tenant } = sim;
    const answer = await sim.http(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/token`, {
      form: { grant_type: 'client_credentials', client_id: tenant.keydeskApp.clientId, client_secret: tenant.keydeskApp.clientSecret, resource: tenant.graphBaseUrl },
    });
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: '3599', resource: tenant.graphBaseUrl });
    expect(claimsOf(String(body.access_token)).aud).toBe(tenant.graphBaseUrl);
  });

  it('puts the current Graph permissions in tokens issued after the knob changes them', async () => {
    const { tenant } = sim;
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'BitlockerKey.Read.All']);
    try {
      expect(claimsOf(await sim.graphToken()).roles).toEqual(['Device.Read.All', 'BitlockerKey.Read.All']);
    } finally {
      tenant.knobs.reset();
    }
    expect(claimsOf(await sim.graphToken()).roles).toHaveLength(KEYDESK_GRAPH_PERMISSIONS.length);
  });

  it('gives v1 API tokens whose aud is exactly the identifier asked for: the App ID URI with or without its slash, or the client id', async () => {
    const { tenant } = sim;
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const credentials = { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret };
    const uri = tenant.keydeskApp.appIdUri;
    const v2Requests: Array<[string, string]> = [
      [`${uri}/.default`, uri],
      [`${uri}//.default`, `${uri}/`],
      [`${tenant.keydeskApp.clientId}/.default`, tenant.keydeskApp.clientId],
    ];
    for (const [scope, aud] of v2Requests) {
      const answer = await sim.http(tokenUrl(sim), { form: { ...credentials, scope } });
      expect(claimsOf(answer.json<{ access_token: string }>().access_token).aud, scope).toBe(aud);
    }
    for (const resource of [uri, `${uri}/`, tenant.keydeskApp.clientId]) {
      const answer = await sim.http(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/token`, { form: { ...credentials, resource } });
      expect(answer.json()).toMatchObject({ resource });
      expect(claimsOf(answer.json<{ access_token: string }>().access_token).aud, resource).toBe(resource);
    }
    const twoSlashes = await sim.http(tokenUrl(sim), { form: { ...credentials, scope: `${uri}///.default` } });
    expect(twoSlashes.json()).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
  });

  it('gives v2 API tokens the client id as aud, however the App ID URI was written', async () => {
    const { tenant } = v2;
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const answer = await v2.http(tokenUrl(v2), {
      form: { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: `${tenant.keydeskApp.appIdUri}//.default` },
    });
    expect(claimsOf(answer.json<{ access_token: string }>().access_token).aud).toBe(tenant.keydeskApp.clientId);
  });
});
