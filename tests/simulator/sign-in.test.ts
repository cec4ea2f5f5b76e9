import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedBrowser } from '../../simulator/index.js';
import { claimsOf, startTestTenant, type TestTenant } from './tenant-kit.js';

const REDIRECT_URI = 'http://localhost:8080/auth/callback';
const STEP_UP = JSON.stringify({ id_token: { acrs: { essential: true, values: ['c1'] } } });

let sim: TestTenant;
let withoutAuthTime: TestTenant;
beforeAll(async () => {
  [sim, withoutAuthTime] = await Promise.all([startTestTenant(), startTestTenant({ authTimeClaim: false })]);
});
afterAll(async () => {
  await Promise.all([sim.close(), withoutAuthTime.close()]);
});

interface Pkce {
  verifier: string;
  challenge: string;
}

function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(t: TestTenant, extra: Record<string, string> = {}, challenge = pkce().challenge): string {
  const params = new URLSearchParams({
    client_id: t.tenant.keydeskApp.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile offline_access',
    response_mode: 'query',
    state: 'state-123',
    nonce: 'nonce-456',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${t.tenant.authorityHost}/${t.tenant.tenantId}/oauth2/v2.0/authorize?${params}`;
}

async function redeem(t: TestTenant, code: string, verifier: string, extra: Record<string, string> = {}) {
  const answer = await t.http(`${t.tenant.authorityHost}/${t.tenant.tenantId}/oauth2/v2.0/token`, {
    form: {
      grant_type: 'authorization_code',
      client_id: t.tenant.keydeskApp.clientId,
      client_secret: t.tenant.keydeskApp.clientSecret,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      scope: 'openid profile offline_access',
      ...extra,
    },
  });
  return { status: answer.status, body: answer.json<Record<string, string | number | number[]>>() };
}

function staff(t: TestTenant, role: string | null) {
  return t.tenant.staff.find((s) => (role === null ? s.roles.length === 0 : s.roles.length === 1 && s.roles[0] === role))!;
}

describe('staff sign-in (authorization code with PKCE)', () => {
  it('shows a persona picker that says SIMULATED TENANT and runs no script', async () => {
    const answer = await sim.http(authorizeUrl(sim));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.text).toContain('SIMULATED TENANT');
    expect(answer.text).not.toMatch(/<script/i);
    expect(answer.headers['content-security-policy']).not.toContain('script-src');
    for (const member of sim.tenant.staff) expect(answer.text).toContain(member.upn);
    expect(answer.text).toMatch(/<label for="persona-0">/);
  });

  it('redirects with a code and the state, and the code buys an ID token with the claims Entra sends and no amr', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const { verifier, challenge } = pkce();
    const disclose = staff(sim, 'BitLocker.Disclose');
    const signIn = await browser.signIn(authorizeUrl(sim, {}, challenge), { upn: disclose.upn });
    expect(signIn.silent).toBe(false);
    expect(signIn.response.status).toBe(302);
    expect(signIn.location?.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    expect(signIn.params.get('state')).toBe('state-123');
    const code = signIn.params.get('code')!;

    const { status, body } = await redeem(sim, code, verifier);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(typeof body.refresh_token).toBe('string');
    const id = claimsOf(String(body.id_token));
    expect(id).toMatchObject({
      iss: `${sim.tenant.authorityHost}/${sim.tenant.tenantId}/v2.0`,
      aud: sim.tenant.keydeskApp.clientId,
      tid: sim.tenant.tenantId,
      oid: disclose.oid,
      preferred_username: disclose.upn,
      name: disclose.name,
      nonce: 'nonce-456',
      roles: ['BitLocker.Disclose'],
      ver: '2.0',
    });
    expect(typeof id.sub).toBe('string');
    expect(id.sub).not.toBe(disclose.oid);
    expect(typeof id.auth_time).toBe('number');
    expect(id).not.toHaveProperty('amr');
    expect(id).not.toHaveProperty('acrs');
  });

  it('sends auth_time only when the app registration has that optional claim', async () => {
    const browser = new SimulatedBrowser(withoutAuthTime.tenant.caCertPath);
    const { verifier, challenge } = pkce();
    const signIn = await browser.signIn(authorizeUrl(withoutAuthTime, {}, challenge), { upn: staff(withoutAuthTime, 'BitLocker.Disclose').upn });
    const { body } = await redeem(withoutAuthTime, signIn.params.get('code')!, verifier);
    expect(claimsOf(String(body.id_token))).not.toHaveProperty('auth_time');
  });

  it('refuses a code with the wrong PKCE verifier, then redeems it once with the right one and never again', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const { verifier, challenge } = pkce();
    const code = (await browser.signIn(authorizeUrl(sim, {}, challenge), { upn: staff(sim, 'BitLocker.Lookup').upn })).params.get('code')!;

    const wrong = await redeem(sim, code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant', error_codes: [501481] });
    const otherRedirect = await redeem(sim, code, verifier, { redirect_uri: 'http://localhost:8080/elsewhere' });
    expect(otherRedirect.body).toMatchObject({ error: 'invalid_grant' });
    expect((await redeem(sim, code, verifier)).status).toBe(200);
    const again = await redeem(sim, code, verifier);
    expect(again.body).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('signs in silently while the SSO session lasts, and shows the picker again when max_age is exceeded', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const upn = staff(sim, 'BitLocker.Disclose').upn;
    const firstPkce = pkce();
    const first = await browser.signIn(authorizeUrl(sim, {}, firstPkce.challenge), { upn });
    expect(first.silent).toBe(false);
    const firstAuthTime = claimsOf(String((await redeem(sim, first.params.get('code')!, firstPkce.verifier)).body.id_token)).auth_time as number;

    const silentPkce = pkce();
    const again = await browser.signIn(authorizeUrl(sim, { max_age: '3600' }, silentPkce.challenge), { upn });
    expect(again.silent).toBe(true);
    const silentClaims = claimsOf(String((await redeem(sim, again.params.get('code')!, silentPkce.verifier)).body.id_token));
    expect(silentClaims.auth_time).toBe(firstAuthTime);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const freshPkce = pkce();
    const fresh = await browser.signIn(authorizeUrl(sim, { max_age: '0' }, freshPkce.challenge), { upn });
    expect(fresh.silent).toBe(false);
    expect(fresh.page).toContain('max_age');
    const freshClaims = claimsOf(String((await redeem(sim, fresh.params.get('code')!, freshPkce.verifier)).body.id_token));
    expect(freshClaims.auth_time).toBeGreaterThan(firstAuthTime);
  });

  it('answers prompt=none without a session with login_required', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const result = await browser.signIn(authorizeUrl(sim, { prompt: 'none' }), { upn: 'unused' });
    expect(result.params.get('error')).toBe('login_required');
    expect(result.params.get('error_description')).toMatch(/^AADSTS50058:/);
    expect(result.params.get('state')).toBe('state-123');
  });

  it('asks for step-up when a claims request names an authentication context, and the ID token then carries acrs', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const upn = staff(sim, 'BitLocker.Disclose').upn;
    await browser.signIn(authorizeUrl(sim), { upn });

    const { verifier, challenge } = pkce();
    const stepUp = await browser.signIn(authorizeUrl(sim, { claims: STEP_UP }, challenge), { upn });
    expect(stepUp.silent).toBe(false);
    expect(stepUp.page).toContain('Complete step-up (MFA)');
    const { body } = await redeem(sim, stepUp.params.get('code')!, verifier);
    expect(claimsOf(String(body.id_token)).acrs).toEqual(['c1']);

    // Once satisfied in this session, the context does not need the picker again.
    const { verifier: v2, challenge: c2 } = pkce();
    const silent = await browser.signIn(authorizeUrl(sim, { claims: STEP_UP }, c2), { upn });
    expect(silent.silent).toBe(true);
    expect(claimsOf(String((await redeem(sim, silent.params.get('code')!, v2)).body.id_token)).acrs).toEqual(['c1']);
  });

  it('refuses the sign-in with AADSTS53003 when step-up is not completed', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const result = await browser.signIn(authorizeUrl(sim, { claims: STEP_UP }), { upn: staff(sim, 'BitLocker.Disclose').upn, stepUp: false });
    expect(result.params.get('error')).toBe('access_denied');
    expect(result.params.get('error_description')).toMatch(/^AADSTS53003:/);
  });

  it('gives a user token for KeyDesk’s API with the delegated scope and the user’s roles', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const { verifier, challenge } = pkce();
    const scope = `openid profile offline_access ${sim.tenant.keydeskApp.appIdUri}/access_as_user`;
    const auditor = staff(sim, 'BitLocker.Audit');
    const code = (await browser.signIn(authorizeUrl(sim, { scope }, challenge), { upn: auditor.upn })).params.get('code')!;
    const { body } = await redeem(sim, code, verifier, { scope });
    expect(body.scope).toContain(`${sim.tenant.keydeskApp.appIdUri}/access_as_user`);
    expect(claimsOf(String(body.access_token))).toMatchObject({
      aud: sim.tenant.keydeskApp.appIdUri,
      scp: 'access_as_user',
      roles: ['BitLocker.Audit'],
      upn: auditor.upn,
      oid: auditor.oid,
      ver: '1.0',
    });
  });

  it('renews tokens with the refresh token, keeping auth_time and leaving out the nonce', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const { verifier, challenge } = pkce();
    const code = (await browser.signIn(authorizeUrl(sim, {}, challenge), { upn: staff(sim, null).upn })).params.get('code')!;
    const first = await redeem(sim, code, verifier);
    const renewed = await sim.http(`${sim.tenant.authorityHost}/${sim.tenant.tenantId}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'refresh_token',
        client_id: sim.tenant.keydeskApp.clientId,
        client_secret: sim.tenant.keydeskApp.clientSecret,
        refresh_token: String(first.body.refresh_token),
        scope: 'openid profile offline_access',
      },
    });
    expect(renewed.status).toBe(200);
    const id = claimsOf(renewed.json<{ id_token: string }>().id_token);
    expect(id.auth_time).toBe(claimsOf(String(first.body.id_token)).auth_time);
    expect(id).not.toHaveProperty('nonce');
    expect(id).not.toHaveProperty('roles');
  });

  it('refuses a redirect URI that is not registered with AADSTS50011, on its own page', async () => {
    const answer = await sim.http(authorizeUrl(sim, { redirect_uri: 'https://evil.example/callback' }));
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('AADSTS50011');
    expect(answer.headers.location).toBeUndefined();
  });

  it('ends the SSO session on logout and redirects to the post-logout URI', async () => {
    const browser = new SimulatedBrowser(sim.tenant.caCertPath);
    const upn = staff(sim, 'BitLocker.Disclose').upn;
    await browser.signIn(authorizeUrl(sim), { upn });
    const logout = await browser.fetch(
      `${sim.tenant.authorityHost}/${sim.tenant.tenantId}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent('http://localhost:8080/signed-out')}`,
    );
    expect(logout.status).toBe(302);
    expect(logout.headers.location).toBe('http://localhost:8080/signed-out');
    const after = await browser.signIn(authorizeUrl(sim), { upn });
    expect(after.silent).toBe(false);
  });
});
