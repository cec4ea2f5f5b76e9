import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SimStaffMember } from '../../simulator/index.js';
import { horizontalOverflow, screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';
import { keyIdOnScreen, misreadKeyId } from './disclosure-form.js';

/**
 * An employee locked out of their laptop recovers it from a phone (390 × 844, touch) in Chromium:
 * sign-in, their devices, the form, a misread key ID, the key, and the daily limit; no page scrolls
 * sideways. Screenshots: test-artifacts/screenshots/self-service-*.png (the README shows some).
 */

describe.skipIf(skipBrowserTests)('self-service on a phone', () => {
  let kit: BrowserKit;
  let employee: SimStaffMember;

  beforeAll(async () => {
    kit = await startBrowserKit('browser-self-service', {
      env: { SELF_SERVICE: 'on', SELF_SERVICE_DISCLOSURES_PER_DAY: '1', SELF_SERVICE_HELP_CONTACT: 'the IT Service Desk on +44 20 7946 0000' },
    });
    employee = kit.tenant.employees.find((e) => e.name.endsWith('Müller'))!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  async function fits(page: Page, name: string, mask = false) {
    await screenshot(page, `self-service-${name}`, mask ? { mask: [page.locator('.recovery-password .group')] } : {});
    const { scrollWidth, innerWidth, clientWidth, beyond } = await horizontalOverflow(page);
    return { page: name, sidewaysScroll: scrollWidth > innerWidth, viewport: Math.max(innerWidth, clientWidth), beyond };
  }

  it('walks an employee with no KeyDesk role from sign-in to their key, and to whom to call, without sideways scrolling', { timeout: 90_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    const { directory } = kit.tenant;
    const device = directory.devices.find((d) => d.ownerIds.includes(employee.oid) && directory.keysOf(d.deviceId).length > 0)!;
    const key = directory.keysOf(device.deviceId)[0]!;
    const pages: Awaited<ReturnType<typeof fits>>[] = [];

    expect(await kit.signIn(page, employee.upn, { path: '/' })).toBe(302);
    expect(new URL(page.url()).pathname).toBe('/self-service/');
    pages.push(await fits(page, '1-devices'));

    await page.getByRole('link', { name: new RegExp(device.displayName) }).click();
    await page.getByLabel(/^Recovery key ID/).waitFor();
    pages.push(await fits(page, '2-form'));

    await page.getByLabel(/^Recovery key ID/).fill(misreadKeyId(directory, key));
    await page.getByLabel(/^What happened/).selectOption('forgotten_pin');
    await page.getByRole('button', { name: 'Show my recovery key' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.locator('.refusal code').first().textContent()).resolves.toBe('key_id_mismatch');
    pages.push(await fits(page, '3-refused'));

    await page.getByLabel(/^Recovery key ID/).fill(keyIdOnScreen(key));
    await page.getByLabel(/^What happened/).selectOption('forgotten_pin');
    await page.getByRole('button', { name: 'Show my recovery key' }).click();
    await page.locator('#recovery-password').waitFor();
    const shown = await page.locator('.recovery-password .group').allTextContents();
    expect(shown.join('-')).toBe(key.key);
    await page.getByRole('button', { name: 'Read aloud' }).waitFor();
    pages.push(await fits(page, '4-key-masked', true));

    await page.goto(`/self-service/devices/${device.deviceId}`);
    await page.getByLabel(/^Recovery key ID/).fill(keyIdOnScreen(key));
    await page.getByLabel(/^What happened/).selectOption('forgotten_pin');
    await page.getByRole('button', { name: 'Show my recovery key' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.locator('.refusal').textContent()).resolves.toContain('Call the IT Service Desk on +44 20 7946 0000');
    pages.push(await fits(page, '5-limit'));

    expect(pages.filter((p) => p.sidewaysScroll || p.beyond.length > 0)).toEqual([]);
    expect(pages.every((p) => p.viewport === 390)).toBe(true);
    expect(consoleErrors).toEqual([]);
    const doors = kit.auditRecords().filter((r) => r.action === 'disclosure').map((r) => [r.door, r.outcome, r.code]);
    expect(doors).toEqual([
      ['self_service', 'refused', 'key_id_mismatch'],
      ['self_service', 'granted', null],
      ['self_service', 'refused', 'self_service_limit_reached'],
    ]);
  });
});
