import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimDevice, type SimulatedTenant } from '../../simulator/index.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * Rotation after disclosure against the simulated tenant: Intune's beta rotateBitLockerKeys
 * (204, accepted), the device escrowing a new key (or never, or saying it cannot), the leader's
 * check finding the new key in the device's list, and every state change in the audit trail.
 */

const ROTATE = /^\/beta\/deviceManagement\/managedDevices\/[0-9a-f-]+\/rotateBitLockerKeys$/;

describe('rotation after disclosure against the simulated tenant', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let discloser: string;
  let lookup: string;
  let clock = 0;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR, rotationEscrowAfterMs: 100 });
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}) =>
    buildHarness('rotation', { env: { ...tenant.keydeskEnvironment(), DEVICE_CACHE_TTL_MS: '0', ROTATION_DEADLINE_HOURS: '1', ...env }, deps: { now: () => Date.now() + clock } });

  beforeEach(async () => {
    clock = 0;
    tenant.knobs.reset();
    tenant.clearLogs();
    harness = await keydesk();
    const appToken = (role: string) => tenant.issueAppToken(tenant.ticketingApps.find((a) => a.roles.includes(role))!.clientId);
    discloser = await appToken('BitLocker.Disclose');
    lookup = await appToken('BitLocker.Lookup');
  });
  afterEach(async () => {
    await harness.close();
  });

  async function disclosed(device: SimDevice): Promise<{ disclosureId: string; keyId: string }> {
    const key = tenant.directory.keysOf(device.deviceId).find((k) => k.volumeType === '1')!;
    const requester = tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device);
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${discloser}` },
      payload: { deviceId: device.deviceId, keyId: key.id, ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requester!.userPrincipalName },
    });
    expect(response.statusCode).toBe(201);
    return { disclosureId: response.json().disclosureId, keyId: key.id };
  }
  const rotate = (disclosureId: string, token = discloser) => harness.inject({ method: 'POST', url: `/api/v1/disclosures/${disclosureId}/rotation`, headers: { authorization: `Bearer ${token}` } });
  const rotationRecords = (disclosureId: string) => harness.auditRecords().filter((r) => r.action === 'rotation' && r.disclosureId === disclosureId);
  const alerts = () => harness.auditRecords().filter((r) => r.action === 'alert' && String(r.details?.rule).startsWith('rotation_'));
  const waitFor = async (done: () => boolean) => {
    for (let tries = 0; tries < 100 && !done(); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  it('asks Intune on beta, answers 202 pending, and once the device escrows a new key the leader marks it done', async () => {
    const device = tenant.directory.notable.typical;
    const { disclosureId, keyId } = await disclosed(device);
    const asked = await rotate(disclosureId);
    expect(asked.statusCode).toBe(202);
    expect(asked.json()).toMatchObject({ disclosureId, deviceId: device.deviceId, oldRecoveryKeyId: keyId, newRecoveryKeyId: null, state: 'pending', error: null });
    expect(tenant.graphRequests.filter((r) => ROTATE.test(r.path)).map((r) => [r.method, r.status])).toEqual([['POST', 204]]);
    expect((await rotate(disclosureId)).statusCode).toBe(200);
    expect(tenant.rotationRequests).toHaveLength(1);

    await waitFor(() => tenant.directory.keysOf(device.deviceId).every((k) => k.id !== keyId));
    await harness.app.rotations.checkOpen();
    const newKey = tenant.directory.keysOf(device.deviceId).find((k) => k.volumeType === '1')!;
    const listed = await harness.inject({ method: 'GET', url: '/api/v1/rotations?state=done', headers: { authorization: `Bearer ${lookup}` } });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({ rotations: [expect.objectContaining({ disclosureId, state: 'done', newRecoveryKeyId: newKey.id, managedDeviceId: tenant.rotationRequests[0]!.managedDeviceId })], nextCursor: null });
    expect(rotationRecords(disclosureId).map((r) => [r.outcome, r.recoveryKeyId])).toEqual([
      ['requested', keyId],
      ['pending', keyId],
      ['done', keyId],
    ]);
    expect(JSON.stringify(harness.auditRecords())).not.toContain(newKey.key);
  });

  it('marks a rotation whose device never escrows a key overdue after the deadline, with an alert', async () => {
    const device = tenant.directory.notable.apostrophe;
    tenant.knobs.setRotation(device.deviceId, 'never');
    const { disclosureId } = await disclosed(device);
    expect((await rotate(disclosureId)).json().state).toBe('pending');
    await harness.app.rotations.checkOpen();
    expect((await harness.app.rotations.forDisclosure(disclosureId))!.state).toBe('pending');
    clock = 3_600_001;
    await harness.app.rotations.checkOpen();
    expect((await harness.app.rotations.forDisclosure(disclosureId))!.state).toBe('overdue');
    expect(rotationRecords(disclosureId).map((r) => r.outcome)).toEqual(['requested', 'pending', 'overdue']);
    expect(alerts()).toEqual([expect.objectContaining({ disclosureId, details: expect.objectContaining({ rule: 'rotation_overdue', subject: `device:${device.deviceId}` }) })]);
  });

  it('ends not_supported without asking Intune for a device Intune does not manage, and when the device reports it cannot', async () => {
    const { directory } = tenant;
    const notManaged = directory.devices.find(
      (d) => d.accountEnabled && !directory.managedDevices.some((m) => m.azureADDeviceId === d.deviceId) && directory.owners(d).length > 0 && directory.keysOf(d.deviceId).some((k) => k.volumeType === '1'),
    )!;
    const unmanaged = await disclosed(notManaged);
    const answered = await rotate(unmanaged.disclosureId);
    expect(answered.statusCode).toBe(202);
    expect(answered.json()).toMatchObject({ state: 'not_supported', managedDeviceId: null, error: { code: 'device_not_managed' } });
    expect(tenant.rotationRequests).toHaveLength(0);

    const device = tenant.directory.notable.multipleOsKeys;
    tenant.knobs.setRotation(device.deviceId, 'notSupported');
    const incapable = await disclosed(device);
    expect((await rotate(incapable.disclosureId)).json().state).toBe('pending');
    await harness.app.rotations.checkOpen();
    expect(await harness.app.rotations.forDisclosure(incapable.disclosureId)).toMatchObject({ state: 'not_supported', error: { code: 'rotation_not_supported' } });
    expect(alerts()).toEqual([]);
  });

  it('fails with graph_permission_missing naming both permissions when Graph refuses the rotation (403), with an alert', async () => {
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'User.Read.All', 'DeviceManagementManagedDevices.Read.All', 'BitlockerKey.Read.All']);
    await harness.close();
    harness = await keydesk();
    const { disclosureId } = await disclosed(tenant.directory.notable.specialCharacters);
    const answered = await rotate(disclosureId);
    expect(answered.statusCode).toBe(202);
    const { state, error } = answered.json();
    expect(state).toBe('failed');
    expect(error.code).toBe('graph_permission_missing');
    expect(error.detail).toContain('DeviceManagementManagedDevices.ReadWrite.All');
    expect(error.detail).toContain('DeviceManagementManagedDevices.PrivilegedOperations.All');
    expect(tenant.graphRequests.filter((r) => ROTATE.test(r.path)).map((r) => r.status)).toEqual([403]);
    expect(rotationRecords(disclosureId).map((r) => [r.outcome, r.code])).toEqual([
      ['requested', null],
      ['failed', 'graph_permission_missing'],
    ]);
    expect(alerts()).toEqual([expect.objectContaining({ disclosureId, details: expect.objectContaining({ rule: 'rotation_failed' }) })]);
  });

  it('warns at start-up when the Graph token holds neither rotation permission, and not when it holds one', async () => {
    await harness.app.rotations.checkPermission();
    expect(harness.logLines().filter((line) => String(line.msg).includes('holds neither'))).toEqual([]);
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'BitlockerKey.Read.All']);
    await harness.close();
    harness = await keydesk();
    await harness.app.rotations.checkPermission();
    const warning = harness.logLines().find((line) => String(line.msg).includes('holds neither'))!;
    expect(warning.level).toBe('warn');
    expect(String(warning.msg)).toContain('DeviceManagementManagedDevices.PrivilegedOperations.All');
  });

  it('rotates by itself after a granted disclosure with ROTATE_AFTER_DISCLOSURE=auto, after the key was answered', async () => {
    await harness.close();
    harness = await keydesk({ ROTATE_AFTER_DISCLOSURE: 'auto' });
    const device = tenant.directory.notable.twoVolumes;
    const { disclosureId, keyId } = await disclosed(device);
    await harness.app.rotations.idle();
    expect(await harness.app.rotations.forDisclosure(disclosureId)).toMatchObject({ state: 'pending', oldRecoveryKeyId: keyId });
    const records = harness.auditRecords();
    const granted = records.findIndex((r) => r.action === 'disclosure' && r.disclosureId === disclosureId);
    const requested = records.findIndex((r) => r.action === 'rotation' && r.disclosureId === disclosureId);
    expect(requested).toBeGreaterThan(granted);
    expect(records[requested]!.caller).toEqual(records[granted]!.caller);
    expect((await rotate(disclosureId)).statusCode).toBe(200);
  });
});
