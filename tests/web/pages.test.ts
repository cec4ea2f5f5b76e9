import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimDevice } from '../../simulator/organisation.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { auditEntry } from '../../src/audit/entry.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

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

  it('looks up key counts for the first 25 results only, so a wide prefix cannot set off a burst of Graph calls', async () => {
    const { client } = await signIn(lookup);
    const prefix = tenant.directory.devices[0]!.displayName.slice(0, 4);
    const matching = tenant.directory.devices.filter((d) => d.displayName.toLowerCase().startsWith(prefix.toLowerCase())).length;
    expect(matching).toBeGreaterThan(25);
    tenant.clearLogs();
    const page = await client.get(`/?name=${encodeURIComponent(prefix)}&match=prefix`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Key counts and primary users are shown for the first 25 devices');
    const keyLists = tenant.graphRequests.filter((r) => r.path === '/v1.0/informationProtection/bitlocker/recoveryKeys');
    expect(keyLists).toHaveLength(25);
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

  it('shows a Lookup user the key IDs as on the recovery screen but no disclosure form, and refuses them a reveal', async () => {
    const { client } = await signIn(lookup);
    const device = tenant.directory.notable.twoVolumes;
    const page = await client.get(`/devices/${device.deviceId}`);
    expect(page.statusCode).toBe(200);
    for (const key of tenant.directory.recoveryKeys.filter((k) => k.deviceId === device.deviceId)) {
      expect(page.body).toContain(`<code class="key-id">${key.id.slice(0, 8).toUpperCase()}</code>`);
    }
    expect(page.body).toContain('Operating system drive');
    expect(page.body).toContain('Fixed data drive');
    expect(page.body).not.toContain('action="/devices/');
    const reveal = await client.post(`/devices/${device.deviceId}/reveal`, revealFields(device));
    expect(reveal.statusCode).toBe(403);
    expect(reveal.body).toContain('<code>forbidden</code>');
  });

  it('reveals a key: the key page in 8 numbered groups, no-store, its own script, audited with the staff member as caller; a replay is refused', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { page, _csrf, formToken } = await openForm(client, device);
    expect(page.body).toContain('<label for="key-id">Key ID');
    expect(page.body).toContain('<label for="requester">Requester');
    expect(page.body).toContain(`value="${requesterOf(device)}"`);
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
      caller: { kind: 'user', oid: discloser.oid, upn: discloser.upn, name: discloser.name, ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (KeyDesk test)' },
    });
    expect(keyPage.body).toContain(`<code class="audit-record-id">${record.id}</code>`);

    // Reload (the browser re-posts the same form): the password is not shown again.
    const replay = await client.post(`/devices/${device.deviceId}/reveal`, fields);
    expect(replay.statusCode).toBe(409);
    expect(replay.body).toContain('<code>form_already_used</code>');
    expect(harness.auditRecords().at(-1)!.id).toBe(record.id);

    const script = await client.get('/assets/key-page.js');
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toContain('password.remove()');
  });

  it('explains a refused reveal in words, keeps the form input, shows the code and audits it', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    const refused = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { keyId: '00000000', ticket: 'INC0099999' }), _csrf, formToken });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('the key ID does not match any key of this device — ask the caller to read it again'.replace(/^t/, 'T'));
    expect(refused.body).toContain('<code>key_id_mismatch</code>');
    expect(refused.body).toContain('value="INC0099999"');
    expect(refused.body).toContain('value="00000000"');
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'disclosure', outcome: 'refused', code: 'key_id_mismatch', caller: { oid: discloser.oid }, agentUpn: discloser.upn });
  });

  it('refuses a reveal without a valid CSRF token', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { formToken } = await openForm(client, device);
    const forged = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device), _csrf: 'forged', formToken });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('<code>forbidden</code>');
    expect(forged.body).toContain('did not come from a KeyDesk page');
  });

  it('sends a stale sign-in back through Entra and restores the form afterwards', async () => {
    await harness.close();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    harness = await keydesk();
    const { client, browser } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const { _csrf, formToken } = await openForm(client, device);
    vi.setSystemTime(Date.now() + 16 * 60_000);
    const reveal = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { ticket: 'SD-4242', comment: 'caller on the phone' }), _csrf, formToken });
    expect(reveal.statusCode).toBe(302);
    const authorize = new URL(reveal.headers.location as string);
    expect(authorize.searchParams.get('max_age')).toBe('900');
    const entra = await browser.signIn(reveal.headers.location as string, { upn: discloser.upn });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.headers.location).toBe(`/devices/${device.deviceId}`);
    const restored = await client.get(`/devices/${device.deviceId}`);
    expect(restored.body).toContain('value="SD-4242"');
    expect(restored.body).toContain('>caller on the phone</textarea>');
    expect(restored.body).toContain('<option value="forgotten_pin" selected>');
  });

  it('limits reveal attempts per staff member with a rate_limited page', async () => {
    const { client } = await signIn(discloser);
    const device = tenant.directory.notable.typical;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const { _csrf, formToken } = await openForm(client, device);
      const response = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(device, { keyId: '00000000' }), _csrf, formToken });
      statuses.push(response.statusCode);
      if (attempt === 5) {
        expect(response.body).toContain('<code>rate_limited</code>');
        expect(response.headers['content-type']).toMatch(/^text\/html/);
      }
    }
    expect(statuses).toEqual([422, 422, 422, 422, 422, 429]);
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
    expect(page.body.match(/<tr class="audit-record">/g)).toHaveLength(1);
    expect(page.body).toContain('INC0000001');
    expect(page.body).not.toContain('INC0000002');
    const granted = harness.auditRecords().find((r) => r.action === 'disclosure' && r.ticket === 'INC0000001')!;
    expect(page.body).toContain(`<code>${granted.id}</code>`);
  });
});
