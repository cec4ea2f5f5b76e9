import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimDevice, type SimulatedTenant } from '../../simulator/index.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * KeyDesk against the simulated tenant over real HTTPS: MSAL, the Graph client with its
 * middleware, jose and the audit trail are the production ones; no nock anywhere.
 */

describe('KeyDesk against the simulated tenant', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let token: string;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}) => buildHarness('integration', { env: { ...tenant.keydeskEnvironment(), ...env } });

  beforeEach(async () => {
    tenant.knobs.reset();
    tenant.clearLogs();
    harness = await keydesk();
    // A token from the simulated authority's token endpoint, over HTTPS, as a ticketing system gets one.
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const response = await fetch(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: `${tenant.keydeskApp.appIdUri}/.default` }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
  });
  afterEach(async () => {
    await harness.close();
  });

  const roundTrips = () => tenant.graphRequests.filter((r) => !r.inBatch);

  function requestFor(device: SimDevice, overrides: Record<string, unknown> = {}) {
    const key = tenant.directory.keysOf(device.deviceId)[0];
    const requester = tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device);
    return {
      deviceName: device.displayName,
      keyId: key ? key.id.slice(0, 8).toUpperCase() : '00000000',
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      requesterUpn: requester?.userPrincipalName ?? 'nobody@contoso.example',
      ...overrides,
    };
  }

  const disclose = (payload: object) =>
    harness.inject({ method: 'POST', url: '/api/v1/disclosures', headers: { authorization: `Bearer ${token}` }, payload });

  it('discloses end to end, in 5 Graph requests in 3 steps cold and 1 warm (the key read), and both audit trails join', async () => {
    const device = tenant.directory.notable.typical;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;

    const cold = await disclose(requestFor(device));
    expect(cold.statusCode).toBe(201);
    expect(cold.json().recoveryKey).toMatchObject({ id: key.id, volumeType: 'operatingSystemVolume' });
    expect(cold.json().recoveryKey.key).toBe(key.key);
    const paths = roundTrips().map((r) => r.path);
    // Step 1 the device; step 2 its keys, Intune record and the requester together; step 3 the key.
    expect(paths[0]).toBe('/v1.0/devices');
    expect(paths.slice(1, 4).sort()).toEqual(['/v1.0/deviceManagement/managedDevices', '/v1.0/informationProtection/bitlocker/recoveryKeys', '/v1.0/users']);
    expect(paths.slice(4)).toEqual([`/v1.0/informationProtection/bitlocker/recoveryKeys/${key.id}`]);

    tenant.clearLogs();
    expect((await disclose(requestFor(device))).statusCode).toBe(201);
    expect(roundTrips().map((r) => r.path)).toEqual([`/v1.0/informationProtection/bitlocker/recoveryKeys/${key.id}`]);

    // Entra's KeyManagement entry and KeyDesk's intent record name the same client-request-id.
    const intent = harness.auditRecords().filter((r) => r.action === 'disclosure_intent').at(-1)!;
    const granted = harness.auditRecords().at(-1)!;
    expect(tenant.directoryAudits.at(-1)).toMatchObject({ keyId: key.id, correlationId: intent.graphClientRequestId, requestId: granted.graphRequestId });
    expect(roundTrips().at(-1)).toMatchObject({ userAgent: expect.stringMatching(/^KeyDesk\/\d+\.\d+\.\d+$/), clientName: 'KeyDesk' });
  });

  it.each([
    ['apostrophe', "O'NEIL"],
    ['specialCharacters', 'R&D'],
    ['nonAscii', 'Ü'],
  ] as const)('discloses for the device whose name has an %s', async (notable, fragment) => {
    const device = tenant.directory.notable[notable];
    expect(device.displayName).toContain(fragment);
    const response = await disclose(requestFor(device));
    expect(response.statusCode).toBe(201);
    expect(response.json().device.displayName).toBe(device.displayName);
    expect(roundTrips()[0]!.query.$filter).toBe(`displayName eq '${device.displayName.replaceAll("'", "''")}'`);
  });

  it('refuses what a helpdesk must refuse, reading no key', async () => {
    const { notable } = tenant.directory;
    const refusals = [
      [requestFor(notable.typical, { keyId: 'DEADBEEF' }), 422, 'key_id_mismatch'],
      [requestFor(notable.typical, { requesterUpn: 'mallory@contoso.example' }), 422, 'requester_not_owner'],
      [requestFor(notable.sharedName.devices[0]), 409, 'ambiguous_device'],
      [requestFor(notable.withoutKeys), 404, 'key_not_found'],
      [requestFor(notable.typical, { deviceName: 'NO-SUCH-PC' }), 404, 'device_not_found'],
    ] as const;
    for (const [payload, status, code] of refusals) {
      const response = await disclose(payload);
      expect({ status: response.statusCode, code: response.json().code }).toEqual({ status, code });
    }
    expect(tenant.directoryAudits).toHaveLength(0);
    expect(harness.auditRecords().map((r) => r.code)).toEqual(refusals.map(([, , code]) => code));
  });

  it('accepts the Intune primary user who is not the registered owner', async () => {
    const device = tenant.directory.notable.primaryUserIsNotOwner;
    const response = await disclose(requestFor(device, { requesterUpn: tenant.directory.primaryUser(device)!.userPrincipalName }));
    expect(response.statusCode).toBe(201);
    expect(response.json().checks.requesterMatchedAs).toBe('primary_user');
  });

  it('rides out throttling by honouring Retry-After', async () => {
    tenant.knobs.throttle({ requests: 1, retryAfterSeconds: 1 });
    const response = await disclose(requestFor(tenant.directory.notable.twoVolumes));
    expect(response.statusCode).toBe(201);
    expect(roundTrips().map((r) => r.status)).toEqual([429, 200, 200, 200, 200, 200]);
  });

  it('reports an outage as graph_unavailable once the retry budget is spent, with Retry-After', async () => {
    await harness.close();
    harness = await keydesk({ GRAPH_RETRY_BUDGET_MS: '1500' });
    tenant.knobs.failNext({ requests: 1000 });
    const response = await disclose(requestFor(tenant.directory.notable.typical));
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('graph_unavailable');
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const attempts = roundTrips();
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.every((r) => r.status === 503 && r.path === '/v1.0/devices')).toBe(true);
    expect(harness.auditRecords().at(-1)).toMatchObject({ outcome: 'failed', code: 'graph_unavailable' });
  });

  it('names BitlockerKey.Read.All when KeyDesk lacks it', async () => {
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'User.Read.All', 'DeviceManagementManagedDevices.Read.All']);
    await harness.close();
    harness = await keydesk();
    const response = await disclose(requestFor(tenant.directory.notable.typical));
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({ code: 'graph_permission_missing', detail: expect.stringContaining('BitlockerKey.Read.All') });
  });

  it('cannot check the requester without User.Read.All, and says which permission is missing', async () => {
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'DeviceManagementManagedDevices.Read.All', 'BitlockerKey.Read.All']);
    await harness.close();
    harness = await keydesk();
    const device = tenant.directory.notable.primaryUserIsNotOwner;
    const owner = tenant.directory.owners(device)[0]!;
    const response = await disclose(requestFor(device, { requesterUpn: owner.userPrincipalName }));
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({ code: 'graph_permission_missing', detail: expect.stringContaining('User.Read.All') });
    expect(harness.logLines().some((line) => String(line.msg).includes('User.Read.All'))).toBe(true);
    expect(tenant.directoryAudits).toHaveLength(0);
  });

  it('pages through a prefix search and returns every match', async () => {
    const prefix = tenant.directory.devices[0]!.displayName.slice(0, 4);
    const expected = tenant.directory.devices.filter((d) => d.displayName.startsWith(prefix)).length;
    const response = await harness.inject({ method: 'GET', url: `/api/v1/devices?prefix=${encodeURIComponent(prefix)}`, headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json().devices).toHaveLength(expected);
    expect(roundTrips().length).toBe(Math.ceil(expected / 25));
  });
});
