import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimDevice, type SimulatedTenant } from '../../simulator/index.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * The key-ID index against the simulated tenant: the sync reads Graph's tenant-wide key list
 * (paged, no $top, no $select) at its pace, the look-up finds a key by the digits on the screen,
 * and a disclosure that names no device finds it through the index and is checked as any other.
 */

const KEY_LIST = '/v1.0/informationProtection/bitlocker/recoveryKeys';

describe('the key-ID index against the simulated tenant', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let discloser: string;
  let lookup: string;
  let auditor: string;

  const appToken = async (role: string) => {
    const app = tenant.ticketingApps.find((a) => a.roles.includes(role))!;
    return tenant.issueAppToken(app.clientId);
  };

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR, pageSizes: { plain: 40 } });
  });
  afterAll(async () => {
    await tenant.close();
  });

  beforeEach(async () => {
    tenant.knobs.reset();
    tenant.clearLogs();
    harness = await buildHarness('key-index', { env: { ...tenant.keydeskEnvironment(), API_USER_TOKEN_CLIENTS: tenant.chatBotApp.clientId, DEVICE_CACHE_TTL_MS: '0', KEY_INDEX_SYNC_REQUESTS_PER_10S: '1000' } });
    discloser = await appToken('BitLocker.Disclose');
    lookup = await appToken('BitLocker.Lookup');
    auditor = await tenant.issueDelegatedApiToken({ staffUpn: tenant.staff.find((s) => s.roles.includes('BitLocker.Audit') && !s.roles.includes('BitLocker.Disclose'))!.upn });
  });
  afterEach(async () => {
    await harness.close();
  });

  const get = (url: string, token: string) => harness.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const startSync = () => harness.inject({ method: 'POST', url: '/api/v1/recovery-keys/sync', headers: { authorization: `Bearer ${auditor}` } });
  const synced = async () => {
    expect((await startSync()).statusCode).toBe(202);
    await harness.app.keyIndex.idle();
    return (await get('/api/v1/recovery-keys/sync', lookup)).json();
  };
  const disclose = (payload: object) => harness.inject({ method: 'POST', url: '/api/v1/disclosures', headers: { authorization: `Bearer ${discloser}` }, payload });
  const requesterOf = (device: SimDevice) => (tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device))!.userPrincipalName;

  it('syncs every key of the tenant from the unfiltered list, page by page, without $top or $select, and records who started it', async () => {
    const status = await synced();
    const keys = tenant.directory.recoveryKeys.length;
    expect(status).toMatchObject({ state: 'succeeded', keys, pages: Math.ceil(keys / 40), error: null });
    expect(status.lastSuccessAt).toBe(status.completedAt);
    const listed = tenant.graphRequests.filter((r) => r.path === KEY_LIST);
    expect(listed).toHaveLength(status.pages);
    for (const request of listed) {
      expect(Object.keys(request.query).filter((name) => name !== '$skiptoken')).toEqual([]);
      expect(request.status).toBe(200);
    }
    expect(tenant.counters().recoveryPasswordReads).toBe(0);
    expect(tenant.directoryAudits).toEqual([]);
    const record = harness.auditRecords().find((r) => r.action === 'key_index_sync')!;
    expect(record).toMatchObject({ outcome: 'granted', details: { status: 'started' }, caller: { kind: 'user' } });
  });

  it('answers a second start while a sync runs with already_running and the sync, to Lookup or Audit, and refuses a caller with neither', async () => {
    expect((await startSync()).json()).toMatchObject({ status: 'started', state: 'running', startedAt: expect.any(String), pages: expect.any(Number), keys: expect.any(Number) });
    expect((await startSync()).json()).toMatchObject({ status: 'already_running', state: 'running' });
    // The auditor who started it may follow it.
    expect((await get('/api/v1/recovery-keys/sync', auditor)).json()).toMatchObject({ state: 'running' });
    await harness.app.keyIndex.idle();
    expect((await harness.inject({ method: 'POST', url: '/api/v1/recovery-keys/sync', headers: { authorization: `Bearer ${lookup}` } })).statusCode).toBe(202);
    await harness.app.keyIndex.idle();
    const roleless = await tenant.issueAppToken(tenant.ticketingApps.find((a) => a.roles.length === 0)!.clientId);
    const refused = await harness.inject({ method: 'POST', url: '/api/v1/recovery-keys/sync', headers: { authorization: `Bearer ${roleless}` } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('forbidden');
  });

  it('finds a key by the first 8 hex digits or the whole ID, case and hyphens ignored, with its device', async () => {
    await synced();
    const device = tenant.directory.notable.typical;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    for (const prefix of [key.id.slice(0, 8).toUpperCase(), key.id, key.id.replaceAll('-', '').toUpperCase(), `${key.id.slice(0, 4)}-${key.id.slice(4, 8)}`]) {
      const answer = await get(`/api/v1/recovery-keys?keyIdPrefix=${encodeURIComponent(prefix)}`, lookup);
      expect(answer.statusCode, prefix).toBe(200);
      expect(answer.json().recoveryKeys).toEqual([
        expect.objectContaining({ id: key.id, deviceId: device.deviceId, volumeType: 'operatingSystemVolume', createdDateTime: key.createdDateTime, removedAt: null, device: expect.objectContaining({ displayName: device.displayName }) }),
      ]);
    }
    expect(JSON.stringify((await get(`/api/v1/recovery-keys?keyIdPrefix=${key.id}`, lookup)).json())).not.toContain(key.key);
  });

  it('refuses fewer than 8 hex digits with invalid_request, and answers an unknown key ID with an empty list', async () => {
    const short = await get('/api/v1/recovery-keys?keyIdPrefix=1A2B3C4', lookup);
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({ code: 'invalid_request', errors: [{ path: '/keyIdPrefix' }] });
    await synced();
    expect((await get('/api/v1/recovery-keys?keyIdPrefix=00000000', lookup)).json()).toEqual({ recoveryKeys: [] });
  });

  it('keeps the keys of a device deleted from Entra, with removedAt, and answers their device as null', async () => {
    await synced();
    const device = tenant.escrowGaps.toDelete;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    tenant.knobs.deleteDevice(device.deviceId);
    const status = await synced();
    const [found] = (await get(`/api/v1/recovery-keys?keyIdPrefix=${key.id}`, lookup)).json().recoveryKeys;
    expect(found).toMatchObject({ id: key.id, deviceId: device.deviceId, removedAt: status.completedAt, device: null });
  });

  it('discloses by key ID alone: the index finds the device, Graph confirms it, and the record names the device', async () => {
    await synced();
    const device = tenant.directory.notable.typical;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    tenant.clearLogs();
    const answer = await disclose({ keyId: key.id.slice(0, 8).toUpperCase(), ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requesterOf(device) });
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json().recoveryKey).toMatchObject({ id: key.id });
    expect(answer.json().device.deviceId).toBe(device.deviceId);
    // The device is read from Graph by its ID before its key list and the one key read.
    const paths = tenant.graphRequests.filter((r) => !r.inBatch).map((r) => `${r.path} ${r.query.$filter ?? ''}`);
    expect(paths[0]).toBe(`/v1.0/devices deviceId eq '${device.deviceId}'`);
    expect(paths.at(-1)).toBe(`${KEY_LIST}/${key.id} `);
    const granted = harness.auditRecords().at(-1)!;
    expect(granted).toMatchObject({ action: 'disclosure', outcome: 'granted', recoveryKeyId: key.id, device: { deviceId: device.deviceId } });
  });

  it('refuses a key ID the index does not hold with device_not_found naming the last sync, recorded like any refusal', async () => {
    const status = await synced();
    const answer = await disclose({ keyId: '0000AAAA', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requesterOf(tenant.directory.notable.typical) });
    expect(answer.statusCode).toBe(404);
    expect(answer.json().code).toBe('device_not_found');
    expect(answer.json().detail).toContain(status.lastSuccessAt);
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'disclosure', outcome: 'refused', code: 'device_not_found', keyIdInput: '0000AAAA' });
  });

  it('answers a key ID that starts keys of two devices with ambiguous_key_id and both devices as candidates, reading no key', async () => {
    await synced();
    const [one, other] = tenant.escrowGaps.sharedKeyIdPrefix;
    const prefix = tenant.directory.keysOf(one.deviceId)[0]!.id.slice(0, 8);
    expect(tenant.directory.keysOf(other.deviceId)[0]!.id.startsWith(prefix)).toBe(true);
    tenant.clearLogs();
    const answer = await disclose({ keyId: prefix.toUpperCase(), ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: 'someone@contoso.example' });
    expect(answer.statusCode).toBe(409);
    expect(answer.json().code).toBe('ambiguous_key_id');
    expect(answer.json().candidates.map((c: { displayName: string }) => c.displayName).sort()).toEqual([one.displayName, other.displayName]);
    expect(tenant.counters().recoveryPasswordReads).toBe(0);
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'disclosure', outcome: 'refused', code: 'ambiguous_key_id' });
    // More digits settle it, as they do on the screen of a Windows that shows the whole ID.
    const whole = tenant.directory.keysOf(one.deviceId)[0]!.id;
    const found = (await get(`/api/v1/recovery-keys?keyIdPrefix=${whole}`, lookup)).json().recoveryKeys;
    expect(found.map((k: { deviceId: string }) => k.deviceId)).toEqual([one.deviceId]);
  });

  it('refuses a disclosure that names both deviceName and deviceId', async () => {
    const device = tenant.directory.notable.typical;
    const answer = await disclose({ deviceName: device.displayName, deviceId: device.deviceId, keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requesterOf(device) });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().errors).toEqual([{ location: 'body', path: '/', message: 'may name at most one of deviceName or deviceId' }]);
  });

  it('reports the planted escrow gaps after a full sync, as JSON, as CSV and in the daily history', async () => {
    // A device deleted from Entra after a sync: the next sync no longer lists its keys; the index remembers them.
    await synced();
    const deleted = tenant.directory.notable.removableVolume;
    const deletedKeys = tenant.directory.keysOf(deleted.deviceId).map((k) => k.id).sort();
    tenant.knobs.deleteDevice(deleted.deviceId);
    await synced();
    const answer = await get('/api/v1/reports/escrow-coverage', auditor);
    expect(answer.statusCode, answer.body).toBe(200);
    const report = answer.json();
    const { encryptedWithoutKey, staleKey, nearLimit } = tenant.escrowGaps;
    expect(report.noEscrow.map((r: { deviceId: string }) => r.deviceId)).toContain(encryptedWithoutKey.deviceId);
    expect(report.noEscrow.map((r: { deviceId: string }) => r.deviceId)).not.toContain(tenant.directory.notable.withoutKeys.deviceId);
    expect(report.staleKey.map((r: { deviceId: string }) => r.deviceId)).toContain(staleKey.deviceId);
    expect(report.nearLimit).toEqual([expect.objectContaining({ deviceId: nearLimit.deviceId, deviceName: nearLimit.displayName, keyCount: 190 })]);
    expect(report.orphanedKeys.map((r: { id: string }) => r.id).sort()).toEqual(deletedKeys);
    for (const row of report.orphanedKeys) expect(row).toMatchObject({ deviceId: deleted.deviceId, removedAt: expect.any(String), note: 'no longer held by Entra: unrecoverable unless the device is restored or the key is escrowed elsewhere' });
    expect(report.counts).toMatchObject({ noEscrow: report.noEscrow.length, staleKey: report.staleKey.length, nearLimit: 1, orphanedKeys: deletedKeys.length });
    const csv = await harness.inject({ method: 'GET', url: '/api/v1/reports/escrow-coverage?format=csv', headers: { authorization: `Bearer ${auditor}` } });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n')[0]).toBe('gap,deviceId,deviceName,keyId,keyCount,date,note');
    expect(csv.body).toContain(`noEscrow,${encryptedWithoutKey.deviceId},${encryptedWithoutKey.displayName}`);
    const history = (await get('/api/v1/reports/escrow-coverage/history', auditor)).json();
    // Two syncs today: the day's last report stands for it.
    expect(history.days).toEqual([{ day: report.generatedAt.slice(0, 10), generatedAt: report.generatedAt, counts: report.counts }]);
    // Lookup or Audit: the first-line helpdesk sees the gaps too; an app with no KeyDesk role does not.
    expect((await get('/api/v1/reports/escrow-coverage', lookup)).json()).toEqual(report);
    const roleless = await tenant.issueAppToken(tenant.ticketingApps.find((a) => a.roles.length === 0)!.clientId);
    const refused = await get('/api/v1/reports/escrow-coverage', roleless);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toContain('BitLocker.Lookup or BitLocker.Audit');
  });

  it('answers 404 not_found before any report was computed', async () => {
    const answer = await get('/api/v1/reports/escrow-coverage', auditor);
    expect(answer.statusCode).toBe(404);
    expect(answer.json().code).toBe('not_found');
  });

  it("refreshes a device's entries whenever KeyDesk reads its key list", async () => {
    const device = tenant.directory.notable.twoVolumes;
    const [key] = tenant.directory.keysOf(device.deviceId);
    expect((await get(`/api/v1/recovery-keys?keyIdPrefix=${key!.id}`, lookup)).json().recoveryKeys).toEqual([]);
    expect((await get(`/api/v1/devices/${device.deviceId}/recovery-keys`, lookup)).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await get(`/api/v1/recovery-keys?keyIdPrefix=${key!.id}`, lookup)).json().recoveryKeys).toMatchObject([{ id: key!.id, deviceId: device.deviceId }]);
  });
});
