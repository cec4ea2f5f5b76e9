import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRecoveryPassword } from '../../src/graph/graph-gateway.js';
import { odata, query, startTestTenant, type HttpAnswer, type TestTenant } from './tenant-kit.js';

let sim: TestTenant;
beforeAll(async () => {
  sim = await startTestTenant();
});
afterAll(() => sim.close());
afterEach(() => {
  sim.tenant.knobs.reset();
  sim.tenant.clearLogs();
});

interface GraphList {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  value: Array<Record<string, unknown>>;
}

function list(answer: HttpAnswer): GraphList {
  expect(answer.status, answer.text).toBe(200);
  return answer.json<GraphList>();
}

function graphError(answer: HttpAnswer): { code: string; message: string; innerError: Record<string, string> } {
  return answer.json<{ error: { code: string; message: string; innerError: Record<string, string> } }>().error;
}

const KEYDESK_DEVICE_QUERY = {
  $select: 'id,deviceId,displayName,operatingSystem,operatingSystemVersion,approximateLastSignInDateTime,trustType,isManaged,accountEnabled',
  $expand: 'registeredOwners($select=id,userPrincipalName,displayName)',
  $top: 100,
};

describe('devices', () => {
  it('finds a device by display name, with its owners expanded and only the selected properties', async () => {
    const { typical } = sim.tenant.directory.notable;
    const page = list(await sim.graph(`devices${query({ $filter: `displayName eq ${odata(typical.displayName)}`, ...KEYDESK_DEVICE_QUERY })}`));
    expect(page.value).toHaveLength(1);
    const [device] = page.value;
    expect(Object.keys(device!).sort()).toEqual([...KEYDESK_DEVICE_QUERY.$select.split(','), 'registeredOwners'].sort());
    expect(device).toMatchObject({ id: typical.id, deviceId: typical.deviceId, operatingSystem: 'Windows', isManaged: true });
    const owner = sim.tenant.directory.owners(typical)[0]!;
    expect(device!.registeredOwners).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: owner.id, userPrincipalName: owner.userPrincipalName, displayName: owner.displayName },
    ]);
    expect(page['@odata.context']).toBe(`${sim.tenant.graphBaseUrl}/v1.0/$metadata#devices(${KEYDESK_DEVICE_QUERY.$select},registeredOwners(id,userPrincipalName,displayName))`);
  });

  it('matches display names without regard to case, as Entra does', async () => {
    const { typical } = sim.tenant.directory.notable;
    const page = list(await sim.graph(`devices${query({ $filter: `displayName eq ${odata(typical.displayName.toLowerCase())}` })}`));
    expect(page.value.map((d) => d.deviceId)).toEqual([typical.deviceId]);
  });

  it('returns both devices that share a display name', async () => {
    const { sharedName } = sim.tenant.directory.notable;
    const page = list(await sim.graph(`devices${query({ $filter: `displayName eq ${odata(sharedName.displayName)}`, ...KEYDESK_DEVICE_QUERY })}`));
    expect(page.value.map((d) => d.deviceId).sort()).toEqual(sharedName.devices.map((d) => d.deviceId).sort());
  });

  it("finds O'NEIL-PC by its doubled-quote literal, and R&D-PC#1+2 and MÜLLER-LAPTOP when percent-encoded", async () => {
    const { apostrophe, specialCharacters, nonAscii } = sim.tenant.directory.notable;
    for (const device of [apostrophe, specialCharacters, nonAscii]) {
      const page = list(await sim.graph(`devices${query({ $filter: `displayName eq ${odata(device.displayName)}` })}`));
      expect(page.value.map((d) => d.displayName)).toEqual([device.displayName]);
    }
    expect(sim.tenant.graphRequests[0]?.query.$filter).toBe("displayName eq 'O''NEIL-PC'");
  });

  it('answers a single quote left undoubled with 400, as Graph does', async () => {
    const answer = await sim.graph(`devices${query({ $filter: "displayName eq 'O'NEIL-PC'" })}`);
    expect(answer.status).toBe(400);
    expect(graphError(answer).code).toBe('BadRequest');
  });

  it('answers malformed and unsupported filters with 400 in Graph’s error shape', async () => {
    const cases: Array<[string, string]> = [
      ["displayName eq 'unterminated", 'BadRequest'],
      ['displayName eq', 'BadRequest'],
      ["displayName eq 'A' and displayName eq 'B'", 'Request_UnsupportedQuery'],
      ["endswith(displayName,'PC')", 'Request_UnsupportedQuery'],
      ["operatingSystem ne 'Windows'", 'Request_UnsupportedQuery'],
      ["colour eq 'red'", 'Request_BadRequest'],
      ["deviceId eq 6d2e8f0a-3b1c-4d5e-9f7a-1b2c3d4e5f60", 'BadRequest'],
    ];
    for (const [filter, code] of cases) {
      const answer = await sim.graph(`devices${query({ $filter: filter })}`);
      expect(answer.status, filter).toBe(400);
      const error = graphError(answer);
      expect(error.code, filter).toBe(code);
      expect(error.innerError['request-id']).toBe(answer.headers['request-id']);
    }
  });

  it('pages a prefix search with absolute nextLinks under the Graph base URL, ending pages early when owners are expanded', async () => {
    const prefix = 'CONTOSO-';
    const expected = sim.tenant.directory.devices.filter((d) => d.displayName.startsWith(prefix)).length;
    expect(expected).toBeGreaterThan(100);
    const walk = async (first: string): Promise<{ pages: number; items: number; sizes: number[] }> => {
      const sizes: number[] = [];
      let url: string | undefined = `${sim.tenant.graphBaseUrl}/v1.0/${first}`;
      const token = await sim.graphToken();
      while (url) {
        expect(url.startsWith(`${sim.tenant.graphBaseUrl}/v1.0/devices?`)).toBe(true);
        const page = list(await sim.http(url, { headers: { authorization: `Bearer ${token}` } }));
        sizes.push(page.value.length);
        url = page['@odata.nextLink'];
      }
      return { pages: sizes.length, items: sizes.reduce((a, b) => a + b, 0), sizes };
    };
    const plain = await walk(`devices${query({ $filter: `startswith(displayName,${odata(prefix)})`, $top: 100 })}`);
    expect(plain).toMatchObject({ items: expected, pages: Math.ceil(expected / 100) });
    const expanded = await walk(`devices${query({ $filter: `startswith(displayName,${odata(prefix)})`, ...KEYDESK_DEVICE_QUERY })}`);
    expect(expanded.items).toBe(expected);
    expect(expanded.sizes[0]).toBeLessThan(100);
  });

  it('caps $top at 999 and refuses a skip token taken from another query', async () => {
    const tooBig = await sim.graph(`devices${query({ $top: 1000 })}`);
    expect(tooBig.status).toBe(400);
    const first = list(await sim.graph(`devices${query({ $top: 5 })}`));
    const token = new URL(first['@odata.nextLink']!).searchParams.get('$skiptoken')!;
    const reused = await sim.graph(`devices${query({ $top: 6, $skiptoken: token })}`);
    expect(reused.status).toBe(400);
  });

  it('lists owners with id only when KeyDesk lacks User.Read.All', async () => {
    const { typical } = sim.tenant.directory.notable;
    sim.tenant.knobs.setGraphPermissions(['Device.Read.All', 'DeviceManagementManagedDevices.Read.All', 'BitlockerKey.Read.All']);
    const owner = sim.tenant.directory.owners(typical)[0]!;
    const expanded = list(await sim.graph(`devices${query({ $filter: `deviceId eq ${odata(typical.deviceId)}`, ...KEYDESK_DEVICE_QUERY })}`));
    expect(expanded.value[0]!.registeredOwners).toEqual([{ '@odata.type': '#microsoft.graph.user', id: owner.id }]);
    const direct = list(await sim.graph(`devices/${typical.id}/registeredOwners${query({ $select: 'id,userPrincipalName,displayName' })}`));
    expect(direct.value).toEqual([{ '@odata.type': '#microsoft.graph.user', id: owner.id }]);
  });

  it('lists registered owners of a device by its object id and by its deviceId alternate key', async () => {
    const { typical, hybridWithoutOwner } = sim.tenant.directory.notable;
    const owner = sim.tenant.directory.owners(typical)[0]!;
    const byId = list(await sim.graph(`devices/${typical.id}/registeredOwners`));
    expect(byId.value).toMatchObject([{ '@odata.type': '#microsoft.graph.user', id: owner.id, userPrincipalName: owner.userPrincipalName }]);
    const byDeviceId = list(await sim.graph(`devices(deviceId='${typical.deviceId}')/registeredOwners`));
    expect(byDeviceId.value.map((o) => o.id)).toEqual([owner.id]);
    expect(list(await sim.graph(`devices/${hybridWithoutOwner.id}/registeredOwners`)).value).toEqual([]);
    const missing = await sim.graph('devices/00000000-0000-4000-8000-000000000000/registeredOwners');
    expect(missing.status).toBe(404);
    expect(graphError(missing).code).toBe('Request_ResourceNotFound');
  });

  it('refuses devices without Device.Read.All with 403 Authorization_RequestDenied', async () => {
    sim.tenant.knobs.setGraphPermissions(['BitlockerKey.Read.All']);
    const answer = await sim.graph('devices');
    expect(answer.status).toBe(403);
    expect(graphError(answer).code).toBe('Authorization_RequestDenied');
  });

  it('refuses a request without a valid bearer token with 401 InvalidAuthenticationToken', async () => {
    for (const token of [null, 'not-a-jwt', await sim.tenant.issueAppToken(sim.tenant.ticketingApps[0]!.clientId)]) {
      const answer = await sim.graph('devices', { token });
      expect(answer.status).toBe(401);
      expect(graphError(answer).code).toBe('InvalidAuthenticationToken');
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
    }
  });

  it('echoes client-request-id and adds a request-id, also inside error bodies', async () => {
    const clientRequestId = '5e2d8a44-1111-4222-8333-444455556666';
    const answer = await sim.graph('devices?$filter=bad', { headers: { 'client-request-id': clientRequestId } });
    expect(answer.headers['client-request-id']).toBe(clientRequestId);
    expect(answer.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(graphError(answer).innerError['client-request-id']).toBe(clientRequestId);
  });
});

describe('Intune managed devices', () => {
  it("names the primary user, and answers \"\" for a managed device that has none", async () => {
    const { typical, withoutPrimaryUser } = sim.tenant.directory.notable;
    const select = 'id,deviceName,userPrincipalName,userId,lastSyncDateTime';
    const found = list(await sim.graph(`deviceManagement/managedDevices${query({ $filter: `azureADDeviceId eq ${odata(typical.deviceId)}`, $select: select })}`));
    expect(found.value).toMatchObject([{ deviceName: typical.displayName, userPrincipalName: sim.tenant.directory.primaryUser(typical)!.userPrincipalName }]);
    expect(Object.keys(found.value[0]!).sort()).toEqual(select.split(',').sort());
    const shared = list(await sim.graph(`deviceManagement/managedDevices${query({ $filter: `azureADDeviceId eq ${odata(withoutPrimaryUser.deviceId)}` })}`));
    expect(shared.value).toMatchObject([{ userPrincipalName: '', userId: '' }]);
  });

  it('has no record of a device Intune does not manage, and two of a re-enrolled one', async () => {
    const { notManaged, reEnrolled } = sim.tenant.directory.notable;
    expect(list(await sim.graph(`deviceManagement/managedDevices${query({ $filter: `azureADDeviceId eq ${odata(notManaged.deviceId)}` })}`)).value).toEqual([]);
    expect(list(await sim.graph(`deviceManagement/managedDevices${query({ $filter: `azureADDeviceId eq ${odata(reEnrolled.deviceId)}` })}`)).value).toHaveLength(2);
  });

  it('finds a managed device by deviceName', async () => {
    const { nonAscii } = sim.tenant.directory.notable;
    const page = list(await sim.graph(`deviceManagement/managedDevices${query({ $filter: `deviceName eq ${odata(nonAscii.displayName)}` })}`));
    expect(page.value.map((m) => m.azureADDeviceId)).toEqual([nonAscii.deviceId]);
  });

  it('refuses Intune reads without DeviceManagementManagedDevices.Read.All with 403', async () => {
    sim.tenant.knobs.setGraphPermissions(['Device.Read.All']);
    const answer = await sim.graph('deviceManagement/managedDevices');
    expect(answer.status).toBe(403);
  });
});

describe('BitLocker recovery keys', () => {
  it('lists a device’s keys by deviceId with numeric-string volume types and never the key', async () => {
    const { twoVolumes } = sim.tenant.directory.notable;
    const page = list(await sim.graph(`informationProtection/bitlocker/recoveryKeys${query({ $filter: `deviceId eq ${odata(twoVolumes.deviceId)}` })}`));
    expect(page.value.map((k) => k.volumeType).sort()).toEqual(['1', '2']);
    for (const key of page.value) {
      expect(Object.keys(key).sort()).toEqual(['createdDateTime', 'deviceId', 'id', 'volumeType']);
    }
    const selected = list(await sim.graph(`informationProtection/bitlocker/recoveryKeys${query({ $filter: `deviceId eq ${odata(twoVolumes.deviceId)}`, $select: 'id,key' })}`));
    for (const key of selected.value) expect(key).not.toHaveProperty('key');
  });

  it('accepts only the deviceId eq filter on the key list', async () => {
    const answer = await sim.graph(`informationProtection/bitlocker/recoveryKeys${query({ $filter: "volumeType eq '1'" })}`);
    expect(answer.status).toBe(400);
    expect(graphError(answer).code).toBe('BadRequest');
  });

  it('returns a key’s metadata without $select=key, the recovery password with it, and records the read in the tenant’s audit log', async () => {
    const { typical } = sim.tenant.directory.notable;
    const [key] = sim.tenant.directory.keysOf(typical.deviceId);
    const plain = await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}`);
    expect(plain.status).toBe(200);
    expect(plain.json()).not.toHaveProperty('key');
    expect(sim.tenant.directoryAudits).toEqual([]);

    const clientRequestId = '0c9f2f55-aaaa-4bbb-8ccc-ddddeeeeffff';
    const read = await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=key`, { headers: { 'client-request-id': clientRequestId } });
    expect(read.status).toBe(200);
    const body = read.json<Record<string, string>>();
    expect(body).toMatchObject({ id: key!.id, deviceId: typical.deviceId, volumeType: '1', createdDateTime: key!.createdDateTime });
    expect(isRecoveryPassword(body.key!)).toBe(true);
    expect(body.key).toBe(key!.key);
    expect(sim.tenant.directoryAudits).toMatchObject([
      { category: 'KeyManagement', keyId: key!.id, deviceId: typical.deviceId, correlationId: clientRequestId, initiatedBy: { appId: sim.tenant.keydeskApp.clientId } },
    ]);
  });

  it('leaves the key out when $select names other properties too, as users report of Graph', async () => {
    const [key] = sim.tenant.directory.keysOf(sim.tenant.directory.notable.typical.deviceId);
    const answer = await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=id,key`);
    expect(answer.status).toBe(200);
    expect(answer.json()).not.toHaveProperty('key');
  });

  it("writes Entra's \"Read BitLocker key\" for any $select on a key, even one without key, and never without one", async () => {
    const [key] = sim.tenant.directory.keysOf(sim.tenant.directory.notable.typical.deviceId);
    expect((await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}`)).status).toBe(200);
    expect(sim.tenant.directoryAudits).toEqual([]);
    const selected = await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=deviceId`);
    expect(selected.json()).toEqual(expect.objectContaining({ deviceId: key!.deviceId }));
    expect(selected.json()).not.toHaveProperty('key');
    await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=id,key`);
    expect(sim.tenant.directoryAudits).toMatchObject([
      { activityDisplayName: 'Read BitLocker key', keyId: key!.id },
      { activityDisplayName: 'Read BitLocker key', keyId: key!.id },
    ]);
  });

  it('answers an unknown key ID with 404', async () => {
    const answer = await sim.graph('informationProtection/bitlocker/recoveryKeys/00000000-0000-4000-8000-000000000000?$select=key');
    expect(answer.status).toBe(404);
  });

  it('refuses to read the password with only BitlockerKey.ReadBasic.All, in the API’s own 403 body', async () => {
    sim.tenant.knobs.setGraphPermissions(['Device.Read.All', 'BitlockerKey.ReadBasic.All']);
    const token = await sim.graphToken();
    const [key] = sim.tenant.directory.keysOf(sim.tenant.directory.notable.typical.deviceId);
    expect((await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}`, { token })).status).toBe(200);
    const answer = await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=key`, { token });
    expect(answer.status).toBe(403);
    expect(graphError(answer)).toMatchObject({ code: 'authorization_error', message: "Failed to authorize, token doesn't have the required permissions." });
  });

  it('applies a revoked permission at once, even to a token issued before', async () => {
    const token = await sim.graphToken();
    sim.tenant.knobs.setGraphPermissions(['Device.Read.All']);
    const [key] = sim.tenant.directory.keysOf(sim.tenant.directory.notable.typical.deviceId);
    expect((await sim.graph(`informationProtection/bitlocker/recoveryKeys/${key!.id}?$select=key`, { token })).status).toBe(403);
  });

  it('requires a User-Agent header, as the BitLocker API documents', async () => {
    const answer = await sim.graph('informationProtection/bitlocker/recoveryKeys', { headers: { 'user-agent': '' } });
    expect(answer.status).toBe(400);
  });
});

describe('$batch', () => {
  it('answers up to 20 requests in one round trip, each with its own status, and logs each', async () => {
    const { typical, withoutKeys } = sim.tenant.directory.notable;
    const token = await sim.graphToken();
    const answer = await sim.http(`${sim.tenant.graphBaseUrl}/v1.0/$batch`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'KeyDesk-tests/1.0' },
      body: JSON.stringify({
        requests: [
          { id: '1', method: 'GET', url: `/devices/${typical.id}/registeredOwners` },
          { id: '2', method: 'GET', url: `/informationProtection/bitlocker/recoveryKeys?$filter=${encodeURIComponent(`deviceId eq '${withoutKeys.deviceId}'`)}` },
          { id: '3', method: 'GET', url: "/devices?$filter=displayName eq 'unterminated" },
          { id: '4', method: 'GET', url: '/informationProtection/bitlocker/recoveryKeys/00000000-0000-4000-8000-000000000000' },
        ],
      }),
    });
    expect(answer.status).toBe(200);
    const { responses } = answer.json<{ responses: Array<{ id: string; status: number; headers: Record<string, string>; body: Record<string, unknown> }> }>();
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.get('1')?.status).toBe(200);
    expect(byId.get('2')).toMatchObject({ status: 200, body: { value: [] } });
    expect(byId.get('3')?.status).toBe(400);
    expect(byId.get('4')?.status).toBe(404);
    expect(byId.get('1')?.headers['Content-Type']).toMatch(/^application\/json/);
    expect(sim.tenant.graphRequests.filter((r) => !r.inBatch)).toMatchObject([{ path: '/v1.0/$batch', batchSize: 4, status: 200 }]);
    expect(sim.tenant.graphRequests.filter((r) => r.inBatch)).toHaveLength(4);
    expect(sim.tenant.counters()).toMatchObject({ graphRoundTrips: 1, graphRequests: 4 });
  });

  it('refuses a batch of more than 20 requests', async () => {
    const token = await sim.graphToken();
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/devices?$top=1' }));
    const answer = await sim.http(`${sim.tenant.graphBaseUrl}/v1.0/$batch`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    expect(answer.status).toBe(400);
    expect(graphError(answer).code).toBe('BadRequest');
  });

  it('throttles requests inside a batch one by one, with a Retry-After header in the sub-response', async () => {
    const token = await sim.graphToken();
    sim.tenant.knobs.throttle({ requests: 1, retryAfterSeconds: 7 });
    const answer = await sim.http(`${sim.tenant.graphBaseUrl}/v1.0/$batch`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ id: 'a', method: 'GET', url: '/devices?$top=1' }, { id: 'b', method: 'GET', url: '/devices?$top=1', dependsOn: ['a'] }] }),
    });
    const { responses } = answer.json<{ responses: Array<{ id: string; status: number; headers: Record<string, string> }> }>();
    expect(responses.find((r) => r.id === 'a')).toMatchObject({ status: 429, headers: { 'Retry-After': '7' } });
    expect(responses.find((r) => r.id === 'b')?.status).toBe(424);
  });
});

describe('users', () => {
  const USER_SELECT = 'id,userPrincipalName,displayName,accountEnabled';

  it('finds a user by userPrincipalName without regard to case, with only the selected properties, accountEnabled included', async () => {
    const leaver = sim.tenant.directory.owners(sim.tenant.directory.notable.ownerDisabled)[0]!;
    const page = list(await sim.graph(`users${query({ $filter: `userPrincipalName eq ${odata(leaver.userPrincipalName.toUpperCase())}`, $select: USER_SELECT })}`));
    expect(page.value).toEqual([{ id: leaver.id, userPrincipalName: leaver.userPrincipalName, displayName: leaver.displayName, accountEnabled: false }]);
    expect(page['@odata.context']).toBe(`${sim.tenant.graphBaseUrl}/v1.0/$metadata#users(${USER_SELECT})`);
    expect(sim.tenant.graphRequests.at(-1)).toMatchObject({ path: '/v1.0/users', query: { $filter: `userPrincipalName eq '${leaver.userPrincipalName.toUpperCase()}'` } });
  });

  it('answers the default property set without $select, which leaves accountEnabled out, and nothing for an unknown UPN', async () => {
    const { typical } = sim.tenant.directory.notable;
    const owner = sim.tenant.directory.owners(typical)[0]!;
    const [user] = list(await sim.graph(`users${query({ $filter: `userPrincipalName eq ${odata(owner.userPrincipalName)}` })}`)).value;
    expect(user).toMatchObject({ id: owner.id, userPrincipalName: owner.userPrincipalName, mail: owner.mail, businessPhones: [] });
    expect(user).not.toHaveProperty('accountEnabled');
    expect(user).not.toHaveProperty('@odata.type');
    expect(list(await sim.graph(`users${query({ $filter: "userPrincipalName eq 'nobody@contoso.example'" })}`)).value).toEqual([]);
  });

  it('reads OData string literals as the devices endpoint does: doubled quotes inside, a lone one refused', async () => {
    const oneil = sim.tenant.directory.owners(sim.tenant.directory.notable.apostrophe)[0]!;
    const page = list(await sim.graph(`users${query({ $filter: `displayName eq ${odata(oneil.displayName)}`, $select: 'id' })}`));
    expect(page.value).toEqual([{ id: oneil.id }]);
    const broken = await sim.graph(`users${query({ $filter: `displayName eq '${oneil.displayName}'` })}`);
    expect(broken.status).toBe(400);
    expect(graphError(broken).code).toBe('BadRequest');
    const unknown = await sim.graph(`users${query({ $filter: "userPrincipalName eq 'a@b'", $select: 'id,favouriteColour' })}`);
    expect(unknown.status).toBe(400);
    expect(graphError(unknown).code).toBe('Request_BadRequest');
  });

  it('gets one user by id or by userPrincipalName, and answers 404 for one it does not know', async () => {
    const owner = sim.tenant.directory.owners(sim.tenant.directory.notable.typical)[0]!;
    for (const key of [owner.id, owner.userPrincipalName]) {
      const answer = await sim.graph(`users/${encodeURIComponent(key)}${query({ $select: USER_SELECT })}`);
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ id: owner.id, accountEnabled: true });
    }
    const missing = await sim.graph('users/nobody%40contoso.example');
    expect(missing.status).toBe(404);
    expect(graphError(missing).code).toBe('Request_ResourceNotFound');
  });

  it('refuses users without User.Read.All with the directory’s 403 Authorization_RequestDenied', async () => {
    sim.tenant.knobs.setGraphPermissions(['Device.Read.All', 'DeviceManagementManagedDevices.Read.All', 'BitlockerKey.Read.All']);
    const answer = await sim.graph(`users${query({ $filter: "userPrincipalName eq 'a@contoso.example'", $select: USER_SELECT })}`);
    expect(answer.status).toBe(403);
    expect(graphError(answer)).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
  });

  it('expands registered owners with accountEnabled when selected, showing a leaver as disabled', async () => {
    const { ownerDisabled } = sim.tenant.directory.notable;
    const leaver = sim.tenant.directory.owners(ownerDisabled)[0]!;
    const page = list(
      await sim.graph(`devices${query({ $filter: `deviceId eq ${odata(ownerDisabled.deviceId)}`, $select: 'id,accountEnabled', $expand: 'registeredOwners($select=id,userPrincipalName,accountEnabled)' })}`),
    );
    expect(page.value).toEqual([
      {
        id: ownerDisabled.id,
        accountEnabled: true,
        registeredOwners: [{ '@odata.type': '#microsoft.graph.user', id: leaver.id, userPrincipalName: leaver.userPrincipalName, accountEnabled: false }],
      },
    ]);
  });
});
