import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimDevice } from '../../simulator/organisation.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { auditEntry } from '../../src/audit/entry.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

/** The staff pages: search, device, reveal and key page, against the simulated tenant. */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';

describe('staff pages', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let discloser: SimStaffMember;
  let lookup: SimStaffMember;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    discloser = tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    lookup = tenant.staff.find((s) => s.roles.includes('BitLocker.Lookup') && !s.roles.includes('BitLocker.Disclose'))!;
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}) =>
    buildHarness('web-pages', { env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, SESSION_IDLE_MINUTES: '60', ...env } });

  beforeEach(async () => {
    tenant.clearLogs();
    harness = await keydesk();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await harness.close();
  });

  async function signIn(staff: SimStaffMember, client = new WebClient(harness), browser = new SimulatedBrowser(tenant.caCertPath)) {
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await browser.signIn(start.headers.location as string, { upn: staff.upn });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.statusCode).toBe(302);
    return { client, browser };
  }

  const keyOf = (device: SimDevice) => tenant.directory.recoveryKeys.find((k) => k.deviceId === device.deviceId)!;
  const requesterOf = (device: SimDevice) => tenant.directory.owners(device)[0]!.userPrincipalName;
  const hidden = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;

  async function openForm(client: WebClient, device: SimDevice) {
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.statusCode).toBe(200);
    return { page, _csrf: hidden(page.body, '_csrf'), formToken: hidden(page.body, 'formToken') };
  }

  function revealFields(device: SimDevice, overrides: Record<string, string> = {}) {
    return { keyId: keyOf(device).id.slice(0, 8).toUpperCase(), requester: requesterOf(device), ticket: 'INC0012345', reason: 'forgotten_pin', comment: '', ...overrides };
  }

  it('finds devices by exact name and by prefix, and flags duplicate names', async () => {
    const { client } = await signIn(lookup);
    const { displayName, devices } = tenant.directory.notable.sharedName;
    const page = await client.get(`/?name=${encodeURIComponent(displayName)}&match=exact`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<label for="device-name">Device name');
    expect(page.body).toContain('id="duplicate-notice"');
    expect(page.body.match(/<tr class="duplicate">/g)).toHaveLength(2);
    for (const device of devices) expect(page.body).toContain(`href="/devices/${device.deviceId}"`);
    expect(page.body).toContain('<span class="staff-name">');
    expect(page.body).toContain('action="/auth/sign-out"');

    const typical = tenant.directory.notable.typical;
    const prefix = await client.get(`/?name=${encodeURIComponent(typical.displayName.slice(0, -1))}&match=prefix`);
    expect(prefix.body).toContain(`href="/devices/${typical.deviceId}"`);
    expect(prefix.headers['content-security-policy']).toBe(
      `default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self' ${new URL(tenant.authorityHost).origin}; frame-ancestors 'none'; base-uri 'none'`,
    );
  });

  it('looks up details for the first 10 results only, and one search page makes at most 25 Graph requests', async () => {
    const { client } = await signIn(lookup);
    const prefix = tenant.directory.devices[0]!.displayName.slice(0, 4);
    const matching = tenant.directory.devices.filter((d) => d.displayName.toLowerCase().startsWith(prefix.toLowerCase())).length;
    expect(matching).toBeGreaterThan(25);
    tenant.clearLogs();
    const page = await client.get(`/?name=${encodeURIComponent(prefix)}&match=prefix`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Key counts and primary users are shown for the first 10 devices');
    const keyLists = tenant.graphRequests.filter((r) => r.path === '/v1.0/informationProtection/bitlocker/recoveryKeys');
    expect(keyLists).toHaveLength(10);
    expect(tenant.graphRequests.length).toBeLessThanOrEqual(25);
  });

  it('escapes hostile device names and input everywhere', async () => {
    const { client } = await signIn(lookup);
    for (const name of ["O'NEIL-PC", 'R&D-PC#1+2', 'MÜLLER-LAPTOP']) {
      const page = await client.get(`/?name=${encodeURIComponent(name)}`);
      expect(page.statusCode).toBe(200);
      const escaped = name.replace(/&/g, '&amp;').replace(/'/g, '&#39;');
      expect(page.body).toContain(`>${escaped}</a>`);
      expect(page.body).toContain(`value="${escaped}"`);
    }
    const hostile = await client.get(`/?name=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(hostile.statusCode).toBe(200);
    expect(hostile.body).not.toContain('<script>alert(1)</script>');
    expect(hostile.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('shows how many keys a device has, for which drives and since when, but never their key IDs before an attempt', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.twoVolumes;
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('2 recovery keys are escrowed for this device');
    expect(page.body).toContain('Operating system drive');
    expect(page.body).toContain('Fixed data drive');
    for (const key of tenant.directory.recoveryKeys.filter((k) => k.deviceId === device.deviceId)) {
      const hex = key.id.replaceAll('-', '');
      expect(page.body.toLowerCase()).not.toContain(hex.slice(0, 8));
    }
    // The requester is typed, never pre-filled from the directory.
    expect(page.body).toMatch(/<input id="requester" name="requester" type="email"[^>]* value="">/);
  });

  it('shows a Lookup user no disclosure form, and refuses (and records) a reveal they post anyway', async () => {
    const { client } = await signIn(lookup);
    const device = tenant.directory.notable.twoVolumes;
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('action="/devices/');
    const reveal = await client.post(`/devices/${device.deviceId}/reveal`, revealFields(device));
    expect(reveal.statusCode).toBe(403);
    expect(reveal.body).toContain('<code>forbidden</code>');
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'disclosure', door: 'web', outcome: 'refused', code: 'forbidden', caller: { oid: lookup.oid }, device: { deviceId: device.deviceId } });
  });

  it('shows no disclosure form for a device without an escrowed key', async () => {
    const { client } = await signIn(discloser);
    const page = await client.get(`/devices/${tenant.directory.notable.withoutKeys.deviceId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('No recovery key of this device is stored in Entra ID');
    expect(page.body).not.toContain('action="/devices/');
  });

  it('says when a device is disabled, on the search results and the device page', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.disabled;
    const results = await client.get(`/?name=${encodeURIComponent(device.displayName)}`);
    expect(results.body).toContain('(disabled)');
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.body).toMatch(/<dt>Device account<\/dt><dd class="device-account warn">disabled/);
  });

  it('reveals a key: the key page in 8 numbered groups, no-store, its own script, audited with the staff member as caller; a replay is refused', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { page, _csrf, formToken } = await openForm(client, device);
    expect(page.body).toContain('<label for="key-id">Key ID');
    expect(page.body).toContain('<label for="requester">Requester');
    expect(page.body).not.toContain(`value="${requesterOf(device)}"`);
    for (const label of ['ticket">Ticket', 'reason">Reason', 'comment">Comment']) expect(page.body).toContain(`<label for="${label}`);

    const fields = { ...revealFields(device), _csrf, formToken };
    const keyPage = await client.post(`/devices/${device.deviceId}/reveal`, fields);
    expect(keyPage.statusCode).toBe(200);
    expect(keyPage.headers['cache-control']).toBe('no-store');
    const groups = keyOf(device).key.split('-');
    expect(groups).toHaveLength(8);
    groups.forEach((group, index) => expect(keyPage.body).toContain(`<span class="group-number">Group ${index + 1}</span><span class="group">${group}</span>`));
    expect(keyPage.body).toContain('<script src="/assets/key-page.js" defer></script>');
    expect(keyPage.body).not.toMatch(/<script>/);
    expect(keyPage.body).toContain('data-display-seconds="60"');

    const record = harness.auditRecords().at(-1)!;
    expect(record).toMatchObject({
      action: 'disclosure',
      outcome: 'granted',
      agentUpn: discloser.upn,
      requesterUpn: requesterOf(device),
      ticket: 'INC0012345',
      door: 'web',
      caller: { kind: 'user', appId: tenant.keydeskApp.clientId, oid: discloser.oid, upn: discloser.upn, name: discloser.name, ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (KeyDesk test)' },
    });
    expect(keyPage.body).toContain(`<code class="audit-record-id">${record.id}</code>`);

    // Reload (the browser re-posts the same form): the password is not shown again.
    const replay = await client.post(`/devices/${device.deviceId}/reveal`, fields);
    expect(replay.statusCode).toBe(409);
    expect(replay.body).toContain('<code>form_already_used</code>');
    expect(replay.body).not.toContain(groups[0]!);
    expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'form_already_used', door: 'web', outcome: 'refused', ticket: 'INC0012345' });

    const script = await client.get('/assets/key-page.js');
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('explains a refused reveal in the words the API uses, keeps the form input, shows the code and records it, without asking Graph again', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    tenant.clearLogs();
    const refused = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { keyId: '00000000', ticket: 'INC0099999' }), _csrf, formToken });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain(`The key ID 00000000 does not match any recovery key of ${device.displayName}. Ask the caller to read the recovery key ID on the screen again.`);
    expect(refused.body).toContain('<code>key_id_mismatch</code>');
    expect(refused.body).toContain('value="INC0099999"');
    expect(refused.body).toContain('value="00000000"');
    const record = harness.auditRecords().at(-1)!;
    expect(record).toMatchObject({ action: 'disclosure', door: 'web', outcome: 'refused', code: 'key_id_mismatch', caller: { oid: discloser.oid }, agentUpn: discloser.upn });
    expect(refused.body).toContain(record.disclosureId!);
    // The device page after the refusal comes from what the attempt resolved: one device read, one key list.
    expect(tenant.graphRequests.filter((r) => r.path === '/v1.0/devices').length).toBeLessThanOrEqual(1);
    expect(tenant.graphRequests.filter((r) => r.path === '/v1.0/informationProtection/bitlocker/recoveryKeys')).toHaveLength(1);
  });

  it('refuses a reveal without a valid CSRF token with 403 csrf_invalid, and records it', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { formToken } = await openForm(client, device);
    const forged = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device), _csrf: 'forged', formToken });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('<code>csrf_invalid</code>');
    expect(forged.body).toContain('did not come from a KeyDesk page');
    expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'csrf_invalid', door: 'web', outcome: 'refused', caller: { oid: discloser.oid } });
  });

  it('refuses a form that fails the input contract with invalid_request, naming the field, and records it', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    const refused = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { keyId: '12', reason: '' }), _csrf, formToken });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('<code>invalid_request</code>');
    expect(refused.body).toContain('keyId must be at least 8 characters long');
    expect(refused.body).toContain('reason must be one of: forgotten_pin');
    expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'invalid_request', door: 'web', device: { deviceId: device.deviceId } });
  });

  it('sends a stale sign-in back through Entra and restores the form afterwards', async () => {
    await harness.close();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    harness = await keydesk();
    const { client, browser } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    vi.setSystemTime(Date.now() + 16 * 60_000);
    // A long comment in a script of 3 bytes a character: more than a cookie could carry (the form waits in the session).
    const comment = `caller on the phone ${'漢'.repeat(900)}`;
    const reveal = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { ticket: 'SD-4242', comment }), _csrf, formToken });
    expect(reveal.statusCode).toBe(302);
    // Recorded before the browser left for Entra.
    expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'reauthentication_required', door: 'web', outcome: 'refused', ticket: 'SD-4242' });
    const authorize = new URL(reveal.headers.location as string);
    expect(authorize.searchParams.get('max_age')).toBe('900');
    const entra = await browser.signIn(reveal.headers.location as string, { upn: discloser.upn });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.headers.location).toBe(`/devices/${device.deviceId}`);
    const restored = await client.get(`/devices/${device.deviceId}`);
    expect(restored.body).toContain('value="SD-4242"');
    expect(restored.body).toContain(`>${comment}</textarea>`);
    // Once: the next visit shows an empty form.
    expect((await client.get(`/devices/${device.deviceId}`)).body).not.toContain('SD-4242');
    expect(restored.body).toContain('<option value="forgotten_pin" selected>');
  });

  it('limits reveal attempts per staff member with a rate_limited page that keeps the form and a way back, recorded', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const { _csrf, formToken } = await openForm(client, device);
      const response = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { keyId: '00000000', ticket: `INC000000${attempt}` }), _csrf, formToken });
      statuses.push(response.statusCode);
      if (attempt === 5) {
        expect(response.body).toContain('<code>rate_limited</code>');
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect(response.headers['retry-after']).toMatch(/^\d+$/);
        expect(response.body).toContain('value="INC0000005"');
        expect(response.body).toContain(`href="/devices/${device.deviceId}"`);
      }
    }
    expect(statuses).toEqual([422, 422, 422, 422, 422, 429]);
    expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'rate_limited', door: 'web', ticket: 'INC0000005' });
  });
  it('lists on My disclosures only the signed-in staff member\'s own disclosures', async () => {
    const device = tenant.directory.notable.typical;
    const mine = await signIn(discloser);
    const form = await openForm(mine.client, device);
    await mine.client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { ticket: 'INC0000001' }), _csrf: form._csrf, formToken: form.formToken });
    // Another staff member's refusal, and an API caller's, in the same trail.
    for (const caller of [
      { kind: 'user' as const, appId: null, oid: lookup.oid, upn: lookup.upn, name: lookup.name, ip: null, userAgent: null },
      { kind: 'app' as const, appId: 'ticketing', oid: 'ticketing-sp', upn: null, name: null, ip: null, userAgent: null },
    ]) {
      await harness.audit.append(auditEntry({ action: 'disclosure', outcome: 'refused', code: 'key_id_mismatch', caller, ticket: 'INC0000002' }));
    }
    const page = await mine.client.get('/my/disclosures');
    expect(page.statusCode).toBe(200);
    expect(page.body.match(/<tr class="audit-record"[ >]/g)).toHaveLength(1);
    expect(page.body).toContain('INC0000001');
    expect(page.body).not.toContain('INC0000002');
    const granted = harness.auditRecords().find((r) => r.action === 'disclosure' && r.ticket === 'INC0000001')!;
    expect(page.body).toContain(`<code>${granted.id}</code>`);
  });

  it('gives the same refusal, in the same words, to the same input through the API and the web UI', async () => {
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const token = await tenant.issueAppToken(app.clientId);
    const device = tenant.directory.notable.typical;
    const { client } = await signIn(discloser);
    const cases: Record<string, string>[] = [
      { keyId: '00000000' },
      { ticket: 'see chat' },
      { requester: 'mallory@contoso.example' },
      { reason: 'other' },
    ];
    for (const overrides of cases) {
      const fields = revealFields(device, overrides);
      const api = await harness.inject({
        method: 'POST',
        url: '/api/v1/disclosures',
        headers: { authorization: `Bearer ${token}` },
        payload: { deviceId: device.deviceId, keyId: fields.keyId, ticket: fields.ticket, reason: fields.reason, requesterUpn: fields.requester, agentUpn: discloser.upn },
      });
      const { _csrf, formToken } = await openForm(client, device);
      const web = await client.post(`/devices/${device.deviceId}/reveal`, { ...fields, _csrf, formToken });
      const problem = api.json();
      expect({ overrides, status: web.statusCode }).toEqual({ overrides, status: problem.status });
      expect(web.body).toContain(`<code>${problem.code}</code>`);
      const detail = problem.detail.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
      expect(web.body).toContain(detail);
    }
    const doors = harness.auditRecords().filter((r) => r.action === 'disclosure').map((r) => `${r.door}:${r.code}`);
    expect(doors).toEqual(['api:key_id_mismatch', 'web:key_id_mismatch', 'api:invalid_ticket', 'web:invalid_ticket', 'api:requester_not_owner', 'web:requester_not_owner', 'api:comment_required', 'web:comment_required']);
  });

  it.each(['warn', 'off'])('treats a requester who does not own the device alike at both doors under REQUESTER_CHECK=%s', async (mode) => {
    await harness.close();
    harness = await keydesk({ REQUESTER_CHECK: mode });
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const token = await tenant.issueAppToken(app.clientId);
    const device = tenant.directory.notable.typical;
    const { client } = await signIn(discloser);
    const fields = revealFields(device, { requester: 'mallory@contoso.example' });
    const api = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${token}` },
      payload: { deviceId: device.deviceId, keyId: fields.keyId, ticket: fields.ticket, reason: fields.reason, requesterUpn: fields.requester },
    });
    const { _csrf, formToken } = await openForm(client, device);
    const web = await client.post(`/devices/${device.deviceId}/reveal`, { ...fields, _csrf, formToken });
    expect(api.statusCode).toBe(201);
    expect(web.statusCode).toBe(200);
    const verdict = mode === 'warn' ? 'warned' : 'skipped';
    expect(api.json().checks.requester).toBe(verdict);
    const granted = harness.auditRecords().filter((r) => r.action === 'disclosure' && r.outcome === 'granted');
    expect(granted.map((r) => `${r.door}:${r.checks?.requester}`)).toEqual([`api:${verdict}`, `web:${verdict}`]);
    expect(web.body.includes('data-code="requester_not_owner"')).toBe(mode === 'warn');
  });

  it('shows the warnings of a disclosure a warn policy let through on the key page', async () => {
    await harness.close();
    harness = await keydesk({ REQUESTER_CHECK: 'warn' });
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    const keyPage = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { requester: 'mallory@contoso.example' }), _csrf, formToken });
    expect(keyPage.statusCode).toBe(200);
    expect(keyPage.body).toContain('Disclosed with a warning');
    expect(keyPage.body).toContain('data-code="requester_not_owner"');
  });

  it('tells a staff member with BitLocker.Audit alone what the role allows, without a device search, and keeps /devices/* closed', async () => {
    const auditor = tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Audit')!;
    const { client } = await signIn(auditor);
    const home = await client.get('/');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('BitLocker.Audit');
    expect(home.body).not.toContain('role="search"');
    const search = await client.get('/?name=LAPTOP');
    expect(search.body).not.toContain('role="search"');
    const device = await client.get(`/devices/${tenant.directory.notable.typical.deviceId}`);
    expect(device.statusCode).toBe(403);
    expect(device.body).toContain('<code>forbidden</code>');
  });

  it('answers a browser with HTML pages outside the API, and problems under /api, /openapi.json and /docs', async () => {
    const { client } = await signIn(discloser);
    const page = await client.get('/no/such/page');
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<code>not_found</code>');
    // Still in the staff member's session: their name and the sign-out form are on it.
    expect(page.body).toContain(`<span class="staff-name">${discloser.name}</span>`);
    expect(page.body).toContain('action="/auth/sign-out"');
    const api = await client.get('/api/v1/nothing');
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    const icon = await client.get('/favicon.ico');
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toBe('image/x-icon');
  });

  describe('a recovery password pasted into the web UI by mistake', () => {
    it('in the search box is refused without being searched, shown again or put in the title', async () => {
      const { client } = await signIn(discloser);
      const pasted = fakeRecoveryPassword();
      tenant.clearLogs();
      const page = await client.get(`/?name=${pasted}`);
      expect(page.statusCode).toBe(400);
      expect(page.body).toContain('looks like a BitLocker recovery password');
      expect(page.body).not.toContain(pasted);
      expect(tenant.graphRequests).toHaveLength(0);
    });

    it('in a reveal form field is refused, recorded without it, and the field comes back empty', async () => {
      const { client } = await signIn(discloser);
      const device = tenant.directory.notable.typical;
      const { _csrf, formToken } = await openForm(client, device);
      const pasted = fakeRecoveryPassword();
      const refused = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { ticket: pasted }), _csrf, formToken });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('looks like a BitLocker recovery password');
      expect(refused.body).not.toContain(pasted);
      expect(refused.body).toMatch(/<input id="ticket" name="ticket"[^>]* value="">/);
      expect(JSON.stringify(harness.auditRecords())).not.toContain(pasted);
    });
  });

  it('searches by the same rules as the API: a one-character prefix is refused', async () => {
    const { client } = await signIn(discloser);
    tenant.clearLogs();
    const page = await client.get('/?name=C&match=prefix');
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('prefix must be at least 2 characters long');
    expect(tenant.graphRequests).toHaveLength(0);
    const title = await client.get('/?name=CO&match=prefix');
    expect(title.body).toContain('<title>Devices starting with CO · KeyDesk</title>');
  });

  it('offers no disclosure form for a disabled device under DISABLED_DEVICE_CHECK=enforce, but does under warn', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.disabled;
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.body).toContain('KeyDesk refuses to disclose its recovery password (DISABLED_DEVICE_CHECK=enforce)');
    expect(page.body).not.toContain('action="/devices/');
    await harness.close();
    harness = await keydesk({ DISABLED_DEVICE_CHECK: 'warn' });
    const warned = await signIn(discloser);
    expect((await warned.client.get(`/devices/${device.deviceId}`)).body).toContain('action="/devices/');
  });

  it('shows what it resolved of a disabled device on the refusal page, and no form', async () => {
    const { client } = await signIn(discloser);
    // A form token belongs to the session, not to a device: one from another device's page gets the
    // reveal as far as the rules, which refuse it.
    const { _csrf, formToken } = await openForm(client, tenant.directory.notable.typical);
    const stolen = tenant.directory.notable.disabled;
    const refused = await client.post(`/devices/${stolen.deviceId}/reveal`, { ...revealFields(stolen), _csrf, formToken });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('<code>device_disabled</code>');
    expect(refused.body).toContain(`<h1>${stolen.displayName}</h1>`);
    expect(refused.body).toMatch(/<dd class="device-account warn">disabled/);
    expect(refused.body).not.toContain('action="/devices/');
  });
});
