import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimStaffMember } from '../../simulator/index.js';
import { screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';

/** Staff sign-in in a real browser: Chromium, the simulated tenant over HTTPS, a listening KeyDesk. */

describe.skipIf(skipBrowserTests)('staff sign-in in a real browser', () => {
  let kit: BrowserKit;
  let discloser: SimStaffMember;
  let withoutRole: SimStaffMember;

  beforeAll(async () => {
    kit = await startBrowserKit('browser-sign-in');
    discloser = kit.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    withoutRole = kit.tenant.staff.find((s) => s.roles.length === 0)!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  const lastAuditRecord = () => kit.auditRecords().at(-1);

  it('signs a Disclose persona in through the simulated sign-in page, shows their name, and the sign-out control ends the KeyDesk session', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage();
    await kit.signIn(page, discloser.upn, { screenshotSignInPage: 'simulated-sign-in' });

    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.locator('.staff-name').textContent()).resolves.toBe(discloser.name);
    await expect(page.locator('.staff-upn').textContent()).resolves.toBe(discloser.upn);
    await screenshot(page, 'landing');
    expect(consoleErrors).toEqual([]);
    expect(lastAuditRecord()).toMatchObject({ action: 'sign_in', outcome: 'granted', caller: { oid: discloser.oid, upn: discloser.upn, userAgent: expect.stringContaining('Chrome') } });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(lastAuditRecord, { timeout: 5_000 }).toMatchObject({ action: 'sign_out', outcome: 'granted', caller: { oid: discloser.oid } });
  });

  // Chromium applies CSP form-action to the redirect after a form post too: KeyDesk's policy must
  // allow Entra's logout endpoint, or the KeyDesk session ends but the Entra session does not.
  it('signs out through Entra to the signed-out page, and the next sign-in asks who signs in', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage();
    await kit.signIn(page, discloser.upn);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${kit.baseUrl}/auth/signed-out`, { timeout: 5_000 });
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('You signed out of KeyDesk');
    await screenshot(page, 'signed-out');

    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.waitForURL((url) => url.href.startsWith(kit.tenant.authorityHost));
    await expect(page.getByRole('heading', { name: /^Sign in to / }).isVisible()).resolves.toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it('refuses a persona without a KeyDesk role at the callback with a 403 page, records the refusal and starts no session', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage();
    expect(await kit.signIn(page, withoutRole.upn)).toBe(403);
    expect(new URL(page.url()).pathname).toBe('/auth/callback');

    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('You are signed in to Entra ID but not allowed to use KeyDesk');
    await expect(page.locator('main').textContent()).resolves.toContain(`You signed in to Entra ID as ${withoutRole.name} (${withoutRole.upn}), but you hold none of KeyDesk's app roles`);
    await expect(page.locator('main code').textContent()).resolves.toBe('forbidden');
    // No session: nobody to sign out, and KeyDesk's home page sends the browser to sign in again.
    await expect(page.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(0);
    await screenshot(page, 'not-allowed');
    expect(lastAuditRecord()).toMatchObject({ action: 'sign_in', outcome: 'refused', code: 'forbidden', caller: { oid: withoutRole.oid, upn: withoutRole.upn } });

    const home = await page.request.get('/', { maxRedirects: 0 });
    expect([home.status(), home.headers().location]).toEqual([302, '/auth/sign-in?returnTo=%2F']);
    expect(consoleErrors).toEqual([]);
  });
});
