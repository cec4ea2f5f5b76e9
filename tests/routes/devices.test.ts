import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { graphError, mockTokenEndpoint } from '../helpers/graph-fixtures.js';
import { GRAPH_ROOT, mockGraphTenant, tenantDevice, user, type MockTenant } from '../helpers/graph-tenant.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

const ann = user('ann.lee@contoso.com');

describe('device look-up', () => {
  let signingKey: SigningKey;
  let harness: Harness;
  let tenant: MockTenant;
  let token: string;
  const oneil = tenantDevice("O'NEIL-PC", [ann]);
  const rnd = tenantDevice('R&D-PC#1+2', [ann]);
  const muller = tenantDevice('MÜLLER-LAPTOP', [ann], { primaryUserUpn: ann.userPrincipalName });
  const password = fakeRecoveryPassword();

  beforeAll(async () => {
    signingKey = await makeSigningKey();
  });

  beforeEach(async () => {
    nock.disableNetConnect();
    mockEntraDiscovery([signingKey]);
    mockTokenEndpoint({ times: 50 });
    token = await issueAppToken(signingKey, { roles: ['BitLocker.Lookup'] });
    harness = await buildHarness('devices');
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const get = (url: string, bearer = token) => harness.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } });

  it.each([
    ["O'NEIL-PC", `displayName eq 'O''NEIL-PC'`],
    ['R&D-PC#1+2', `displayName eq 'R&D-PC#1+2'`],
    ['MÜLLER-LAPTOP', `displayName eq 'MÜLLER-LAPTOP'`],
  ])('finds %s by exact name, sending Graph one escaped $filter', async (name, filter) => {
    tenant = mockGraphTenant([oneil, rnd, muller], []);
    const response = await get(`/api/v1/devices?name=${encodeURIComponent(name)}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().devices.map((d: { displayName: string }) => d.displayName)).toEqual([name]);
    expect(tenant.requests[0]!.query.getAll('$filter')).toEqual([filter]);
  });

  it('cannot be made to change the query by a hostile name', async () => {
    tenant = mockGraphTenant([oneil, rnd], []);
    const hostile = "x' or startswith(displayName,'') or displayName eq 'y";
    const response = await get(`/api/v1/devices?name=${encodeURIComponent(hostile)}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().devices).toEqual([]);
    expect(tenant.requests[0]!.query.get('$filter')).toBe(`displayName eq 'x'' or startswith(displayName,'''') or displayName eq ''y'`);
  });

  it('finds devices by prefix, with their owners and no secrets', async () => {
    tenant = mockGraphTenant([oneil, rnd, muller], [{ id: randomUUID(), deviceId: muller.deviceId, volumeType: '1', createdDateTime: '2026-01-01T00:00:00Z', key: password }]);
    const response = await get('/api/v1/devices?prefix=R%26D');
    expect(response.json()).toEqual({
      devices: [expect.objectContaining({ deviceId: rnd.deviceId, registeredOwners: [{ id: ann.id, userPrincipalName: ann.userPrincipalName, displayName: ann.displayName, accountEnabled: true }] })],
      capped: false,
      limit: 500,
    });
    expect(tenant.requests[0]!.query.get('$filter')).toBe(`startswith(displayName,'R&D')`);
  });

  it('wants exactly one of name or prefix', async () => {
    tenant = mockGraphTenant([], []);
    expect((await get('/api/v1/devices')).json().code).toBe('invalid_request');
    expect((await get('/api/v1/devices?name=A&prefix=B')).json().code).toBe('invalid_request');
    expect((await get('/api/v1/devices?prefix=A')).statusCode).toBe(400);
    expect((await get('/api/v1/devices?colour=blue')).statusCode).toBe(400);
    expect(tenant.requests).toHaveLength(0);
  });

  it("lists a device's key IDs and its primary user, never a password", async () => {
    const keyId = randomUUID();
    tenant = mockGraphTenant([muller], [{ id: keyId, deviceId: muller.deviceId, volumeType: '2', createdDateTime: '2026-01-01T00:00:00Z', key: password }]);
    const response = await get(`/api/v1/devices/${muller.deviceId}/recovery-keys`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      device: { deviceId: muller.deviceId },
      intune: { primaryUserUpn: ann.userPrincipalName },
      recoveryKeys: [{ id: keyId, deviceId: muller.deviceId, volumeType: 'fixedDataVolume', createdDateTime: '2026-01-01T00:00:00Z' }],
    });
    expect(response.body).not.toContain(password);
    expect(tenant.keyReads()).toHaveLength(0);
  });

  it('says device_not_found for an unknown device ID and invalid_request for a malformed one', async () => {
    tenant = mockGraphTenant([], []);
    expect((await get(`/api/v1/devices/${randomUUID()}/recovery-keys`)).json().code).toBe('device_not_found');
    expect((await get('/api/v1/devices/not-a-guid/recovery-keys')).json().code).toBe('invalid_request');
  });

  it('lets a Disclose caller look up too, but not an Audit-only caller', async () => {
    tenant = mockGraphTenant([oneil], []);
    const disclose = await issueAppToken(signingKey, { roles: ['BitLocker.Disclose'] });
    const audit = await issueAppToken(signingKey, { roles: ['BitLocker.Audit'] });
    expect((await get('/api/v1/devices?name=X', disclose)).statusCode).toBe(200);
    expect((await get('/api/v1/devices?name=X', audit)).json()).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('names the missing Graph permission when Graph refuses KeyDesk', async () => {
    nock(GRAPH_ROOT)
      .get('/v1.0/devices')
      .query(true)
      .reply(403, graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'));
    const response = await get('/api/v1/devices?name=PC-1');
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({ code: 'graph_permission_missing', detail: expect.stringContaining('Device.Read.All') });
    expect(response.body).not.toContain('Insufficient privileges');
  });

  it('answers graph_unavailable with Retry-After once the retry budget is spent', async () => {
    await harness.close();
    harness = await buildHarness('devices-throttled', { env: { GRAPH_RETRY_BUDGET_MS: '300' } });
    let attempts = 0;
    nock(GRAPH_ROOT)
      .get('/v1.0/devices')
      .query(true)
      .times(5)
      .reply(() => {
        attempts += 1;
        return [429, graphError('TooManyRequests', 'Slow down'), { 'retry-after': '2' }];
      });
    const response = await get('/api/v1/devices?name=PC-1');
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('graph_unavailable');
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Retry-After (2 s) does not fit a 300 ms budget: one attempt, then an honest answer.
    expect(attempts).toBe(1);
  });

  it('rides out a 429 that fits the budget', async () => {
    nock(GRAPH_ROOT).get('/v1.0/devices').query(true).reply(429, graphError('TooManyRequests', 'Slow down'), { 'retry-after': '0' });
    tenant = mockGraphTenant([oneil], []);
    const response = await get(`/api/v1/devices?name=${encodeURIComponent("O'NEIL-PC")}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().devices).toHaveLength(1);
  });

  it('limits each caller to RATE_LIMIT_SEARCHES_PER_MINUTE look-ups, answering 429 rate_limited with Retry-After', async () => {
    await harness.close();
    harness = await buildHarness('devices-rate', { env: { RATE_LIMIT_SEARCHES_PER_MINUTE: '2' } });
    tenant = mockGraphTenant([oneil], []);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await get('/api/v1/devices?name=X'));
    expect(statuses.map((r) => r.statusCode)).toEqual([200, 200, 429]);
    expect(statuses[2]!.json().code).toBe('rate_limited');
    expect(statuses[2]!.headers['retry-after']).toMatch(/^\d+$/);
    // Look-ups are not recorded, and the answer does not claim they are.
    expect(statuses[2]!.json().detail).not.toContain('audit trail');
    expect(tenant.requests).toHaveLength(2);
  });

  it('makes at most 25 Graph requests for one search, however many pages Graph offers', async () => {
    let pages = 0;
    nock(GRAPH_ROOT)
      .persist()
      .get('/v1.0/devices')
      .query(true)
      .reply(() => {
        pages += 1;
        const value = Array.from({ length: 10 }, (_, i) => ({ '@odata.type': '#microsoft.graph.device', id: randomUUID(), deviceId: randomUUID(), displayName: `LAB-${pages}-${i}`, registeredOwners: [] }));
        return [200, { value, '@odata.nextLink': `${GRAPH_ROOT}/v1.0/devices?$skiptoken=page${pages}` }];
      });
    const response = await get('/api/v1/devices?prefix=LAB-');
    expect(response.statusCode).toBe(200);
    expect(pages).toBe(25);
    expect(response.json()).toMatchObject({ capped: true });
    expect(response.json().devices).toHaveLength(250);
  });
});
