import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificateFile } from '../../simulator/index.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { claimsOf, startTestTenant, type TestTenant } from './tenant-kit.js';

/**
 * KeyDesk's certificate credential (private_key_jwt) at the simulated token endpoints, with
 * assertions built by hand so each of Entra's checks can be made to fail on its own.
 */

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let sim: TestTenant;
let key: KeyObject;
let certificate: X509Certificate;

beforeAll(async () => {
  sim = await startTestTenant();
  const pem = readFileSync(sim.tenant.keydeskApp.certificatePath, 'utf8');
  key = createPrivateKey(pem);
  certificate = new X509Certificate(pem);
});
afterAll(() => sim.close());

const v2Url = () => `${sim.tenant.authorityHost}/${sim.tenant.tenantId}/oauth2/v2.0/token`;
const v1Url = () => `${sim.tenant.authorityHost}/${sim.tenant.tenantId}/oauth2/token`;

interface AssertionOptions {
  alg?: 'PS256' | 'RS256';
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  signWith?: KeyObject;
  audience?: string;
}

/** An assertion as MSAL 7 builds one from a SHA-256 thumbprint: PS256, x5t#S256, 10 minutes. */
function assertion(options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const clientId = sim.tenant.keydeskApp.clientId;
  const alg = options.alg ?? 'PS256';
  const thumbprint =
    alg === 'PS256'
      ? { 'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url') }
      : { x5t: createHash('sha1').update(certificate.raw).digest('base64url') };
  return new SignJWT({ aud: options.audience ?? v2Url(), exp: now + 600, iss: clientId, sub: clientId, nbf: now, jti: randomUUID(), ...options.claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...thumbprint, ...options.header })
    .sign(options.signWith ?? key);
}

async function tokenRequest(clientAssertion: string, url = v2Url(), extra: Record<string, string> = {}) {
  const form: Record<string, string> = {
    grant_type: 'client_credentials',
    client_id: sim.tenant.keydeskApp.clientId,
    client_assertion_type: JWT_BEARER,
    client_assertion: clientAssertion,
    ...(url === v1Url() ? { resource: sim.tenant.graphBaseUrl } : { scope: `${sim.tenant.graphBaseUrl}/.default` }),
    ...extra,
  };
  const answer = await sim.http(url, { form });
  return { status: answer.status, body: answer.json<Record<string, unknown> & { error_codes?: number[]; error_description?: string }>() };
}

describe('certificate client credentials (private_key_jwt)', () => {
  it('gives KeyDesk a Graph token for a PS256 assertion naming its certificate by x5t#S256, as MSAL 7 sends it', async () => {
    sim.tenant.clearLogs();
    const { status, body } = await tokenRequest(await assertion());
    expect(status).toBe(200);
    expect(claimsOf(String(body.access_token))).toMatchObject({ aud: sim.tenant.graphBaseUrl, appid: sim.tenant.keydeskApp.clientId, idtyp: 'app' });
    expect(sim.tenant.tokenRequests).toMatchObject([{ grantType: 'client_credentials', clientAuth: 'private_key_jwt', status: 200 }]);
  });

  it('takes an RS256 assertion with the SHA-1 x5t, as older MSAL versions send it, at the v1 endpoint too', async () => {
    const { status, body } = await tokenRequest(await assertion({ alg: 'RS256', audience: v1Url() }), v1Url());
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', resource: sim.tenant.graphBaseUrl });
  });

  it('refuses a certificate the app does not have with 401 invalid_client AADSTS700027, naming its thumbprint', async () => {
    const other = await createClientCertificateFile(join(ARTIFACTS_DIR, 'simulator-tests', `unregistered-${randomUUID()}.pem`));
    const otherPem = readFileSync(other.path, 'utf8');
    const signed = await assertion({
      signWith: createPrivateKey(otherPem),
      header: { 'x5t#S256': createHash('sha256').update(new X509Certificate(otherPem).raw).digest('base64url') },
    });
    const { status, body } = await tokenRequest(signed);
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    expect(body.error_description).toContain(`Thumbprint of key used by client: '${other.thumbprintSha256.toUpperCase()}'`);
    expect(body.error_description).toContain('is not registered on application');
  });

  it('refuses an assertion whose signature is not made by the registered certificate’s key with AADSTS700027', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { status, body } = await tokenRequest(await assertion({ signWith: privateKey }));
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    expect(body.error_description).toMatch(/^AADSTS700027: Client assertion contains an invalid signature\./);
  });

  it('refuses an expired assertion, and one not valid yet, with AADSTS700024', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ nbf: now - 1800, exp: now - 900 }, { nbf: now + 900, exp: now + 1500 }]) {
      const { status, body } = await tokenRequest(await assertion({ claims }));
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700024] });
      expect(body.error_description).toMatch(/^AADSTS700024: Client assertion is not within its valid time range\./);
    }
  });

  it('refuses an assertion made for the other token endpoint with AADSTS700023', async () => {
    const { status, body } = await tokenRequest(await assertion({ audience: v1Url() }));
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700023] });
  });

  it('refuses an assertion whose iss or sub is not the client id with AADSTS700021', async () => {
    const other = sim.tenant.ticketingApps[0]!.clientId;
    for (const claims of [{ iss: other }, { sub: other }]) {
      const { status, body } = await tokenRequest(await assertion({ claims }));
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700021] });
    }
  });

  it('takes the same assertion again while it is valid, as MSAL reuses it, but refuses a new one that repeats its jti', async () => {
    const jti = randomUUID();
    const first = await assertion({ claims: { jti } });
    expect((await tokenRequest(first)).status).toBe(200);
    expect((await tokenRequest(first, v2Url(), { scope: `${sim.tenant.keydeskApp.appIdUri}/.default` })).status).toBe(200);
    const { status, body } = await tokenRequest(await assertion({ claims: { jti, exp: Math.floor(Date.now() / 1000) + 300 } }));
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_request', error_codes: [50027] });
  });

  it('refuses an assertion without a jti, a wrong assertion type, and a secret sent with an assertion', async () => {
    const withoutJti = await tokenRequest(await assertion({ claims: { jti: undefined } }));
    expect(withoutJti).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [90014] } });
    const wrongType = await tokenRequest(await assertion(), v2Url(), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' });
    expect(wrongType).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const both = await tokenRequest(await assertion(), v2Url(), { client_secret: sim.tenant.keydeskApp.clientSecret });
    expect(both).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('refuses an assertion for an app with no certificate registered, and still takes KeyDesk’s secret', async () => {
    const app = sim.tenant.ticketingApps[0]!;
    const answer = await sim.http(v2Url(), {
      form: { grant_type: 'client_credentials', client_id: app.clientId, client_assertion_type: JWT_BEARER, client_assertion: await assertion(), scope: `${sim.tenant.keydeskApp.appIdUri}/.default` },
    });
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    expect(await sim.graphToken()).toMatch(/^ey/);
  });

  it('advertises private_key_jwt in both OpenID configurations', async () => {
    const base = `${sim.tenant.authorityHost}/${sim.tenant.tenantId}`;
    for (const path of ['v2.0/.well-known/openid-configuration', '.well-known/openid-configuration']) {
      expect((await sim.http(`${base}/${path}`)).json().token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    }
  });
});

describe('KeyDesk’s certificate credential', () => {
  it('is one 0600 PEM with the certificate and its private key, named in the environment instead of the secret', () => {
    const { keydeskApp } = sim.tenant;
    const pem = readFileSync(keydeskApp.certificatePath, 'utf8');
    expect(pem).toMatch(/-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN PRIVATE KEY-----/);
    expect(statSync(keydeskApp.certificatePath).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase()).toBe(keydeskApp.certificateThumbprintSha256);
    expect(sim.tenant.keydeskEnvironment({ credential: 'certificate' })).toMatchObject({
      AZURE_CLIENT_ID: keydeskApp.clientId,
      AZURE_CLIENT_CERTIFICATE_PATH: keydeskApp.certificatePath,
      AZURE_CLIENT_SECRET: '',
    });
    expect(sim.tenant.keydeskEnvironment()).toMatchObject({ AZURE_CLIENT_SECRET: keydeskApp.clientSecret, AZURE_CLIENT_CERTIFICATE_PATH: '' });
  });
});
