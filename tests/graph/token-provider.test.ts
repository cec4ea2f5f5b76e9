import { execFileSync } from 'node:child_process';
import { X509Certificate, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import nock from 'nock';
import { compactVerify, decodeProtectedHeader, importX509 } from 'jose';
import type { ClientCredential } from '../../src/config/config.js';
import { problemOf } from '../helpers/problems.js';
import {
  APP_CLIENT_ID,
  CLIENT_SECRET,
  GRAPH,
  LOGIN,
  TENANT,
  captureLog,
  fakeTime,
  graphConfig,
  mockOpenIdConfiguration,
  mockTokenEndpoint,
  type TokenRequest,
  DEVICE_ID,
  KEYS,
  KEYS_PATH,
  gatewayFor, tokenProviderFor, type GatewayTestConfig
} from '../helpers/graph-fixtures.js';


beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function gateway(overrides: Partial<GatewayTestConfig> = {}) {
  const log = captureLog();
  const time = fakeTime();
  const gw = gatewayFor(graphConfig(overrides), { logger: log.logger, sleep: time.sleep, now: time.now, random: () => 0.5 });
  return { gw, log };
}


describe('token reuse', () => {
  it('requests one token for many Graph calls and sends it as the bearer of each', async () => {
    const { gw, log } = gateway();
    const requests: TokenRequest[] = [];
    const token = mockTokenEndpoint({ accessToken: 'cached-graph-token', requests });
    const graph = nock(GRAPH, { reqheaders: { authorization: 'Bearer cached-graph-token' } })
      .get(KEYS_PATH)
      .query(true)
      .times(5)
      .reply(200, KEYS);

    for (let i = 0; i < 5; i++) await gw.listRecoveryKeys(DEVICE_ID);

    expect(token.isDone() && graph.isDone()).toBe(true);
    expect(requests).toHaveLength(1);
    const form = requests[0]?.form;
    expect(form?.get('grant_type')).toBe('client_credentials');
    expect(form?.get('client_id')).toBe(APP_CLIENT_ID);
    expect(form?.get('scope')).toBe('https://graph.microsoft.com/.default');
    expect(form?.get('client_secret')).toBe(CLIENT_SECRET);
    const written = log.lines.join('\n');
    expect(written).not.toContain('cached-graph-token');
    expect(written).not.toContain(CLIENT_SECRET);
  });

  it('shares one token request among calls that start together on a cold cache', async () => {
    const { gw } = gateway();
    const requests: TokenRequest[] = [];
    mockTokenEndpoint({ requests });
    nock(GRAPH).get(KEYS_PATH).query(true).times(3).reply(200, KEYS);

    await Promise.all([gw.listRecoveryKeys(DEVICE_ID), gw.listRecoveryKeys(DEVICE_ID), gw.listRecoveryKeys(DEVICE_ID)]);

    expect(requests).toHaveLength(1);
  });

  it('never reuses a token that is within MSAL\'s renewal margin: such a token is fetched afresh', async () => {
    const { gw } = gateway();
    const requests: TokenRequest[] = [];
    // 200 s left: MSAL renews tokens with less than 5 minutes to live, so KeyDesk must not hold it.
    mockTokenEndpoint({ requests, times: 2, expiresIn: 200 });
    nock(GRAPH).get(KEYS_PATH).query(true).times(2).reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);
    await gw.listRecoveryKeys(DEVICE_ID);

    expect(requests).toHaveLength(2);
  });
});

describe('certificate credential', () => {
  let dir: string;
  let certificatePem: string;
  let credential: ClientCredential;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keydesk-cert-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=KeyDesk test'],
      { stdio: 'ignore' },
    );
    certificatePem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    credential = {
      kind: 'certificate',
      path: join(dir, 'cert.pem'),
      privateKey: readFileSync(join(dir, 'key.pem'), 'utf8'),
      thumbprintSha256: new X509Certificate(certificatePem).fingerprint256.replaceAll(':', '').toLowerCase(),
      x5c: certificatePem,
    };
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("signs a client assertion that names the certificate's SHA-256 thumbprint, and sends no secret", async () => {
    const { gw } = gateway({ clientCredential: credential });
    const requests: TokenRequest[] = [];
    mockTokenEndpoint({ requests });
    nock(GRAPH).get(KEYS_PATH).query(true).reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    const form = requests[0]?.form;
    expect(form?.has('client_secret')).toBe(false);
    expect(form?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form?.get('client_assertion') ?? '';
    const header = decodeProtectedHeader(assertion);
    if (credential.kind !== 'certificate') throw new Error('unreachable');
    expect(header['x5t#S256']).toBe(Buffer.from(credential.thumbprintSha256, 'hex').toString('base64url'));
    expect(header.x5c?.[0]).toBe(new X509Certificate(certificatePem).raw.toString('base64'));
    const { payload } = await compactVerify(assertion, await importX509(certificatePem, String(header.alg)));
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: APP_CLIENT_ID, sub: APP_CLIENT_ID, aud: `${LOGIN}/${TENANT}/oauth2/v2.0/token` });
  });
});

describe('clouds and hosts', () => {
  it('works in US Government: token from login.microsoftonline.us, bearer sent to graph.microsoft.us', async () => {
    const { gw } = gateway({ authorityHost: 'https://login.microsoftonline.us', graphBaseUrl: 'https://graph.microsoft.us' });
    const requests: TokenRequest[] = [];
    // MSAL has built-in metadata for this host: no discovery request is expected, and none is mocked.
    const token = mockTokenEndpoint({ authority: 'https://login.microsoftonline.us', accessToken: 'usgov-token', requests });
    const graph = nock('https://graph.microsoft.us', { reqheaders: { authorization: 'Bearer usgov-token' } })
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    expect(token.isDone() && graph.isDone()).toBe(true);
    expect(requests[0]?.form.get('scope')).toBe('https://graph.microsoft.us/.default');
  });

  it('discovers a custom authority from its OpenID configuration and sends the token to a custom Graph host', async () => {
    const authority = 'https://login.keydesk.test';
    const graphHost = 'https://graph.keydesk.test:8443';
    const { gw } = gateway({ authorityHost: authority, graphBaseUrl: graphHost });
    const discovery = mockOpenIdConfiguration(authority);
    const token = mockTokenEndpoint({ authority, accessToken: 'simulator-token' });
    // Without customHosts the SDK would send this request with no Authorization header.
    const graph = nock(graphHost, { reqheaders: { authorization: 'Bearer simulator-token' } }).get(KEYS_PATH).query(true).reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    expect(discovery.isDone() && token.isDone() && graph.isDone()).toBe(true);
  });
});

describe('token failures', () => {
  it('tells the operator the client secret was rejected (AADSTS7000215), without logging the secret or calling Graph', async () => {
    const { gw, log } = gateway();
    nock(LOGIN)
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .reply(401, {
        error: 'invalid_client',
        error_description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43'.",
        error_codes: [7000215],
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('client credential');
    expect(problem.detail).toContain('AZURE_CLIENT_SECRET');
    expect(problem.detail).toContain('AADSTS7000215');
    expect(log.lines.join('\n')).not.toContain(CLIENT_SECRET);
    expect(log.records().some((r) => r.msg === 'Graph token request failed')).toBe(true);
  });

  it('points at AZURE_CLIENT_ID when Entra does not know the application (unauthorized_client)', async () => {
    const { gw } = gateway();
    nock(LOGIN)
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .reply(400, {
        error: 'unauthorized_client',
        error_description: "AADSTS700016: Application with identifier '…' was not found in the directory '…'.",
        error_codes: [700016],
      });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('AZURE_CLIENT_ID');
  });

  it("reports an unavailable Entra as graph_unavailable with Entra's Retry-After, and asks Entra again on the next call", async () => {
    const { gw } = gateway();
    nock(LOGIN)
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .reply(503, { error: 'temporarily_unavailable', error_description: 'AADSTS50001: …', error_codes: [50001] }, { 'Retry-After': '7' });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.headers['Retry-After']).toBe('7');

    // MSAL alone would refuse every token request for the next 60 s without asking Entra.
    const token = mockTokenEndpoint();
    nock(GRAPH).get(KEYS_PATH).query(true).reply(200, KEYS);
    await expect(gw.listRecoveryKeys(DEVICE_ID)).resolves.toHaveLength(1);
    expect(token.isDone()).toBe(true);
  });

  it('reports an unreachable Entra as graph_unavailable with a Retry-After', async () => {
    const { gw } = gateway();
    nock(LOGIN).post(`/${TENANT}/oauth2/v2.0/token`).query(true).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.detail).toContain('could not be reached');
    expect(Number(problem.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
  });

  it('gives up on a hung token request after the request timeout', async () => {
    const { gw } = gateway({ graph: { retryBudgetMs: 1_000, requestTimeoutMs: 100 } });
    nock(LOGIN)
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .delay(2_000)
      .reply(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'late' });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.detail).toContain('did not answer in time');
  });

  it('reports an unreachable OpenID configuration of a custom authority as graph_unavailable', async () => {
    const authority = 'https://login.keydesk.test';
    const { gw } = gateway({ authorityHost: authority, graphBaseUrl: 'https://graph.keydesk.test' });
    nock(authority).get(`/${TENANT}/v2.0/.well-known/openid-configuration`).reply(503, '');

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.detail).toContain('OpenID configuration');
  });

  it('points at AZURE_AUTHORITY_HOST and AZURE_TENANT_ID when the authority has no OpenID configuration', async () => {
    const authority = 'https://login.keydesk.test';
    const { gw } = gateway({ authorityHost: authority, graphBaseUrl: 'https://graph.keydesk.test' });
    nock(authority)
      .get(`/${TENANT}/v2.0/.well-known/openid-configuration`)
      .reply(400, { error: 'invalid_tenant', error_description: 'AADSTS90002: Tenant not found.', error_codes: [90002] });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_error');
    expect(problem.detail).toContain('AZURE_AUTHORITY_HOST');
    expect(problem.detail).toContain('AZURE_TENANT_ID');
  });
});

describe('ensureTokenValidFor (readiness)', () => {
  const TWO_MINUTES = 2 * 60_000;
  const provider = () => tokenProviderFor(graphConfig(), captureLog().logger);

  it('asks Entra once, then not again while the held token stays valid long enough', async () => {
    const tokens = provider();
    const requests: TokenRequest[] = [];
    mockTokenEndpoint({ requests, times: 3 });

    await tokens.ensureTokenValidFor(TWO_MINUTES);
    await tokens.ensureTokenValidFor(TWO_MINUTES);

    expect(requests).toHaveLength(1);
    await expect(tokens.getAccessToken()).resolves.toBe('graph-access-token');
    expect(requests).toHaveLength(1);
  });

  it('gets a new token from Entra when the held one would expire within the window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const tokens = provider();
      mockTokenEndpoint({ accessToken: 'first', expiresIn: 3599 });
      mockTokenEndpoint({ accessToken: 'second', expiresIn: 3599 });
      await tokens.ensureTokenValidFor(TWO_MINUTES);

      vi.setSystemTime(Date.now() + 3_500_000);
      await tokens.ensureTokenValidFor(TWO_MINUTES);

      await expect(tokens.getAccessToken()).resolves.toBe('second');
    } finally {
      vi.useRealTimers();
    }
  });

  it("forces a new token from Entra when MSAL's cached one would expire before the window ends", async () => {
    const tokens = provider();
    const requests: TokenRequest[] = [];
    mockTokenEndpoint({ requests, accessToken: 'short-lived', expiresIn: 400 });
    mockTokenEndpoint({ requests, accessToken: 'long-lived', expiresIn: 3599 });

    await tokens.ensureTokenValidFor(10 * 60_000);

    expect(requests).toHaveLength(2);
    await expect(tokens.getAccessToken()).resolves.toBe('long-lived');
  });

  it('rejects with graph_error when even a fresh token would expire before the window ends', async () => {
    const tokens = provider();
    mockTokenEndpoint({ expiresIn: 400, times: 2 });

    expect((await problemOf(tokens.ensureTokenValidFor(10 * 60_000))).code).toBe('graph_error');
  });

  it("rejects with graph_unavailable and Entra's Retry-After when Entra is unavailable", async () => {
    const tokens = provider();
    nock(LOGIN).post(`/${TENANT}/oauth2/v2.0/token`).query(true).reply(503, { error: 'temporarily_unavailable' }, { 'Retry-After': '9' });

    const problem = await problemOf(tokens.ensureTokenValidFor(TWO_MINUTES));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.headers['Retry-After']).toBe('9');
  });

  it('rejects with graph_permission_missing when Entra refuses the client secret', async () => {
    const tokens = provider();
    nock(LOGIN).post(`/${TENANT}/oauth2/v2.0/token`).query(true).reply(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });

    expect((await problemOf(tokens.ensureTokenValidFor(TWO_MINUTES))).code).toBe('graph_permission_missing');
  });
});
