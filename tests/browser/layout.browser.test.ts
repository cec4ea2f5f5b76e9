import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SimStaffMember } from '../../simulator/index.js';
import { horizontalOverflow, screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';
import { fillDisclosureForm, keyIdOnScreen, misreadKeyId, submitDisclosure } from './disclosure-form.js';

/**
 * Every page of the web UI on a phone (390 × 844, touch), and the result tables on a laptop
 * (1280 px) and a tablet on its side (1024 px, the narrowest screen that gets tables rather than
 * cards): nothing is wider than the screen, so nobody scrolls sideways to read a row. Each page is
 * saved in test-artifacts/screenshots/ (phone-<page>.png, …) to be looked at.
 */

describe.skipIf(skipBrowserTests)('the web UI fits the screen', () => {
  let kit: BrowserKit;
  let discloser: SimStaffMember;
  let auditor: SimStaffMember;
  let withoutRole: SimStaffMember;

  beforeAll(async () => {
    // Two reveal attempts a minute, so the third shows the rate-limited page.
    kit = await startBrowserKit('browser-layout', { env: { RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '2' } });
    discloser = kit.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    auditor = kit.tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Audit')!;
    withoutRole = kit.tenant.staff.find((s) => s.roles.length === 0)!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  /** Saves the page and returns what sticks out past the screen's right edge, if anything. */
  async function fits(page: Page, name: string) {
    await screenshot(page, name);
    const { scrollWidth, innerWidth, clientWidth, beyond } = await horizontalOverflow(page);
    return { page: name, sidewaysScroll: scrollWidth > innerWidth, viewport: Math.max(innerWidth, clientWidth), beyond };
  }
  const fitted = (name: string, width: number) => ({ page: name, sidewaysScroll: false, viewport: width, beyond: [] });

  it('shows a Disclose agent every page of a disclosure on a phone without sideways scrolling, dates on one line', { timeout: 90_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    const { directory } = kit.tenant;
    const device = directory.notable.typical;
    const key = directory.keysOf(device.deviceId)[0]!;
    const requester = directory.primaryUser(device)!.userPrincipalName;
    const form = { keyId: keyIdOnScreen(key), requester, ticket: 'INC0031337', comment: 'Caller at the recovery screen, reading from the phone' };
    const pages: Awaited<ReturnType<typeof fits>>[] = [];
    const check = async (name: string) => pages.push(await fits(page, `phone-${name}`));

    expect(await kit.signIn(page, discloser.upn)).toBe(302);
    await check('home');

    await page.getByLabel('Device name').fill(directory.notable.sharedName.displayName);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#duplicate-notice').waitFor();
    await check('search-duplicates');
    // A row is a card: every value under its column's name.
    await expect(page.evaluate<string>(`getComputedStyle(document.querySelector('table.results tbody td.date'), '::before').content`)).resolves.toBe('"Last sign-in"');

    const prefix = directory.devices[0]!.displayName.slice(0, 4);
    await page.goto(`/?name=${encodeURIComponent(prefix)}&match=prefix`);
    await check('search-prefix');
    // Each date on one line: its text lies in one line box.
    const dateLines = await page.evaluate<number[]>(`[...document.querySelectorAll('td.date')].map((td) => {
      const text = document.createRange();
      text.selectNodeContents(td);
      return text.getClientRects().length;
    })`);
    expect(dateLines.length).toBeGreaterThan(10);
    expect(dateLines.every((lines) => lines === 1)).toBe(true);

    await page.goto(`/devices/${directory.notable.withoutKeys.deviceId}`);
    await check('device-without-keys');

    await page.goto(`/devices/${device.deviceId}`);
    await check('device');
    // The requester field is wide enough to show the whole UPN typed into it.
    await page.locator('#requester').fill(requester);
    await expect(page.evaluate<boolean>(`(() => { const input = document.getElementById('requester'); return input.scrollWidth <= input.clientWidth; })()`)).resolves.toBe(true);

    await fillDisclosureForm(page, { ...form, keyId: misreadKeyId(directory, key) });
    expect(await submitDisclosure(page)).toBe(422);
    await page.getByRole('alert').waitFor();
    await check('refused');

    await fillDisclosureForm(page, form);
    expect(await submitDisclosure(page)).toBe(200);
    await check('key-page');
    await page.getByRole('button', { name: 'Read aloud' }).click();
    await check('key-page-read-aloud');
    await screenshot(page, 'phone-key-page-masked', { mask: [page.locator('#recovery-password .group'), page.locator('#recovery-password .group-words')] });

    await page.goto(`/devices/${device.deviceId}`);
    await fillDisclosureForm(page, form);
    expect(await submitDisclosure(page)).toBe(429);
    await check('rate-limited');

    await page.getByRole('link', { name: 'My disclosures' }).click();
    await page.locator('tr.audit-record').first().waitFor();
    await check('my-disclosures');

    await page.goto('/no/such/page');
    await check('not-found');

    // The 404 page lies outside the web UI's routes, so it has no session and no sign-out button.
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${kit.baseUrl}/auth/signed-out`);
    await check('signed-out');

    expect(pages).toEqual(pages.map((p) => fitted(p.page, 390)));
    expect(consoleErrors).toEqual([]);
  });

  it('shows a BitLocker.Audit staff member their home page and the refused device page on a phone without sideways scrolling', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    expect(await kit.signIn(page, auditor.upn)).toBe(302);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('KeyDesk');
    const home = await fits(page, 'phone-audit-only-home');
    const refused = await page.goto(`/devices/${kit.tenant.directory.notable.typical.deviceId}`);
    expect(refused?.status()).toBe(403);
    const forbidden = await fits(page, 'phone-forbidden');
    expect([home, forbidden]).toEqual([fitted('phone-audit-only-home', 390), fitted('phone-forbidden', 390)]);
    expect(consoleErrors).toEqual([]);
  });

  it('shows a persona without a KeyDesk role the refused sign-in page on a phone without sideways scrolling', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    expect(await kit.signIn(page, withoutRole.upn)).toBe(403);
    await expect(page.locator('main code').textContent()).resolves.toBe('forbidden');
    expect(await fits(page, 'phone-sign-in-refused')).toEqual(fitted('phone-sign-in-refused', 390));
    expect(consoleErrors).toEqual([]);
  });

  for (const [viewport, width] of [['desktop', 1280], ['tablet', 1024]] as const) {
    it(`fits long lists of search results and My disclosures into a ${width} px window, as columns`, { timeout: 60_000 }, async () => {
      const { page, consoleErrors } = await kit.newPage({ viewport });
      const { directory } = kit.tenant;
      expect(await kit.signIn(page, discloser.upn)).toBe(302);
      // Every name prefix of the directory ("LAPT", "CONT", …): the widest lists it has, and the duplicates.
      const prefixes = [...new Set(directory.devices.map((d) => d.displayName.slice(0, 4)))];
      const searches = [...prefixes.map((prefix) => `/?name=${encodeURIComponent(prefix)}&match=prefix`), `/?name=${encodeURIComponent(directory.notable.sharedName.displayName)}`];
      const pages = [];
      for (const [index, search] of searches.entries()) {
        await page.goto(search);
        await page.locator('table.results').waitFor();
        pages.push(await fits(page, `${viewport}-search-${index + 1}`));
      }
      // Columns on a wide screen, not cards.
      await expect(page.evaluate<string>(`getComputedStyle(document.querySelector('table.results')).display`)).resolves.toBe('table');

      // An attempt of its own (refused, or over the reveal limit), so My disclosures has rows.
      const device = directory.notable.typical;
      const key = directory.keysOf(device.deviceId)[0]!;
      await page.goto(`/devices/${device.deviceId}`);
      await fillDisclosureForm(page, { keyId: misreadKeyId(directory, key), requester: directory.primaryUser(device)!.userPrincipalName, ticket: 'INC0042424' });
      expect([422, 429]).toContain(await submitDisclosure(page));
      await page.goto('/my/disclosures');
      await page.locator('tr.audit-record').first().waitFor();
      pages.push(await fits(page, `${viewport}-my-disclosures`));

      expect(pages).toEqual(pages.map((p) => fitted(p.page, width)));
      expect(consoleErrors).toEqual([]);
    });
  }
});
