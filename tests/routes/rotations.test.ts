import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import nock from 'nock';
import type { IntuneRotation } from '../../src/graph/intune-rotation.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { FakeGraph, device, recoveryKey, user } from '../helpers/fakes.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

/** The rotation routes over a fake Graph and a fake Intune: codes, roles, 202 for a new rotation and 200 for the one there already. */

const ann = user('ann.lee@contoso.com');

class FakeIntune implements IntuneRotation {
  readonly rotated: string[] = [];
  refuseWith: KeyDeskProblem | null = null;
  async rotateBitLockerKeys(managedDeviceId: string): Promise<void> {
    if (this.refuseWith) throw this.refuseWith;
    this.rotated.push(managedDeviceId);
  }
  async bitLockerRotationResult() {
    return null;
  }
  async grantedRoles() {
    return ['DeviceManagementManagedDevices.ReadWrite.All'];
  }
}

describe('rotation routes', () => {
  let signingKey: SigningKey;
  let harness: Harness;
  let intune: FakeIntune;
  let graph: FakeGraph;
  const tokens: Record<string, string> = {};
  const laptop = device({ displayName: 'LAPTOP-ANN', registeredOwners: [{ id: ann.id, userPrincipalName: ann.userPrincipalName, displayName: 'Ann', accountEnabled: true }] });
  const osKey = recoveryKey(laptop.deviceId, { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab' });

  beforeAll(async () => {
    signingKey = await makeSigningKey();
    for (const role of ['BitLocker.Disclose', 'BitLocker.Lookup', 'BitLocker.Audit']) tokens[role] = await issueAppToken(signingKey, { roles: [role] });
    tokens.none = await issueAppToken(signingKey, { roles: [] });
  });

  const start = async (env: Record<string, string> = {}) => {
    graph = new FakeGraph({ devices: [laptop], users: [ann], intune: { [laptop.deviceId]: { managedDeviceId: 'c3e8a1f4-2b7d-4e9a-8c5f-6d0b1a2e3f4c', deviceName: 'LAPTOP-ANN', primaryUserUpn: null, primaryUserId: null, lastSyncDateTime: null } }, keys: [osKey], passwords: { [osKey.id]: fakeRecoveryPassword() } });
    intune = new FakeIntune();
    harness = await buildHarness('rotations', { env, deps: { graph, intuneRotation: intune } });
  };

  beforeEach(async () => {
    nock.disableNetConnect();
    mockEntraDiscovery([signingKey]);
    await start();
  });
  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const disclose = async (keyId = '1A2B3C4D') => {
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${tokens['BitLocker.Disclose']}` },
      payload: { deviceName: 'LAPTOP-ANN', keyId, ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName },
    });
    return response.json().disclosureId as string;
  };
  const rotate = (disclosureId: string, role = 'BitLocker.Disclose') => harness.inject({ method: 'POST', url: `/api/v1/disclosures/${disclosureId}/rotation`, headers: { authorization: `Bearer ${tokens[role]}` } });
  const list = (query: string, role = 'BitLocker.Lookup') => harness.inject({ method: 'GET', url: `/api/v1/rotations${query}`, headers: { authorization: `Bearer ${tokens[role]}` } });

  it('answers 202 with a new rotation and 200 with the same one when asked again, asking Intune once', async () => {
    const disclosureId = await disclose();
    const first = await rotate(disclosureId);
    expect(first.statusCode).toBe(202);
    expect(Object.keys(first.json()).sort()).toEqual(['deadline', 'deviceId', 'disclosureId', 'error', 'id', 'managedDeviceId', 'newRecoveryKeyId', 'oldRecoveryKeyId', 'requestedAt', 'state', 'updatedAt']);
    expect(first.json()).toMatchObject({ disclosureId, oldRecoveryKeyId: osKey.id, managedDeviceId: 'c3e8a1f4-2b7d-4e9a-8c5f-6d0b1a2e3f4c', state: 'pending' });
    const second = await rotate(disclosureId);
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(first.json().id);
    expect(intune.rotated).toEqual(['c3e8a1f4-2b7d-4e9a-8c5f-6d0b1a2e3f4c']);
    const requested = harness.auditRecords().find((r) => r.action === 'rotation' && r.outcome === 'requested')!;
    expect(requested).toMatchObject({ disclosureId, recoveryKeyId: osKey.id, device: { deviceId: laptop.deviceId }, caller: { kind: 'app' } });
  });

  it('lets only the Disclose role ask, and the Lookup or Audit role list', async () => {
    const disclosureId = await disclose();
    for (const role of ['BitLocker.Lookup', 'BitLocker.Audit', 'none']) {
      const refused = await rotate(disclosureId, role);
      expect([refused.statusCode, refused.json().code]).toEqual([403, 'forbidden']);
    }
    expect((await rotate(disclosureId)).statusCode).toBe(202);
    for (const role of ['BitLocker.Lookup', 'BitLocker.Audit', 'BitLocker.Disclose']) expect((await list('', role)).json().rotations).toHaveLength(1);
    const refused = await list('', 'none');
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'forbidden']);
  });

  it('refuses an unknown disclosure (404 not_found), one that gave no key (409 disclosure_not_granted) and a malformed id (400)', async () => {
    const unknown = await rotate(randomUUID());
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'not_found']);
    const refusedId = await disclose('DEADBEEF');
    const notGranted = await rotate(refusedId);
    expect([notGranted.statusCode, notGranted.json().code]).toEqual([409, 'disclosure_not_granted']);
    const malformed = await rotate('not-a-disclosure');
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'invalid_request']);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect(intune.rotated).toEqual([]);
    expect(harness.auditRecords().filter((r) => r.action === 'rotation')).toEqual([]);
  });

  it('answers 409 rotation_off with ROTATE_AFTER_DISCLOSURE=off, and asks nothing of Intune', async () => {
    await harness.close();
    await start({ ROTATE_AFTER_DISCLOSURE: 'off' });
    const answered = await rotate(await disclose());
    expect([answered.statusCode, answered.json().code]).toEqual([409, 'rotation_off']);
    expect(intune.rotated).toEqual([]);
  });

  it('keeps a rotation Intune refused as failed, with the problem as its error', async () => {
    intune.refuseWith = new KeyDeskProblem('graph_unavailable', 'Microsoft Graph did not answer.');
    const answered = await rotate(await disclose());
    expect(answered.statusCode).toBe(202);
    expect(answered.json()).toMatchObject({ state: 'failed', error: { code: 'graph_unavailable', detail: 'Microsoft Graph did not answer.' } });
  });

  it('with auto, answers the disclosure whatever Intune says, and keeps the rotation Intune refused as failed', async () => {
    await harness.close();
    await start({ ROTATE_AFTER_DISCLOSURE: 'auto' });
    intune.refuseWith = new KeyDeskProblem('graph_permission_missing', 'Microsoft Graph refused (403).');
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${tokens['BitLocker.Disclose']}` },
      payload: { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName },
    });
    expect(response.statusCode).toBe(201);
    await harness.app.rotations.idle();
    expect(await harness.app.rotations.forDisclosure(response.json().disclosureId)).toMatchObject({ state: 'failed', error: { code: 'graph_permission_missing' } });
    const refusedId = await disclose('DEADBEEF');
    await harness.app.rotations.idle();
    expect(await harness.app.rotations.forDisclosure(refusedId)).toBeNull();
  });

  it('pages the list newest first with a cursor, filters by state, and refuses a cursor it did not issue', async () => {
    const made: Array<{ id: string; requestedAt: string }> = [];
    for (let n = 0; n < 3; n++) made.push((await rotate(await disclose())).json());
    // Newest first; two asked in the same millisecond are ordered by id.
    const ids = made.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt) || b.id.localeCompare(a.id)).map((r) => r.id);
    const first = (await list('?limit=2')).json();
    expect(first.rotations.map((r: { id: string }) => r.id)).toEqual([ids[0], ids[1]]);
    const second = (await list(`?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ rotations: [expect.objectContaining({ id: ids[2] })], nextCursor: null });
    expect((await list('?state=done')).json().rotations).toEqual([]);
    expect((await list('?state=pending')).json().rotations).toHaveLength(3);
    // Empty members, as the issue writes the route and a form sends it, are as if not given.
    const blank = await list('?state=&limit=&cursor=');
    expect(blank.statusCode).toBe(200);
    expect(blank.json().rotations).toHaveLength(3);
    const badCursor = await list('?cursor=bm9wZQ');
    expect([badCursor.statusCode, badCursor.json().code]).toEqual([400, 'invalid_request']);
    const badState = await list('?state=finished');
    expect(badState.statusCode).toBe(400);
  });
});
