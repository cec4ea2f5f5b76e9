import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimDevice } from '../../simulator/organisation.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

/** The self-service door, against the simulated tenant: an employee with no KeyDesk role, on their own devices. */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';

describe('self-service', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let mueller: SimStaffMember;
  let oneil: SimStaffMember;
  let diaz: SimStaffMember;
  let clock: number;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    const named = (surname: string) => tenant.employees.find((e) => e.name.endsWith(surname))!;
    [mueller, oneil, diaz] = [named('Müller'), named("O'Neil"), named('Díaz')];
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}) =>
    buildHarness('self-service', {
      env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, SESSION_IDLE_MINUTES: '60', SELF_SERVICE: 'on', ...env },
      deps: { now: () => clock },
    });

  beforeEach(async () => {
    tenant.clearLogs();
    clock = Date.now();
    harness = await keydesk();
  });
  afterEach(async () => {
    await harness.close();
  });

  async function signIn(person: SimStaffMember, client = new WebClient(harness)) {
    const visit = await client.get('/self-service/');
    expect(visit.headers.location).toBe('/auth/sign-in?returnTo=%2Fself-service%2F');
    const start = await client.get(visit.headers.location as string);
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: person.upn });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.statusCode).toBe(302);
    expect(callback.headers.location).toBe('/self-service/');
    return client;
  }

  /** Every device the directory ties to the person: a registered owner, or Intune's primary user. */
  const devicesOf = (person: SimStaffMember) => tenant.directory.devices.filter((d) => d.ownerIds.includes(person.oid) || (d.isManaged && d.primaryUserId === person.oid));
  const keyOf = (device: SimDevice) => tenant.directory.recoveryKeys.find((k) => k.deviceId === device.deviceId)!;
  const hidden = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;
  const keyedDeviceOf = (person: SimStaffMember) => devicesOf(person).find((d) => d.accountEnabled && tenant.directory.keysOf(d.deviceId).length > 0)!;

  async function openForm(client: WebClient, device: SimDevice) {
    const page = await client.get(`/self-service/devices/${device.deviceId}`);
    expect(page.statusCode).toBe(200);
    return { page, _csrf: hidden(page.body, '_csrf'), formToken: hidden(page.body, 'formToken') };
  }

  async function reveal(client: WebClient, device: SimDevice, via: SimDevice = device, keyId = keyOf(device).id.slice(0, 8).toUpperCase()) {
    const { _csrf, formToken } = await openForm(client, via);
    return client.post(`/self-service/devices/${device.deviceId}/reveal`, { _csrf, formToken, keyId, reason: 'forgotten_pin', comment: '' });
  }

  it('lists the devices of an employee with no KeyDesk role, and no one else’s; the home page sends them there', async () => {
    const client = await signIn(mueller);
    const page = await client.get('/self-service/');
    expect(page.statusCode).toBe(200);
    const mine = devicesOf(mueller);
    expect(mine.length).toBeGreaterThan(0);
    for (const device of mine) expect(page.body).toContain(`href="/self-service/devices/${device.deviceId}"`);
    expect(page.body.match(/class="device-card"/g)).toHaveLength(mine.length);
    for (const other of [...devicesOf(oneil), ...devicesOf(diaz)]) expect(page.body).not.toContain(other.displayName);
    expect(page.body).toContain('You can get 3 more recovery keys');
    // No KeyDesk role: the landing page is their own devices, and the staff pages stay closed.
    expect((await client.get('/')).headers.location).toBe('/self-service/');
    expect((await client.get(`/devices/${mine[0]!.deviceId}`)).statusCode).toBe(403);
    const another = devicesOf(oneil)[0]!;
    const notMine = await client.get(`/self-service/devices/${another.deviceId}`);
    expect(notMine.statusCode).toBe(404);
    expect(notMine.body).not.toContain(another.displayName);
  });

  it("lists a device Intune names them the primary user of, though Entra's registered owner is someone else", async () => {
    const device = tenant.directory.notable.primaryUserIsNotOwner;
    const user = tenant.directory.primaryUser(device)!;
    const client = await signIn({ upn: user.userPrincipalName, name: user.displayName, oid: user.id, roles: [] });
    const page = await client.get('/self-service/');
    expect(page.body).toContain(`href="/self-service/devices/${device.deviceId}"`);
    // Asked of Intune by the employee's object id, the value escaped as an OData literal.
    expect(tenant.graphRequests.map((r) => r.query.$filter)).toContain(`userId eq '${user.id}'`);
  });

  it('discloses the key of their own device for the right key ID, recorded as door self_service with no agent and no ticket', async () => {
    const client = await signIn(mueller);
    const device = keyedDeviceOf(mueller);
    const wrong = await reveal(client, device, device, '00000000');
    expect(wrong.statusCode).toBe(422);
    expect(wrong.body).toContain('<code>key_id_mismatch</code>');
    expect(harness.auditRecords().at(-1)).toMatchObject({ door: 'self_service', outcome: 'refused', code: 'key_id_mismatch', keyIdInput: '00000000' });

    const granted = await reveal(client, device);
    expect(granted.statusCode).toBe(200);
    expect(granted.headers['cache-control']).toBe('no-store');
    const groups = keyOf(device).key.split('-');
    groups.forEach((group, index) => expect(granted.body).toContain(`<span class="group-number">Group ${index + 1}</span><span class="group">${group}</span>`));
    expect(granted.body).toContain('On the blue recovery screen, type these 48 digits');
    const record = harness.auditRecords().at(-1)!;
    expect(record).toMatchObject({
      action: 'disclosure',
      outcome: 'granted',
      door: 'self_service',
      agentUpn: null,
      ticket: null,
      reason: 'forgotten_pin',
      requesterUpn: mueller.upn,
      recoveryKeyId: keyOf(device).id,
      caller: { kind: 'user', oid: mueller.oid, upn: mueller.upn },
      device: { deviceId: device.deviceId },
      checks: { ticket: null, reason: true, keyIdMatched: true, requester: 'passed', requesterEnabled: 'passed' },
    });
    expect(JSON.stringify(harness.auditRecords())).not.toContain(keyOf(device).key);
    // The intent record came first, as for every door: what the notifications are sent from.
    expect(harness.auditRecords().at(-2)).toMatchObject({ action: 'disclosure_intent', door: 'self_service', disclosureId: record.disclosureId });
    // With ROTATE_AFTER_DISCLOSURE=request (the default) nobody is there to press "Rotate now": a self-service key is rotated on its own.
    await harness.app.rotations.idle();
    expect(await harness.app.rotations.forDisclosure(record.disclosureId!)).toMatchObject({ disclosureId: record.disclosureId, oldRecoveryKeyId: keyOf(device).id });
    expect(harness.auditRecords().filter((r) => r.action === 'rotation').map((r) => r.disclosureId)).toContain(record.disclosureId);
  });

  it('asks for no rotation of a self-service key with ROTATE_AFTER_DISCLOSURE=off', async () => {
    await harness.close();
    harness = await keydesk({ ROTATE_AFTER_DISCLOSURE: 'off' });
    const client = await signIn(mueller);
    const device = keyedDeviceOf(mueller);
    expect((await reveal(client, device)).statusCode).toBe(200);
    await harness.app.rotations.idle();
    const record = harness.auditRecords().filter((r) => r.action === 'disclosure').at(-1)!;
    expect(await harness.app.rotations.forDisclosure(record.disclosureId!)).toBeNull();
  });

  it("refuses another person's device and records it, whatever REQUESTER_CHECK says, showing nothing of that device", async () => {
    await harness.close();
    harness = await keydesk({ REQUESTER_CHECK: 'off' });
    const client = await signIn(mueller);
    const theirs = keyedDeviceOf(oneil);
    const refused = await reveal(client, theirs, keyedDeviceOf(mueller));
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('<code>requester_not_owner</code>');
    expect(refused.body).not.toContain(theirs.displayName);
    expect(refused.body).not.toContain(keyOf(theirs).key.split('-')[0]!);
    expect(harness.auditRecords().at(-1)).toMatchObject({ door: 'self_service', outcome: 'refused', code: 'requester_not_owner', requesterUpn: mueller.upn, device: { deviceId: theirs.deviceId } });
    expect(tenant.graphRequests.some((r) => r.path === `/v1.0/informationProtection/bitlocker/recoveryKeys/${keyOf(theirs).id}`)).toBe(false);
  });

  it('stops at SELF_SERVICE_DISCLOSURES_PER_DAY and says whom to call, recording the refusal', async () => {
    await harness.close();
    harness = await keydesk({ SELF_SERVICE_DISCLOSURES_PER_DAY: '1', SELF_SERVICE_HELP_CONTACT: 'the IT Service Desk on +44 20 7946 0000' });
    const client = await signIn(oneil);
    const device = keyedDeviceOf(oneil);
    expect((await reveal(client, device)).statusCode).toBe(200);
    const over = await reveal(client, device);
    expect(over.statusCode).toBe(429);
    expect(over.body).toContain('<code>self_service_limit_reached</code>');
    expect(over.body).toContain('Call the IT Service Desk on +44 20 7946 0000');
    expect(over.body).not.toContain(keyOf(device).key.split('-')[0]!);
    // The last disclosure record (the granted key's rotation writes records of its own meanwhile).
    expect(harness.auditRecords().filter((r) => r.action === 'disclosure').at(-1)).toMatchObject({ door: 'self_service', outcome: 'refused', code: 'self_service_limit_reached', caller: { oid: oneil.oid } });
    expect((await client.get('/self-service/')).body).toContain('You can get 0 more recovery keys');
    // A day later the count starts again.
    clock += 86_400_000 + 1000;
    await harness.close();
    harness = await keydesk({ SELF_SERVICE_DISCLOSURES_PER_DAY: '1', REAUTH_MAX_AGE: '86400' });
    const later = await signIn(oneil);
    expect((await later.get('/self-service/')).body).toContain('You can get 1 more recovery key ');
  });

  it('sends a stale sign-in back to Entra with max_age, the attempt recorded first', async () => {
    const client = await signIn(mueller);
    const device = keyedDeviceOf(mueller);
    clock += 16 * 60_000;
    const stale = await reveal(client, device);
    expect(stale.statusCode).toBe(302);
    const authorize = new URL(stale.headers.location as string);
    expect(authorize.origin).toBe(tenant.authorityHost);
    expect(authorize.searchParams.get('max_age')).toBe('900');
    expect(authorize.searchParams.get('login_hint')).toBe(mueller.upn);
    expect(harness.auditRecords().at(-1)).toMatchObject({ door: 'self_service', outcome: 'refused', code: 'reauthentication_required', requesterUpn: mueller.upn });
    expect(stale.body).not.toContain(keyOf(device).key.split('-')[0]!);
  });

  it('asks Entra for SELF_SERVICE_AUTH_CONTEXT before a key is given', async () => {
    await harness.close();
    harness = await keydesk({ SELF_SERVICE_AUTH_CONTEXT: 'c2' });
    const client = await signIn(mueller);
    const stepUp = await reveal(client, keyedDeviceOf(mueller));
    expect(stepUp.statusCode).toBe(302);
    expect(new URL(stepUp.headers.location as string).searchParams.get('claims')).toContain('"c2"');
    expect(harness.auditRecords().at(-1)).toMatchObject({ door: 'self_service', code: 'step_up_required' });
  });

  it('opens only to (transitive) members of SELF_SERVICE_GROUP_ID when it is set', async () => {
    await harness.close();
    harness = await keydesk({ SELF_SERVICE_GROUP_ID: tenant.selfServiceGroupId });
    // Müller is in the group through the nested "Engineering" group.
    expect((await (await signIn(mueller)).get('/self-service/')).statusCode).toBe(200);
    const outsider = await signIn(diaz);
    const page = await outsider.get('/self-service/');
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('<code>self_service_not_allowed</code>');
    const checks = tenant.graphRequests.filter((r) => r.path.endsWith('/checkMemberGroups'));
    expect(checks.length).toBeGreaterThanOrEqual(2);
  });
});
