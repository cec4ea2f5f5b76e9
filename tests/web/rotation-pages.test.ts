import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimDevice, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

/** Rotation after disclosure in the web UI: Rotate now on the key page and in My disclosures, the rotation's state, the /rotations page. */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';

describe('rotation pages', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let discloser: SimStaffMember;
  let lookup: SimStaffMember;
  let auditor: SimStaffMember;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR, rotationEscrowAfterMs: 100 });
    discloser = tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Disclose')!;
    lookup = tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Lookup')!;
    auditor = tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Audit')!;
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}) =>
    buildHarness('rotation-pages', { env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, DEVICE_CACHE_TTL_MS: '0', ...env } });

  beforeEach(async () => {
    tenant.knobs.reset();
    tenant.clearLogs();
    harness = await keydesk();
  });
  afterEach(async () => {
    await harness.close();
  });

  async function signIn(staff: SimStaffMember, returnTo = '/') {
    const client = new WebClient(harness);
    const start = await client.get(`/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`);
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: staff.upn });
    expect((await client.get(pathOf(entra.location!))).statusCode).toBe(302);
    return client;
  }

  const hidden = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;
  const rotationRecords = (disclosureId: string) => harness.auditRecords().filter((r) => r.action === 'rotation' && r.disclosureId === disclosureId);
  const rotateForm = (disclosureId: string) => `<form method="post" action="/disclosures/${disclosureId}/rotation" class="rotate-now">`;
  const stateOf = (body: string, disclosureId: string) => new RegExp(`<tr class="audit-record" id="rotation-${disclosureId}">.*?data-state="([a-z_]+)"`).exec(body)?.[1];

  /** Reveals the device's OS key through the web form; the key page and the disclosure's ID. */
  async function reveal(client: WebClient, device: SimDevice) {
    const key = tenant.directory.keysOf(device.deviceId).find((k) => k.volumeType === '1')!;
    const form = await client.get(`/devices/${device.deviceId}`);
    const requester = (tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device))!.userPrincipalName;
    const page = await client.post(`/devices/${device.deviceId}/reveal`, {
      _csrf: hidden(form.body, '_csrf'),
      formToken: hidden(form.body, 'formToken'),
      keyId: key.id.slice(0, 8).toUpperCase(),
      requester,
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      comment: '',
    });
    expect(page.statusCode).toBe(200);
    const disclosureId = harness.auditRecords().findLast((r) => r.action === 'disclosure' && r.outcome === 'granted')!.disclosureId!;
    return { page, disclosureId, key };
  }

  it('rotates from My disclosures: 303 back to it with the state, audited with the staff member as caller, done with the new key ID', async () => {
    const client = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { page, disclosureId, key } = await reveal(client, device);
    expect(page.body).toContain(rotateForm(disclosureId));
    const keysBefore = new Set(tenant.directory.keysOf(device.deviceId).map((k) => k.id));

    const mine = await client.get('/my/disclosures');
    expect(mine.body).toContain('<th scope="col">Rotation</th>');
    expect(mine.body).toContain(rotateForm(disclosureId));
    const rotated = await client.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(mine.body, '_csrf') });
    expect(rotated.statusCode).toBe(303);
    expect(rotated.headers.location).toBe(`/my/disclosures#rotation-${disclosureId}`);
    expect(tenant.rotationRequests).toHaveLength(1);
    const after = await client.get('/my/disclosures');
    expect(stateOf(after.body, disclosureId)).toBe('pending');
    expect(after.body).not.toContain(rotateForm(disclosureId));
    // The request's own record names the staff member who pressed the button; later changes are the leader's.
    expect(rotationRecords(disclosureId).map((r) => [r.outcome, r.caller?.upn ?? null, r.recoveryKeyId])).toEqual([
      ['requested', discloser.upn, key.id],
      ['pending', null, key.id],
    ]);

    // Asked again (a second tab): the same rotation, no second call to Intune.
    expect((await client.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(after.body, '_csrf') })).statusCode).toBe(303);
    expect(tenant.rotationRequests).toHaveLength(1);

    for (let tries = 0; tries < 100 && tenant.directory.keysOf(device.deviceId).some((k) => k.id === key.id); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    await harness.app.rotations.checkOpen();
    const newKey = tenant.directory.keysOf(device.deviceId).find((k) => !keysBefore.has(k.id))!;
    const done = await client.get('/my/disclosures');
    expect(stateOf(done.body, disclosureId)).toBe('done');
    expect(done.body).toContain(`<code class="new-key-id">${newKey.id.toUpperCase()}</code>`);
    expect(done.body).not.toContain(newKey.key);

    // /rotations, for Lookup or Audit staff, linked from the header, with the state filter.
    const audit = await signIn(auditor);
    const list = await audit.get('/rotations');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('<a href="/rotations">Rotations</a>');
    expect(list.body).toContain(`href="/devices/${device.deviceId}"`);
    expect(list.body).toContain(`<code>${key.id.toUpperCase()}</code>`);
    expect(list.body.match(/<tr class="rotation">/g)).toHaveLength(1);
    const doneOnly = await audit.get('/rotations?state=done');
    expect(doneOnly.body.match(/<tr class="rotation">/g)).toHaveLength(1);
    expect(doneOnly.body).toContain('<option value="done" selected>');
    const failedOnly = await audit.get('/rotations?state=failed');
    expect(failedOnly.statusCode).toBe(200);
    expect(failedOnly.body).toContain('id="no-rotations"');
    expect((await (await signIn(lookup)).get('/rotations?state=done')).body.match(/<tr class="rotation">/g)).toHaveLength(1);
    const badCursor = await audit.get('/rotations?cursor=not-ours');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.body).toContain('<code>invalid_request</code>');
    expect((await audit.get('/rotations?state=sideways')).statusCode).toBe(400);
  });

  it('refuses a rotation without the CSRF token, or from staff without BitLocker.Disclose, and asks Intune nothing', async () => {
    const client = await signIn(discloser);
    const { disclosureId } = await reveal(client, tenant.directory.notable.apostrophe);
    const forged = await client.post(`/disclosures/${disclosureId}/rotation`, {});
    expect(forged.statusCode).toBe(403);
    expect(forged.headers['content-type']).toMatch(/^text\/html/);
    expect(forged.body).toContain('<code>csrf_invalid</code>');
    const viewer = await signIn(lookup);
    const mine = await viewer.get('/my/disclosures');
    const forbidden = await viewer.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(mine.body, '_csrf') });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.body).toContain('<code>forbidden</code>');
    const unknown = await client.post('/disclosures/00000000-0000-4000-8000-000000000000/rotation', { _csrf: hidden(forged.body, '_csrf') });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('<code>not_found</code>');
    expect(tenant.rotationRequests).toHaveLength(0);
    expect(rotationRecords(disclosureId)).toEqual([]);
    expect(await harness.app.rotations.forDisclosure(disclosureId)).toBeNull();
  });

  it('shows why a rotation cannot be done: not_supported with its code for a device Intune does not manage', async () => {
    const { directory } = tenant;
    const notManaged = directory.devices.find(
      (d) => d.accountEnabled && !directory.managedDevices.some((m) => m.azureADDeviceId === d.deviceId) && directory.owners(d).length > 0 && directory.keysOf(d.deviceId).some((k) => k.volumeType === '1'),
    )!;
    const client = await signIn(discloser);
    const { page, disclosureId } = await reveal(client, notManaged);
    const rotated = await client.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(page.body, '_csrf') });
    expect(rotated.statusCode).toBe(303);
    const mine = await client.get('/my/disclosures');
    expect(stateOf(mine.body, disclosureId)).toBe('not_supported');
    expect(mine.body).toContain('(<code>device_not_managed</code>)');
    expect(tenant.rotationRequests).toHaveLength(0);
  });

  it('pages /rotations newest first, the state filter kept on the next page', async () => {
    // Never escrowed: both stay pending, whenever the leader looks.
    for (const device of [tenant.directory.notable.typical, tenant.directory.notable.apostrophe]) tenant.knobs.setRotation(device.deviceId, 'never');
    const client = await signIn(discloser);
    const first = await reveal(client, tenant.directory.notable.typical);
    const second = await reveal(client, tenant.directory.notable.apostrophe);
    for (const { disclosureId, page } of [first, second]) await client.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(page.body, '_csrf') });
    const one = await client.get('/rotations?state=pending&limit=1');
    expect(one.body.match(/<tr class="rotation">/g)).toHaveLength(1);
    expect(one.body).toContain(tenant.directory.notable.apostrophe.deviceId);
    const next = /<a href="(\/rotations\?[^"]+)" rel="next">/.exec(one.body)![1]!.replace(/&amp;/g, '&');
    expect(next).toMatch(/^\/rotations\?state=pending&limit=1&cursor=/);
    const two = await client.get(next);
    expect(two.body.match(/<tr class="rotation">/g)).toHaveLength(1);
    expect(two.body).toContain(tenant.directory.notable.typical.deviceId);
    expect(two.body).not.toContain('rel="next"');
  });

  it('shows no button with ROTATE_AFTER_DISCLOSURE=off and refuses the post with rotation_off', async () => {
    await harness.close();
    harness = await keydesk({ ROTATE_AFTER_DISCLOSURE: 'off' });
    const client = await signIn(discloser);
    const { page, disclosureId } = await reveal(client, tenant.directory.notable.multipleOsKeys);
    expect(page.body).not.toContain('Rotate now');
    const mine = await client.get('/my/disclosures');
    expect(mine.body).not.toContain('<th scope="col">Rotation</th>');
    expect(mine.body).not.toContain('Rotate now');
    const refused = await client.post(`/disclosures/${disclosureId}/rotation`, { _csrf: hidden(mine.body, '_csrf') });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('<code>rotation_off</code>');
  });

  it('shows the state instead of a button with ROTATE_AFTER_DISCLOSURE=auto', async () => {
    await harness.close();
    harness = await keydesk({ ROTATE_AFTER_DISCLOSURE: 'auto' });
    const client = await signIn(discloser);
    const { page, disclosureId } = await reveal(client, tenant.directory.notable.typical);
    expect(page.body).not.toContain('Rotate now');
    expect(page.body).toContain('Asked for automatically');
    await harness.app.rotations.idle();
    const mine = await client.get('/my/disclosures');
    expect(mine.body).not.toContain('Rotate now');
    expect(stateOf(mine.body, disclosureId)).toBe('pending');
  });

  it('gives an employee with no KeyDesk role (self-service) the forbidden page for /rotations', async () => {
    await harness.close();
    harness = await keydesk({ SELF_SERVICE: 'on' });
    const employee = tenant.employees[0]!;
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2Fself-service%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: employee.upn });
    expect((await client.get(pathOf(entra.location!))).headers.location).toBe('/self-service/');
    const page = await client.get('/rotations');
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('<code>forbidden</code>');
    expect(page.body).not.toContain('href="/rotations"');
  });
});
