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
    // The session id changes at sign-in.
    expect(sessionBefore).toBeDefined();
    expect(client.cookies.get('keydesk_session')).toBeDefined();
    expect(client.cookies.get('keydesk_session')).not.toBe(sessionBefore);
    const cookieLine = client.setCookies.at(-1)!;
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
      ['/devices?name=PC-1', '/devices?name=PC-1'],
      ...['//evil.example', 'https://evil.example', '/\\evil.example', '/auth/sign-out'].map((r): [string, string] => [r, '/']),
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
    expect(client.setCookies.at(-1)).toMatch(/^__Host-keydesk_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/i);
  });

  it('refuses an answer from Entra whose state is not the one this browser sent, and audits the refusal', async () => {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn });
    const forged = new URL(entra.location!);
    forged.searchParams.set('state', 'forged-state-forged-state-forged-state-forg');
    const callback = await client.get(pathOf(forged.toString()));
    expect(callback.statusCode).toBe(400);
    expect(callback.body).toContain('<code>sign_in_state_mismatch</code>');
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'sign_in_state_mismatch', caller: { oid: null, ip: '127.0.0.1' } });
    expect(tenant.tokenRequests.filter((r) => r.grantType === 'authorization_code')).toHaveLength(0);

    // The attempt is used up: the genuine answer, arriving afterwards, is refused too.
    expect((await client.get(pathOf(entra.location!))).statusCode).toBe(400);
    expect((await client.get('/')).statusCode).toBe(302);
  });

  it('does not audit a callback no sign-in in this browser started', async () => {
    const stray = await new WebClient(harness).get('/auth/callback?code=abc&state=def');
    expect(stray.statusCode).toBe(400);
    expect(stray.body).toContain('sign_in_state_mismatch');
    expect(harness.auditRecords()).toHaveLength(0);
  });

  it('audits a sign-in Entra refused, with its error and AADSTS code', async () => {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: discloser.upn, cancel: true });
    const callback = await client.get(pathOf(entra.location!));
    expect(callback.statusCode).toBe(401);
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'sign_in_refused_by_entra', details: { entraError: 'access_denied', aadsts: 'AADSTS65004' } });
  });

  it('shows a staff member without a KeyDesk role that they are signed in but not allowed', async () => {
    const { client, callback } = await signIn(withoutRole);
    expect(callback.statusCode).toBe(302);
    const home = await client.get('/');
    expect(home.statusCode).toBe(403);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    expect(home.body).toContain(`You are signed in as ${withoutRole.name} (${withoutRole.upn}) but not allowed to use KeyDesk`);
    expect(home.body).toContain('<code>forbidden</code>');
    expect(home.body).toContain('action="/auth/sign-out"');
    expect(harness.auditRecords().at(-1)).toMatchObject({ action: 'sign_in', outcome: 'granted', details: { roles: [] } });
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

      const confirm = await client.get('/auth/sign-in?returnTo=%2Fdevices%2Fx%2Freveal&reason=reauthenticate');
      expect(confirm.statusCode).toBe(302);
      const params = new URL(confirm.headers.location as string).searchParams;
      expect(params.get('max_age')).toBe('900');
      expect(params.get('login_hint')).toBe(discloser.upn);
      expect(params.get('claims') ?? '').not.toContain('acrs');

      const entra = await browser.signIn(confirm.headers.location as string, { upn: discloser.upn });
      expect(entra.silent).toBe(false);
      expect(entra.page).toContain('max_age');
      const callback = await client.get(pathOf(entra.location!));
      expect(callback.headers.location).toBe('/devices/x/reveal');
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
