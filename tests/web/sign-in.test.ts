import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

/**
 * Staff sign-in to the web UI against the simulated tenant over real HTTPS: KeyDesk through
 * app.inject, Entra's sign-in page through the SimulatedBrowser.
 */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';
const DEVICE = '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f';

describe('staff sign-in', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let clock: number;
  let discloser: SimStaffMember;
  let withoutRole: SimStaffMember;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    discloser = tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    withoutRole = tenant.staff.find((s) => s.roles.length === 0)!;
  });
  afterAll(async () => {
    await tenant.close();
  });

  const keydesk = (env: Record<string, string> = {}, options: { clock?: boolean } = {}) =>
    buildHarness('web', {
      env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, ...env },
      deps: options.clock === false ? {} : { now: () => clock },
    });

  beforeEach(async () => {
    tenant.clearLogs();
    clock = Date.now();
    harness = await keydesk();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await harness.close();
  });

  /** Visits `path` anonymously and signs in as `staff` through the simulated Entra. */
  async function signIn(staff: SimStaffMember, path = '/', client = new WebClient(harness), browser = new SimulatedBrowser(tenant.caCertPath)) {
    const visit = await client.get(path);
    expect(visit.statusCode).toBe(302);
    const toSignIn = await client.get(pathOf(visit.headers.location as string));
    expect(toSignIn.statusCode).toBe(302);
    const authorizeUrl = toSignIn.headers.location as string;
    const sessionBefore = client.cookies.get('keydesk_session');
    const entra = await browser.signIn(authorizeUrl, { upn: staff.upn });
    expect(entra.location).toMatch(new RegExp(`^${BASE_URL}/auth/callback\\?`));
    const callback = await client.get(pathOf(entra.location!));
    return { client, browser, visit, toSignIn, authorizeUrl, entra, callback, sessionBefore };
  }

  it('sends an anonymous visitor through Entra with PKCE, state, nonce and response_mode=query, then shows who is signed in', async () => {
    const { client, visit, authorizeUrl, callback, sessionBefore } = await signIn(discloser, '/');
    expect(visit.headers.location).toBe('/auth/sign-in?returnTo=%2F');

    const authorize = new URL(authorizeUrl);
    expect(authorize.origin + authorize.pathname).toBe(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/authorize`);
    const params = authorize.searchParams;
    expect(params.get('client_id')).toBe(tenant.keydeskApp.clientId);
    expect(params.get('redirect_uri')).toBe(`${BASE_URL}/auth/callback`);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('response_mode')).toBe('query');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('scope')!.split(' ').sort()).toEqual(['offline_access', 'openid', 'profile']);
    expect(params.has('max_age')).toBe(false);
    // MSAL 7 always sends a claims request (its default optional ID token claims); no step-up in it.
    expect(JSON.stringify(JSON.parse(params.get('claims') ?? '{}'))).not.toContain('acrs');

    expect(callback.statusCode).toBe(302);
    expect(callback.headers.location).toBe('/');
    // No server session exists before the sign-in completes: the pending sign-in was a cookie of its own.
    expect(sessionBefore).toBeUndefined();
    const pendingLine = client.setCookies.find((line) => line.startsWith('keydesk_sign_in='))!;
    expect(pendingLine).toMatch(/; Max-Age=600/i);
    expect(pendingLine).toMatch(/; Path=\/auth/i);
    expect(pendingLine).toMatch(/; HttpOnly/i);
    expect(pendingLine).toMatch(/; SameSite=Lax/i);
    expect(client.cookies.has('keydesk_sign_in')).toBe(false);
    expect(client.cookies.get('keydesk_session')).toBeDefined();
    const cookieLine = client.setCookies.filter((line) => line.startsWith('keydesk_session=')).at(-1)!;
    expect(cookieLine).toMatch(/^keydesk_session=/);
    expect(cookieLine).toMatch(/; HttpOnly/i);
    expect(cookieLine).toMatch(/; SameSite=Lax/i);
    expect(cookieLine).not.toMatch(/; Secure/i);

    const home = await client.get('/');
    expect(home.statusCode).toBe(200);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    expect(home.body).toContain(`<span class="staff-name">${discloser.name}</span>`);
    expect(home.body).toContain(`<span class="staff-upn">${discloser.upn}</span>`);
    expect(home.body).toMatch(/<form method="post" action="\/auth\/sign-out"><input type="hidden" name="_csrf" value="[^"]+">/);
    expect(home.body).not.toContain('<script');

    const record = harness.auditRecords().at(-1)!;
    expect(record).toMatchObject({
      action: 'sign_in',
      outcome: 'granted',
      code: null,
      caller: { kind: 'user', appId: tenant.keydeskApp.clientId, oid: discloser.oid, upn: discloser.upn, name: discloser.name, ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (KeyDesk test)' },
      details: { roles: discloser.roles, acrs: [], maxAge: null, authContext: null },
    });
    expect(record.details!.authTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('returns to the page asked for after sign-in, but never to another site', async () => {
    const cases: [string, string][] = [
      ['/?name=PC-1', '/?name=PC-1'],
      ['/my/disclosures', '/my/disclosures'],
      ...['//evil.example', 'https://evil.example', '/\\evil.example', '/auth/sign-out', '/./\\evil.example', '/x/..//evil.example', '/devices?name=PC-1'].map((r): [string, string] => [r, '/']),
    ];
    for (const [returnTo, expected] of cases) {
      const client = new WebClient(harness);
      const start = await client.get(`/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`);
      const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn });
      const callback = await client.get(pathOf(entra.location!));
      expect({ returnTo, location: callback.headers.location }).toEqual({ returnTo, location: expected });
    }
  });

  it('sets a Secure, __Host- prefixed cookie when PUBLIC_BASE_URL is https', async () => {
    await harness.close();
    harness = await keydesk({ PUBLIC_BASE_URL: 'https://localhost:8443', TRUST_PROXY_HOPS: '1' });
    const client = new WebClient(harness, { 'x-forwarded-proto': 'https' });
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    expect(new URL(start.headers.location as string).searchParams.get('redirect_uri')).toBe('https://localhost:8443/auth/callback');
    expect(client.setCookies.at(-1)).toMatch(/^__Secure-keydesk_sign_in=[^;]+; Max-Age=600; Path=\/auth; HttpOnly; Secure; SameSite=Lax$/i);
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn });
    await client.get(pathOf(entra.location!));
    expect(client.setCookies.find((line) => line.startsWith('__Host-keydesk_session='))).toMatch(/^__Host-keydesk_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/i);
  });

  it('refuses an answer from Entra whose state is not the one this browser sent, logging it but writing no audit record', async () => {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn });
    const forged = new URL(entra.location!);
    forged.searchParams.set('state', 'forged-state-forged-state-forged-state-forg');
    const callback = await client.get(pathOf(forged.toString()));
    expect(callback.statusCode).toBe(400);
    expect(callback.body).toContain('<code>sign_in_state_mismatch</code>');
    expect(harness.auditRecords()).toEqual([]);
    expect(harness.logLines().filter((line) => line.msg === 'sign-in not completed')).toEqual([expect.objectContaining({ code: 'sign_in_state_mismatch' })]);
    expect(tenant.tokenRequests.filter((r) => r.grantType === 'authorization_code')).toHaveLength(0);

    // The attempt is used up: the genuine answer, arriving afterwards, is refused too.
    expect((await client.get(pathOf(entra.location!))).statusCode).toBe(400);
    expect((await client.get('/')).statusCode).toBe(302);
  });

  it('writes nothing and keeps nothing for a loop of anonymous sign-ins and bad callbacks: one log line a minute per address', async () => {
    // Without the sign-in rate limit, to show what the loop costs when nothing stops it.
    await harness.close();
    harness = await keydesk({ RATE_LIMIT_SIGN_INS_PER_MINUTE: '0' });
    const client = new WebClient(harness);
    for (let i = 0; i < 20; i++) {
      expect((await client.get('/auth/sign-in?returnTo=%2F')).statusCode).toBe(302);
      expect((await client.get(`/auth/callback?code=abc&state=wrong-${i}`)).statusCode).toBe(400);
      expect((await client.get('/auth/callback?error=access_denied&error_description=AADSTS65004')).statusCode).toBe(400);
    }
    expect(harness.auditRecords()).toEqual([]);
    expect(client.setCookies.some((line) => line.startsWith('keydesk_session='))).toBe(false);
    expect(harness.logLines().filter((line) => line.msg === 'sign-in not completed')).toHaveLength(1);
    clock += 61_000;
    await client.get('/auth/callback?code=abc&state=def');
    expect(harness.logLines().filter((line) => line.msg === 'sign-in not completed')).toHaveLength(2);
  });

  it('never logs the callback query: code, state and Entra\'s error description', async () => {
    await new WebClient(harness).get('/auth/callback?code=SECRET-CODE-1&state=STATE-2&error=x&error_description=AADSTS-DETAIL-3');
    expect(JSON.stringify(harness.logLines())).not.toMatch(/SECRET-CODE-1|STATE-2|AADSTS-DETAIL-3/);
  });

  it('refuses a pending sign-in cookie that was tampered with or is older than 10 minutes', async () => {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const sealed = client.cookies.get('keydesk_sign_in')!;
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('returnTo');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn });
    const tampered = new WebClient(harness);
    tampered.cookies.set('keydesk_sign_in', `${sealed.slice(0, -4)}AAAA`);
    expect((await tampered.get(pathOf(entra.location!))).body).toContain('sign_in_state_mismatch');
    clock += 10 * 60_000 + 1_000;
    const late = await client.get(pathOf(entra.location!));
    expect(late.statusCode).toBe(400);
    expect(late.body).toContain('sign_in_state_mismatch');
    expect(harness.auditRecords()).toEqual([]);
  });

  it('does not audit a sign-in Entra refused before any ID token (an error in the callback): it is a log line', async () => {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn, cancel: true });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.statusCode).toBe(401);
    expect(callback.body).toContain('sign_in_refused_by_entra');
    expect(harness.auditRecords()).toEqual([]);
  });

  it('refuses, and audits, the sign-in of a staff member without a KeyDesk role: no session, a page saying why', async () => {
    const { client, callback } = await signIn(withoutRole);
    expect(callback.statusCode).toBe(403);
    expect(callback.headers['content-type']).toMatch(/^text\/html/);
    expect(callback.body).toContain(`You signed in to Entra ID as ${withoutRole.name} (${withoutRole.upn}), but you hold none of KeyDesk`);
    expect(callback.body).toContain('<code>forbidden</code>');
    expect(client.cookies.has('keydesk_session')).toBe(false);
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'forbidden', caller: { oid: withoutRole.oid }, details: { roles: [] } });
    expect((await client.get('/')).statusCode).toBe(302);
  });

  it('limits sign-in traffic per client address (RATE_LIMIT_SIGN_INS_PER_MINUTE), with an HTML page', async () => {
    await harness.close();
    harness = await keydesk({ RATE_LIMIT_SIGN_INS_PER_MINUTE: '3' });
    const client = new WebClient(harness);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await client.get('/auth/sign-in?returnTo=%2F'));
    expect(statuses.map((r) => r.statusCode)).toEqual([302, 302, 302, 429]);
    expect(statuses[3]!.headers['content-type']).toMatch(/^text\/html/);
    expect(statuses[3]!.body).toContain('<code>rate_limited</code>');
    expect(statuses[3]!.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('ends a session left idle longer than SESSION_IDLE_MINUTES', async () => {
    const { client } = await signIn(discloser);
    clock += 14 * 60_000;
    expect((await client.get('/')).statusCode).toBe(200);
    clock += 15 * 60_000 + 1;
    const after = await client.get('/');
    expect(after.statusCode).toBe(302);
    expect(after.headers.location).toBe('/auth/sign-in?returnTo=%2F');
  });

  it('ends a session older than SESSION_MAX_HOURS however active it is', async () => {
    await harness.close();
    harness = await keydesk({ SESSION_MAX_HOURS: '1' });
    const { client } = await signIn(discloser);
    for (let minutes = 10; minutes <= 60; minutes += 10) {
      clock += 10 * 60_000;
      expect((await client.get('/')).statusCode).toBe(200);
    }
    clock += 60_000;
    expect((await client.get('/')).statusCode).toBe(302);
  });

  it('signs out: destroys the session, audits the sign-out and ends the Entra session', async () => {
    const { client, browser } = await signIn(discloser);
    // Without the form's CSRF token the sign-out is refused and the session lives on.
    const forged = await client.post('/auth/sign-out');
    expect(forged.statusCode).toBe(403);
    expect((await client.get('/')).statusCode).toBe(200);
    const home = await client.get('/');
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
    const signOut = await client.post('/auth/sign-out', { _csrf });
    expect(signOut.statusCode).toBe(303);
    const logout = new URL(signOut.headers.location as string);
    expect(logout.origin + logout.pathname).toBe(`${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/logout`);
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${BASE_URL}/auth/signed-out`);
    expect(client.cookies.has('keydesk_session')).toBe(false);
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_out', outcome: 'granted', caller: { oid: discloser.oid, upn: discloser.upn } });

    // The old session id no longer signs anybody in.
    const replay = new WebClient(harness);
    replay.cookies.set('keydesk_session', client.setCookies.find((l) => l.startsWith('keydesk_session=') && !/expires=Thu, 01 Jan 1970/i.test(l))!.split(';')[0]!.slice('keydesk_session='.length));
    expect((await replay.get('/')).statusCode).toBe(302);

    // Entra ends its session and returns to KeyDesk; the next sign-in shows the sign-in page again.
    const entraLogout = await browser.fetch(signOut.headers.location as string);
    expect(entraLogout.headers.location).toBe(`${BASE_URL}/auth/signed-out`);
    expect((await client.get('/auth/signed-out')).body).toContain('You signed out of KeyDesk');
    const again = await client.get('/auth/sign-in?returnTo=%2F');
    expect((await browser.signIn(again.headers.location as string, { upn: discloser.upn })).silent).toBe(false);
  });

  it('keeps the API working without cookies or sessions', async () => {
    await signIn(discloser);
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Lookup'))!;
    const token = await tenant.issueAppToken(app.clientId);
    const device = tenant.directory.notable.typical;
    const response = await harness.inject({ method: 'GET', url: `/api/v1/devices?name=${encodeURIComponent(device.displayName)}`, headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    const health = await harness.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['set-cookie']).toBeUndefined();
  });

  it('logs a start-up warning that the in-memory session store suits one instance only', () => {
    expect(harness.logLines().some((line) => line.level === 'warn' && String(line.msg).includes('one KeyDesk instance only'))).toBe(true);
  });

  describe('a fresh sign-in for revealing a key', () => {
    it('sends a sign-in older than REAUTH_MAX_AGE back through Entra with max_age, and takes the fresh one', async () => {
      await harness.close();
      // Entra (the simulator) and KeyDesk read the same clock here, so both see the sign-in age.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      harness = await keydesk({ SESSION_IDLE_MINUTES: '60' }, { clock: false });
      const { client, browser } = await signIn(discloser);
      const firstAuthTime = harness.auditRecords().at(-1)!.details!.authTime as string;
      vi.setSystemTime(Date.now() + 16 * 60_000);

      const confirm = await client.get(`/auth/sign-in?returnTo=${encodeURIComponent(`/devices/${DEVICE}`)}&reason=reauthenticate`);
      expect(confirm.statusCode).toBe(302);
      const params = new URL(confirm.headers.location as string).searchParams;
      expect(params.get('max_age')).toBe('900');
      expect(params.get('login_hint')).toBe(discloser.upn);
      expect(params.get('claims') ?? '').not.toContain('acrs');

      const entra = await browser.signIn(confirm.headers.location as string, { upn: discloser.upn });
      expect(entra.silent).toBe(false);
      expect(entra.page).toContain('max_age');
      const callback = await client.get(pathOf(entra.location!));
      expect(callback.headers.location).toBe(`/devices/${DEVICE}`);
      const record = harness.auditRecords().at(-1)!;
      expect(record).toMatchObject({ action: 'sign_in', outcome: 'granted', details: { maxAge: 900 } });
      expect(Date.parse(record.details!.authTime as string) - Date.parse(firstAuthTime)).toBeGreaterThanOrEqual(16 * 60_000 - 1000);
    });

    it('refuses a re-authentication Entra answers with a stale sign-in', async () => {
      await harness.close();
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      harness = await keydesk({ SESSION_IDLE_MINUTES: '60' }, { clock: false });
      const { client, browser } = await signIn(discloser);
      vi.setSystemTime(Date.now() + 8 * 60_000);
      const confirm = await client.get('/auth/sign-in?returnTo=%2F&reason=reauthenticate');
      // Younger than max_age for Entra, which answers without a new sign-in; by the time the
      // answer arrives (a slow browser, a skewed clock) it is too old for KeyDesk.
      const entra = await browser.signIn(confirm.headers.location as string, { upn: discloser.upn });
      expect(entra.silent).toBe(true);
      vi.setSystemTime(Date.now() + 9 * 60_000);
      const callback = await client.get(pathOf(entra.location!));
      expect(callback.statusCode).toBe(401);
      expect(callback.body).toContain('sign_in_not_fresh');
      expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'sign_in_not_fresh', caller: { oid: discloser.oid } });
      // Still signed in as before.
      expect((await client.get('/')).statusCode).toBe(200);
    });

    it('steps up through Conditional Access with the REQUIRE_AUTH_CONTEXT claims request, and the ID token then carries acrs', async () => {
      await harness.close();
      harness = await keydesk({ REQUIRE_AUTH_CONTEXT: 'c1' });
      const { client, browser } = await signIn(discloser);
      expect(harness.auditRecords().at(-1)!.details).toMatchObject({ acrs: [] });

      const stepUp = await client.get('/auth/sign-in?returnTo=%2F&reason=step_up');
      const params = new URL(stepUp.headers.location as string).searchParams;
      expect(JSON.parse(params.get('claims')!)).toMatchObject({ id_token: { acrs: { essential: true, value: 'c1' } }, access_token: { acrs: { essential: true, value: 'c1' } } });
      expect(params.has('max_age')).toBe(false);
      const entra = await browser.signIn(stepUp.headers.location as string, { upn: discloser.upn });
      expect(entra.page).toContain('name="stepUp"');
      await client.get(pathOf(entra.location!));
      expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'granted', details: { acrs: ['c1'], authContext: 'c1' } });
    });

    it('refuses a step-up Entra answers without the authentication context', async () => {
      await harness.close();
      harness = await keydesk({ REQUIRE_AUTH_CONTEXT: 'c1' });
      const { client, browser } = await signIn(discloser);
      const stepUp = await client.get('/auth/sign-in?returnTo=%2F&reason=step_up');
      // An answer to a request without the claims request (what a misconfigured policy gives).
      const start = new URL(stepUp.headers.location as string);
      start.searchParams.delete('claims');
      const entra = await browser.signIn(start.toString(), { upn: discloser.upn });
      const callback = await client.get(pathOf(entra.location!));
      expect(callback.statusCode).toBe(403);
      expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'step_up_not_satisfied' });
    });
  });
});
