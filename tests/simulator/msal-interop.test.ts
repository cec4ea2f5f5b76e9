import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTenant, type TestTenant } from './tenant-kit.js';

/**
 * MSAL and fetch in a separate Node process started with NODE_EXTRA_CA_CERTS set to the
 * simulator's bundle, as KeyDesk is started in the demo: proof that the production libraries
 * accept the simulated tenant (discovery, issuer validation, token responses, ID token checks).
 */

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

const SCRIPT = String.raw`
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
const env = process.env;
const redirectUri = 'http://localhost:8080/auth/callback';
const cca = new ConfidentialClientApplication({
  auth: {
    clientId: env.AZURE_CLIENT_ID,
    clientSecret: env.AZURE_CLIENT_SECRET,
    authority: env.AZURE_AUTHORITY_HOST + '/' + env.AZURE_TENANT_ID,
    knownAuthorities: [new URL(env.AZURE_AUTHORITY_HOST).host],
  },
});
const app = await cca.acquireTokenByClientCredential({ scopes: [env.GRAPH_BASE_URL + '/.default'] });
const cached = await cca.acquireTokenByClientCredential({ scopes: [env.GRAPH_BASE_URL + '/.default'] });
const graph = await fetch(env.GRAPH_BASE_URL + '/v1.0/devices?$top=2', { headers: { authorization: 'Bearer ' + app.accessToken } });

const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
const url = await cca.getAuthCodeUrl({
  scopes: ['openid', 'profile'], redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'st', nonce: 'nn',
  extraQueryParameters: { max_age: '300' },
});
const page = await (await fetch(url)).text();
const ctx = /name="ctx" value="([^"]+)"/.exec(page)[1];
const action = /<form method="post" action="([^"]+)"/.exec(page)[1];
const posted = await fetch(new URL(action, url), {
  method: 'POST', redirect: 'manual',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ ctx, upn: env.SIM_UPN, action: 'signin' }),
});
const back = new URL(posted.headers.get('location'));
const user = await cca.acquireTokenByCode(
  // MSAL 7 checks the ID token's nonce against the request's, not the payload's.
  { code: back.searchParams.get('code'), scopes: ['openid', 'profile'], redirectUri, codeVerifier: verifier, state: 'st', nonce: 'nn' },
  { code: back.searchParams.get('code'), state: back.searchParams.get('state'), client_info: back.searchParams.get('client_info') },
);
process.stdout.write(JSON.stringify({
  graphStatus: graph.status,
  graphCount: (await graph.json()).value.length,
  secondFromCache: cached.fromCache,
  username: user.account.username,
  idTokenClaims: user.idTokenClaims,
}));
`;

// MSAL reads the PEM as KeyDesk's config does: the certificate's SHA-256 thumbprint, its key, the chain as x5c.
const CERTIFICATE_SCRIPT = String.raw`
import { ConfidentialClientApplication } from '@azure/msal-node';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
const env = process.env;
const pem = readFileSync(env.AZURE_CLIENT_CERTIFICATE_PATH, 'utf8');
const cca = new ConfidentialClientApplication({
  auth: {
    clientId: env.AZURE_CLIENT_ID,
    authority: env.AZURE_AUTHORITY_HOST + '/' + env.AZURE_TENANT_ID,
    knownAuthorities: [new URL(env.AZURE_AUTHORITY_HOST).host],
    clientCertificate: {
      thumbprintSha256: new X509Certificate(pem).fingerprint256.replaceAll(':', ''),
      privateKey: /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)[0],
      x5c: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)[0],
    },
  },
});
const graph = await cca.acquireTokenByClientCredential({ scopes: [env.GRAPH_BASE_URL + '/.default'] });
const api = await cca.acquireTokenByClientCredential({ scopes: [env.API_AUDIENCE + '/.default'] });
const devices = await fetch(env.GRAPH_BASE_URL + '/v1.0/devices?$top=1', { headers: { authorization: 'Bearer ' + graph.accessToken } });
process.stdout.write(JSON.stringify({ graphStatus: devices.status, apiFromCache: api.fromCache }));
`;

let sim: TestTenant;
beforeAll(async () => {
  sim = await startTestTenant();
});
afterAll(() => sim.close());

describe('MSAL against the simulated tenant', () => {
  it('gets and caches a Graph token, reads Graph, and completes an authorization code sign-in with PKCE and nonce', async () => {
    const staff = sim.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: REPO,
      env: { ...process.env, ...sim.tenant.keydeskEnvironment(), SIM_UPN: staff.upn },
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { graphStatus: number; graphCount: number; secondFromCache: boolean; username: string; idTokenClaims: Record<string, unknown> };
    expect(result.graphStatus).toBe(200);
    expect(result.graphCount).toBe(2);
    expect(result.secondFromCache).toBe(true);
    expect(result.username).toBe(staff.upn);
    expect(result.idTokenClaims).toMatchObject({ oid: staff.oid, roles: staff.roles, nonce: 'nn' });
    expect(sim.tenant.tokenRequests.map((r) => r.grantType)).toEqual(['client_credentials', 'authorization_code']);
    expect(sim.tenant.entraRequests.filter((r) => r.path.endsWith('/v2.0/.well-known/openid-configuration')).length).toBeGreaterThanOrEqual(1);
  });

  it('gets Graph and API tokens with KeyDesk’s certificate: MSAL’s PS256 assertion, reused for its second request, is accepted', async () => {
    sim.tenant.clearLogs();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CERTIFICATE_SCRIPT], {
      cwd: REPO,
      env: { ...process.env, ...sim.tenant.keydeskEnvironment({ credential: 'certificate' }) },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({ graphStatus: 200, apiFromCache: false });
    expect(sim.tenant.tokenRequests.map((r) => [r.clientAuth, r.status])).toEqual([
      ['private_key_jwt', 200],
      ['private_key_jwt', 200],
    ]);
  });
});
