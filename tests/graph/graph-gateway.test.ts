import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { DEVICE_SEARCH_LIMIT, isRecoveryPassword } from '../../src/graph/graph-gateway.js';
import { GraphBudget } from '../../src/graph/request-budget.js';
import { problemOf } from '../helpers/problems.js';
import {
  GRAPH,
  captureLog,
  fakeTime,
  graphConfig,
  graphDevice,
  graphError,
  mockTokenEndpoint,
  receivedQuery,
  type CapturedLog,
  gatewayFor
} from '../helpers/graph-fixtures.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DEVICE_ID = '6d2e8f0a-3b1c-4d5e-9f7a-1b2c3d4e5f60';
const KEY_ID = 'b465e4e8-0f1d-4c3b-9a8e-7d6c5b4a3f21';

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function gateway(): { log: CapturedLog; graph: ReturnType<typeof gatewayFor> } {
  const log = captureLog();
  const time = fakeTime();
  return { log, graph: gatewayFor(graphConfig(), { logger: log.logger, sleep: time.sleep, now: time.now, random: () => 0.5 }) };
}


/** Graph's nextLink shape for directory objects: the query echoed back, then a $skiptoken. */
function nextLink(page: number): string {
  return `${GRAPH}/v1.0/devices?$filter=startswith(displayName%2c%27LAB-%27)&$top=100&$skiptoken=RFNwdAIAAQAAACpEZXZpY2VfMDQ5${page}%3d`;
}

describe('device search', () => {
  it.each([
    ["O'NEIL-PC", "displayName eq 'O''NEIL-PC'"],
    ['R&D-PC#1+2', "displayName eq 'R&D-PC#1+2'"],
    ['MÜLLER-LAPTOP', "displayName eq 'MÜLLER-LAPTOP'"],
    ["x' or displayName eq 'y", "displayName eq 'x'' or displayName eq ''y'"],
    ['a&$filter=b', "displayName eq 'a&$filter=b'"],
    ['50%-OFF', "displayName eq '50%-OFF'"],
  ])('sends the name %j to Graph as one literal inside one $filter', async (name, filter) => {
    const { graph } = gateway();
    const token = mockTokenEndpoint();
    let uri = '';
    const devices = nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply((u) => {
        uri = u;
        return [200, { value: [graphDevice({ displayName: name })] }];
      });

    const result = await graph.findDevicesByName(name);

    expect(token.isDone() && devices.isDone()).toBe(true);
    const query = receivedQuery(uri);
    expect([...query.keys()]).toEqual(['$filter', '$select', '$expand', '$top']);
    expect(query.get('$filter')).toBe(filter);
    expect(result.devices.map((d) => d.displayName)).toEqual([name]);
  });

  it('asks for the device fields and the owners inline, 100 to a page', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    const devices = nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply((u) => {
        uri = u;
        return [200, { value: [] }];
      });

    await graph.findDevicesByName('LAPTOP-BOB');

    expect(devices.isDone()).toBe(true);
    const query = receivedQuery(uri);
    expect(query.get('$select')).toBe(
      'id,deviceId,displayName,operatingSystem,operatingSystemVersion,approximateLastSignInDateTime,trustType,isManaged,accountEnabled',
    );
    expect(query.get('$expand')).toBe('registeredOwners($select=id,userPrincipalName,displayName,accountEnabled,mail)');
    expect(query.get('$top')).toBe('100');
  });

  it('searches by prefix with startswith, escaping the prefix', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply((u) => {
        uri = u;
        return [200, { value: [graphDevice({ displayName: "O'NEIL-PC" })] }];
      });

    const result = await graph.findDevicesByPrefix("O'NE");

    expect(receivedQuery(uri).get('$filter')).toBe("startswith(displayName,'O''NE')");
    expect(result).toMatchObject({ capped: false, limit: DEVICE_SEARCH_LIMIT });
  });

  it('follows @odata.nextLink exactly as Graph wrote it', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const link = nextLink(2);
    const pages = nock(GRAPH)
      .get('/v1.0/devices')
      .query((q) => q.$skiptoken === undefined)
      .reply(200, { value: [graphDevice({ displayName: 'LAB-1' })], '@odata.nextLink': link })
      .get(link.slice(GRAPH.length))
      .reply(200, { value: [graphDevice({ displayName: 'LAB-2' })] });

    const result = await graph.findDevicesByPrefix('LAB-');

    expect(pages.isDone()).toBe(true);
    expect(result.devices.map((d) => d.displayName)).toEqual(['LAB-1', 'LAB-2']);
    expect(result.capped).toBe(false);
  });

  it(`stops at ${DEVICE_SEARCH_LIMIT} devices and reports the list as capped when Graph has more`, async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const uris: string[] = [];
    const page = (n: number) => ({
      value: Array.from({ length: 100 }, (_, i) => graphDevice({ displayName: `LAB-${n * 100 + i}` })),
      '@odata.nextLink': nextLink(n + 1),
    });
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .times(DEVICE_SEARCH_LIMIT / 100)
      .reply((uri) => [200, page(uris.push(uri) - 1)]);

    const result = await graph.findDevicesByPrefix('LAB-');

    // Each page after the first is asked for with the previous page's nextLink; the sixth never is.
    expect(uris.slice(1)).toEqual([1, 2, 3, 4].map((n) => nextLink(n).slice(GRAPH.length)));
    expect(result.devices).toHaveLength(DEVICE_SEARCH_LIMIT);
    expect(result.capped).toBe(true);
    expect(result.limit).toBe(DEVICE_SEARCH_LIMIT);
  });

  it(`does not report capped when exactly ${DEVICE_SEARCH_LIMIT} devices match`, async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let requests = 0;
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .times(5)
      .reply(() => {
        const n = requests++;
        const value = Array.from({ length: 100 }, (_, i) => graphDevice({ displayName: `LAB-${n * 100 + i}` }));
        return [200, n < 4 ? { value, '@odata.nextLink': nextLink(n + 1) } : { value }];
      });

    const result = await graph.findDevicesByPrefix('LAB-');

    expect(result.devices).toHaveLength(DEVICE_SEARCH_LIMIT);
    expect(result.capped).toBe(false);
  });

  it('refuses a nextLink that points away from the configured Graph host, without following it', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply(200, { value: [graphDevice()], '@odata.nextLink': 'https://graph.evil.example/v1.0/devices?$skiptoken=x' });

    const problem = await problemOf(graph.findDevicesByName('LAPTOP-BOB'));

    expect(problem.code).toBe('graph_error');
  });

  it('keeps only users among registered owners and maps the device fields', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const raw = graphDevice({
      deviceId: DEVICE_ID,
      trustType: 'ServerAd',
      isManaged: null,
      registeredOwners: [
        { '@odata.type': '#microsoft.graph.user', id: 'u-1', userPrincipalName: 'bob@contoso.com', displayName: 'Bob' },
        { '@odata.type': '#microsoft.graph.servicePrincipal', id: 'sp-1', displayName: 'Autopilot' },
      ],
    });
    nock(GRAPH).get('/v1.0/devices').query(true).reply(200, { value: [raw] });

    const { devices } = await graph.findDevicesByName('LAPTOP-BOB');

    expect(devices).toEqual([
      {
        id: raw.id,
        deviceId: DEVICE_ID,
        displayName: 'LAPTOP-BOB',
        operatingSystem: 'Windows',
        operatingSystemVersion: '10.0.22631.4460',
        approximateLastSignInDateTime: '2026-11-20T08:15:00Z',
        trustType: 'ServerAd',
        isManaged: null,
        accountEnabled: true,
        registeredOwners: [{ id: 'u-1', userPrincipalName: 'bob@contoso.com', displayName: 'Bob' }],
      },
    ]);
  });

  it('warns once, naming User.Read.All, when owners come back without their UPN', async () => {
    const { graph, log } = gateway();
    mockTokenEndpoint();
    const withoutUpn = () => graphDevice({ registeredOwners: [{ '@odata.type': '#microsoft.graph.user', id: randomUUID() }] });
    nock(GRAPH).get('/v1.0/devices').query(true).times(2).reply(200, { value: [withoutUpn(), withoutUpn()] });

    const first = await graph.findDevicesByName('LAPTOP-BOB');
    await graph.findDevicesByName('LAPTOP-BOB');

    expect(first.devices[0]?.registeredOwners[0]).toEqual({ id: expect.any(String) });
    const warnings = log.records().filter((r) => r.level === 40 && String(r.msg).includes('User.Read.All'));
    expect(warnings).toHaveLength(1);
  });
});

describe('getDevice', () => {
  it('looks the device up by its Entra device ID, owners included, in one request', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    const scope = nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply((u) => {
        uri = u;
        return [200, { value: [graphDevice({ deviceId: DEVICE_ID })] }];
      });

    const device = await graph.getDevice(DEVICE_ID);

    expect(scope.isDone()).toBe(true);
    expect(receivedQuery(uri).get('$filter')).toBe(`deviceId eq '${DEVICE_ID}'`);
    expect(receivedQuery(uri).get('$expand')).toBe('registeredOwners($select=id,userPrincipalName,displayName,accountEnabled,mail)');
    expect(device?.deviceId).toBe(DEVICE_ID);
    expect(device?.registeredOwners).toHaveLength(1);
  });

  it('returns null when no device has that ID', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH).get('/v1.0/devices').query(true).reply(200, { value: [] });

    expect(await graph.getDevice(DEVICE_ID)).toBeNull();
  });
});

describe('getIntuneRecord', () => {
  it("asks Intune for the device's record by azureADDeviceId with only the fields KeyDesk uses", async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    nock(GRAPH)
      .get('/v1.0/deviceManagement/managedDevices')
      .query(true)
      .reply((u) => {
        uri = u;
        return [
          200,
          {
            value: [
              { id: 'md-1', deviceName: 'LAPTOP-BOB', userPrincipalName: 'bob@contoso.com', userId: 'u-1', lastSyncDateTime: '2026-11-24T09:00:00Z' },
            ],
          },
        ];
      });

    const record = await graph.getIntuneRecord(DEVICE_ID);

    const query = receivedQuery(uri);
    expect(query.get('$filter')).toBe(`azureADDeviceId eq '${DEVICE_ID}'`);
    expect(query.get('$select')).toBe('id,deviceName,userPrincipalName,userId,lastSyncDateTime');
    expect(record).toEqual({
      managedDeviceId: 'md-1',
      deviceName: 'LAPTOP-BOB',
      primaryUserUpn: 'bob@contoso.com',
      primaryUserId: 'u-1',
      lastSyncDateTime: '2026-11-24T09:00:00Z',
    });
  });

  it("reads Intune's empty-string primary user as no primary user", async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get('/v1.0/deviceManagement/managedDevices')
      .query(true)
      .reply(200, { value: [{ id: 'md-1', deviceName: 'KIOSK-1', userPrincipalName: '', userId: '', lastSyncDateTime: '0001-01-01T00:00:00Z' }] });

    expect(await graph.getIntuneRecord(DEVICE_ID)).toEqual({
      managedDeviceId: 'md-1',
      deviceName: 'KIOSK-1',
      primaryUserUpn: null,
      primaryUserId: null,
      lastSyncDateTime: null,
    });
  });

  it('prefers the most recently synced record when a re-enrolment left a stale one', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get('/v1.0/deviceManagement/managedDevices')
      .query(true)
      .reply(200, {
        value: [
          { id: 'md-old', deviceName: 'LAPTOP-BOB', userPrincipalName: 'old@contoso.com', userId: 'u-0', lastSyncDateTime: '2025-01-01T00:00:00Z' },
          { id: 'md-new', deviceName: 'LAPTOP-BOB', userPrincipalName: 'bob@contoso.com', userId: 'u-1', lastSyncDateTime: '2026-11-24T09:00:00Z' },
        ],
      });

    expect((await graph.getIntuneRecord(DEVICE_ID))?.managedDeviceId).toBe('md-new');
  });

  it('returns null when Intune does not manage the device', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH).get('/v1.0/deviceManagement/managedDevices').query(true).reply(200, { value: [] });

    expect(await graph.getIntuneRecord(DEVICE_ID)).toBeNull();
  });

  it('names DeviceManagementManagedDevices.Read.All when Intune refuses', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get('/v1.0/deviceManagement/managedDevices')
      .query(true)
      .reply(403, graphError('Forbidden', 'Application is not authorized to perform this operation.'));

    const problem = await problemOf(graph.getIntuneRecord(DEVICE_ID));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('DeviceManagementManagedDevices.Read.All');
  });
});

describe('findUserByUpn', () => {
  it("asks Graph for the user by an escaped UPN, with the account's state only", async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    nock(GRAPH)
      .get('/v1.0/users')
      .query(true)
      .reply((u) => {
        uri = u;
        return [200, { value: [{ id: 'u-1', userPrincipalName: "o'neil@contoso.com", displayName: "Pat O'Neil", accountEnabled: false }] }];
      });

    const found = await graph.findUserByUpn("o'neil@contoso.com");

    expect(receivedQuery(uri).get('$filter')).toBe("userPrincipalName eq 'o''neil@contoso.com'");
    expect(receivedQuery(uri).get('$select')).toBe('id,userPrincipalName,displayName,accountEnabled,mail');
    expect(found).toEqual({ id: 'u-1', userPrincipalName: "o'neil@contoso.com", displayName: "Pat O'Neil", accountEnabled: false });
  });

  it('returns null for a UPN no user has', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH).get('/v1.0/users').query(true).reply(200, { value: [] });
    expect(await graph.findUserByUpn('nobody@contoso.com')).toBeNull();
  });

  it('names User.Read.All when Graph refuses', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH).get('/v1.0/users').query(true).reply(403, graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'));
    const problem = await problemOf(graph.findUserByUpn('ann@contoso.com'));
    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('User.Read.All');
  });
});

describe('the Graph budget of one request', () => {
  it('stops paging a search (capped) when the request has no Graph request left, and never goes past the budget', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let pages = 0;
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .times(10)
      .reply(() => {
        pages += 1;
        return [200, { value: [graphDevice({ displayName: `LAB-${pages}` })], '@odata.nextLink': nextLink(pages) }];
      });
    const result = await graph.findDevicesByPrefix('LAB-', new GraphBudget(3));
    expect(pages).toBe(3);
    expect(result.capped).toBe(true);
    expect(result.devices).toHaveLength(3);
  });
});

describe('listRecoveryKeys', () => {
  it('filters by device ID, never selects the key, and maps every volumeType spelling', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    let uri = '';
    const types = ['1', '2', '3', 'operatingSystemVolume', 'fixedDataVolume', 'removableDataVolume', 'unknownFutureValue', '4'];
    nock(GRAPH)
      .get('/v1.0/informationProtection/bitlocker/recoveryKeys')
      .query(true)
      .reply((u) => {
        uri = u;
        return [
          200,
          { value: types.map((volumeType, i) => ({ id: `k-${i}`, createdDateTime: '2026-01-11T10:00:00Z', volumeType, deviceId: DEVICE_ID })) },
        ];
      });

    const keys = await graph.listRecoveryKeys(DEVICE_ID);

    expect([...receivedQuery(uri).entries()]).toEqual([['$filter', `deviceId eq '${DEVICE_ID}'`]]);
    expect(keys.map((k) => k.volumeType)).toEqual([
      'operatingSystemVolume',
      'fixedDataVolume',
      'removableDataVolume',
      'operatingSystemVolume',
      'fixedDataVolume',
      'removableDataVolume',
      'unknown',
      'unknown',
    ]);
    expect(keys[0]).toEqual({ id: 'k-0', deviceId: DEVICE_ID, volumeType: 'operatingSystemVolume', createdDateTime: '2026-01-11T10:00:00Z' });
  });

  it('follows nextLink across pages of keys', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const link = `${GRAPH}/v1.0/informationProtection/bitlocker/recoveryKeys?$filter=deviceId+eq+%27${DEVICE_ID}%27&$skiptoken=abc`;
    nock(GRAPH)
      .get('/v1.0/informationProtection/bitlocker/recoveryKeys')
      .query((q) => q.$skiptoken === undefined)
      .reply(200, { value: [{ id: 'k-1', volumeType: '1', deviceId: DEVICE_ID, createdDateTime: '2026-01-11T10:00:00Z' }], '@odata.nextLink': link })
      .get(link.slice(GRAPH.length))
      .reply(200, { value: [{ id: 'k-2', volumeType: '2', deviceId: DEVICE_ID, createdDateTime: '2026-01-12T10:00:00Z' }] });

    expect((await graph.listRecoveryKeys(DEVICE_ID)).map((k) => k.id)).toEqual(['k-1', 'k-2']);
  });

  it('names BitlockerKey.Read.All and admin consent when Graph answers 403', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const requestId = randomUUID();
    nock(GRAPH)
      .get('/v1.0/informationProtection/bitlocker/recoveryKeys')
      .query(true)
      .reply(403, graphError('authorization_error', "Failed to authorize, token doesn't have the required permissions."), { 'request-id': requestId });

    const problem = await problemOf(graph.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.status).toBe(502);
    expect(problem.detail).toContain('BitlockerKey.Read.All');
    expect(problem.detail).toContain('admin consent');
    expect(problem.detail).not.toContain('Failed to authorize');
    expect(problem.extensions.graphRequestId).toBe(requestId);
  });

  it("reports Graph's error code, not its message, when Graph rejects the query", async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get('/v1.0/informationProtection/bitlocker/recoveryKeys')
      .query(true)
      .reply(400, graphError('Request_UnsupportedQuery', 'Unsupported query: something about the filter.'));

    const problem = await problemOf(graph.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_error');
    expect(problem.detail).toContain('Request_UnsupportedQuery');
    expect(problem.detail).not.toContain('Unsupported query');
  });
});

describe('readRecoveryPassword', () => {
  it('asks for $select=key alone, identifies KeyDesk, and sends the given client-request-id', async () => {
    const { graph, log } = gateway();
    mockTokenEndpoint({ accessToken: 'token-for-key-read' });
    const password = fakeRecoveryPassword();
    const clientRequestId = randomUUID();
    const graphRequestId = randomUUID();
    let uri = '';
    const scope = nock(GRAPH, {
      reqheaders: {
        authorization: 'Bearer token-for-key-read',
        'client-request-id': clientRequestId,
        'user-agent': `KeyDesk/${VERSION}`,
        'ocp-client-name': 'KeyDesk',
        'ocp-client-version': VERSION,
      },
    })
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query(true)
      .reply((u) => {
        uri = u;
        return [
          200,
          { id: KEY_ID, createdDateTime: '2026-01-11T10:00:00Z', volumeType: '1', deviceId: DEVICE_ID, key: password },
          { 'request-id': graphRequestId, 'client-request-id': clientRequestId },
        ];
      });

    const read = await graph.readRecoveryPassword(KEY_ID, clientRequestId);

    expect(scope.isDone()).toBe(true);
    expect([...receivedQuery(uri).entries()]).toEqual([['$select', 'key']]);
    expect(read).toEqual({
      recoveryKey: { id: KEY_ID, deviceId: DEVICE_ID, volumeType: 'operatingSystemVolume', createdDateTime: '2026-01-11T10:00:00Z', key: password },
      graphRequestId,
    });
    const line = log.records().find((r) => r.msg === 'Graph call');
    expect(line?.graph).toMatchObject({
      operation: 'readRecoveryPassword',
      method: 'GET',
      path: `/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`,
      status: 200,
      requestId: graphRequestId,
      clientRequestId,
      attempts: 1,
    });
    const written = log.lines.join('\n');
    expect(written).not.toContain(password);
    expect(written).not.toContain('token-for-key-read');
  });

  it('refuses with key_not_found when Graph has no such key', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query({ $select: 'key' })
      .reply(404, graphError('Request_ResourceNotFound', 'Resource not found.'));

    const problem = await problemOf(graph.readRecoveryPassword(KEY_ID, randomUUID()));

    expect(problem.code).toBe('key_not_found');
  });

  it('fails with graph_error, without echoing the body, when Graph returns no key', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query({ $select: 'key' })
      .reply(200, { id: KEY_ID, createdDateTime: '2026-01-11T10:00:00Z', volumeType: '1', deviceId: DEVICE_ID });

    const problem = await problemOf(graph.readRecoveryPassword(KEY_ID, randomUUID()));

    expect(problem.code).toBe('graph_error');
    expect(problem.detail).toContain('no key');
    expect(problem.detail).not.toContain(DEVICE_ID);
  });

  it('fails with graph_error when the key is not shaped like a recovery password, without repeating it', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    const almost = `${fakeRecoveryPassword().slice(0, -6)}000001`;
    nock(GRAPH)
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query({ $select: 'key' })
      .reply(200, { id: KEY_ID, volumeType: '1', deviceId: DEVICE_ID, key: almost });

    const problem = await problemOf(graph.readRecoveryPassword(KEY_ID, randomUUID()));

    expect(problem.code).toBe('graph_error');
    expect(JSON.stringify(problem.toJSON())).not.toContain(almost);
  });

  it('refuses a key ID that is not a GUID without asking Graph (no audited read, no path tricks)', async () => {
    const { graph } = gateway();

    const problem = await problemOf(graph.readRecoveryPassword('..', randomUUID()));

    expect(problem.code).toBe('key_not_found');
  });

  it('names BitlockerKey.Read.All when Graph refuses the read', async () => {
    const { graph } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query({ $select: 'key' })
      .reply(403, graphError('authorization_error', "Failed to authorize, token doesn't have the required permissions."));

    const problem = await problemOf(graph.readRecoveryPassword(KEY_ID, randomUUID()));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('BitlockerKey.Read.All');
  });
});

describe('a cold disclosure', () => {
  it('costs one token request and four Graph requests: device, Intune and keys together, then the key', async () => {
    const { graph } = gateway();
    const token = mockTokenEndpoint();
    const seen: string[] = [];
    const record = (path: string) => seen.push(path.split('?')[0] ?? path);
    nock(GRAPH)
      .get('/v1.0/devices')
      .query(true)
      .reply((u) => {
        record(u);
        return [200, { value: [graphDevice({ deviceId: DEVICE_ID })] }];
      })
      .get('/v1.0/deviceManagement/managedDevices')
      .query(true)
      .reply((u) => {
        record(u);
        return [200, { value: [] }];
      })
      .get('/v1.0/informationProtection/bitlocker/recoveryKeys')
      .query(true)
      .reply((u) => {
        record(u);
        return [200, { value: [{ id: KEY_ID, volumeType: '1', deviceId: DEVICE_ID, createdDateTime: '2026-01-11T10:00:00Z' }] }];
      })
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query(true)
      .reply((u) => {
        record(u);
        return [200, { id: KEY_ID, volumeType: '1', deviceId: DEVICE_ID, createdDateTime: '2026-01-11T10:00:00Z', key: fakeRecoveryPassword() }];
      });

    const device = await graph.getDevice(DEVICE_ID);
    await Promise.all([graph.getIntuneRecord(device?.deviceId ?? ''), graph.listRecoveryKeys(device?.deviceId ?? '')]);
    await graph.readRecoveryPassword(KEY_ID, randomUUID());

    expect(token.isDone()).toBe(true);
    expect(seen).toHaveLength(4);
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe('isRecoveryPassword', () => {
  // Built from groups so that no password-shaped literal sits in the repository.
  const password = (...groups: number[]) => groups.map((g) => String(g).padStart(6, '0')).join('-');

  it('accepts 8 groups of 6 digits that are each 11 times a 16-bit number', () => {
    expect(isRecoveryPassword(fakeRecoveryPassword())).toBe(true);
    expect(isRecoveryPassword(password(11 * 65_535, 0, 11, 22, 33, 44, 55, 66))).toBe(true);
  });

  it('rejects groups that are not multiples of 11, too large, or too few', () => {
    expect(isRecoveryPassword(password(1, 0, 0, 0, 0, 0, 0, 0))).toBe(false);
    expect(isRecoveryPassword(password(11 * 65_536, 0, 0, 0, 0, 0, 0, 0))).toBe(false);
    expect(isRecoveryPassword(password(0, 0, 0))).toBe(false);
  });
});
