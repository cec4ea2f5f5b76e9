import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice, SimRecoveryKey, SimStaffMember } from '../../simulator/index.js';
import { screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';

/**
 * A helpdesk agent's whole disclosure in a real browser: sign in, find the device, a refused
 * attempt (wrong key ID), a granted one (key shown, copied, removed after KEY_DISPLAY_SECONDS),
 * "My disclosures", sign out. Never prints the recovery password: comparisons are booleans.
 */

/** The allowed minimum (src/config/config.ts), so the removal is waited for in seconds, not a minute. */
const KEY_DISPLAY_SECONDS = 10;

describe.skipIf(skipBrowserTests)('a disclosure in a real browser', () => {
  let kit: BrowserKit;
  let agent: SimStaffMember;
  let device: SimDevice;
  let key: SimRecoveryKey;

  beforeAll(async () => {
    kit = await startBrowserKit('browser-disclosure', { env: { KEY_DISPLAY_SECONDS: String(KEY_DISPLAY_SECONDS) } });
    agent = kit.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    device = kit.tenant.directory.notable.typical;
    key = kit.tenant.directory.keysOf(device.deviceId)[0]!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  it('signs in, searches, is refused for a wrong key ID, reveals, copies, sees the password removed, lists both attempts and signs out', { timeout: 60_000 }, async () => {
    const { context, page, consoleErrors } = await kit.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kit.baseUrl });
    const ticket = `INC${Date.now().toString().slice(-7)}`;
    const keyIdPrefix = key.id.slice(0, 8).toUpperCase();
    // Differs from every key of the device in its first character.
    const wrongKeyId = [...'0123456789ABCDEF'].map((c) => c + keyIdPrefix.slice(1)).find((candidate) => !kit.tenant.directory.keysOf(device.deviceId).some((k) => k.id.toUpperCase().startsWith(candidate)))!;
    // By label; anchored, since the hints name other fields ("Required when the reason is …").
    const field = (label: string) => page.getByLabel(new RegExp(`^${label}\\b`));
    const showsPassword = async () => (await page.content()).includes(key.key);

    // Sign in and find the device by name.
    await kit.signIn(page, agent.upn);
    await page.getByLabel('Device name').fill(device.displayName);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('table').waitFor();
    await expect(page.locator('caption').textContent()).resolves.toBe('1 device found');
    await screenshot(page, 'walkthrough-1-search');

    await page.getByRole('link', { name: device.displayName }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(device.displayName);
    await expect(page.locator('code.key-id').allTextContents()).resolves.toContain(keyIdPrefix);
    // The requester is prefilled with the Intune primary user.
    const requester = await field('Requester').inputValue();
    expect(requester).toBe(kit.tenant.directory.primaryUser(device)!.userPrincipalName);
    await screenshot(page, 'walkthrough-2-device');

    // A wrong key ID: refused, explained, the form kept.
    await field('Key ID').fill(wrongKeyId);
    await field('Ticket').fill(ticket);
    await field('Reason').selectOption({ label: 'The user forgot their BitLocker PIN' });
    await field('Comment').fill('Caller at the recovery screen');
    await page.getByRole('button', { name: 'Reveal the recovery password' }).click();
    const refusal = page.getByRole('alert');
    await expect(refusal.textContent()).resolves.toContain('The key ID does not match any key of this device');
    await expect(refusal.locator('code').textContent()).resolves.toBe('key_id_mismatch');
    await expect(field('Key ID').inputValue()).resolves.toBe(wrongKeyId);
    await expect(field('Ticket').inputValue()).resolves.toBe(ticket);
    await expect(field('Reason').inputValue()).resolves.toBe('forgotten_pin');
    expect(await showsPassword()).toBe(false);
    await screenshot(page, 'walkthrough-3-refused');

    // The right key ID: the key page.
    await field('Key ID').fill(keyIdPrefix);
    await page.getByRole('button', { name: 'Reveal the recovery password' }).click();
    const password = page.locator('#recovery-password');
    await password.waitFor();
    const groups = await password.locator('.group').allTextContents();
    expect(groups).toHaveLength(8);
    expect(groups.join('-') === key.key).toBe(true);
    await expect(password.locator('.group-number').allTextContents()).resolves.toEqual(['Group 1', 'Group 2', 'Group 3', 'Group 4', 'Group 5', 'Group 6', 'Group 7', 'Group 8']);
    await screenshot(page, 'key-page');
    await screenshot(page, 'walkthrough-4-key-page-masked', { mask: [password.locator('.group')] });

    const copy = page.locator('#copy-password');
    await expect(copy.textContent()).resolves.toBe('Copy the recovery password');
    await copy.click();
    // The page's own confirmation, once navigator.clipboard.writeText resolved.
    await expect.poll(() => copy.textContent(), { timeout: 5_000 }).toBe('Copied');
    // A string expression: the tests compile without the DOM lib.
    const clipboard = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(clipboard === key.key).toBe(true);

    // Removed after KEY_DISPLAY_SECONDS (bounded: the step timeout is 15 s).
    await password.waitFor({ state: 'detached', timeout: (KEY_DISPLAY_SECONDS + 5) * 1000 });
    await expect(page.getByRole('status').textContent()).resolves.toContain('The recovery password has been removed from this page');
    expect(await showsPassword()).toBe(false);
    await expect(copy.count()).resolves.toBe(0);
    await screenshot(page, 'walkthrough-5-key-removed');

    // A reload re-posts a used form: not shown again.
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(409);
    await expect(page.locator('main code').textContent()).resolves.toBe('form_already_used');
    expect(await showsPassword()).toBe(false);

    // Both attempts in "My disclosures", newest first.
    await page.getByRole('link', { name: 'My disclosures' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('My disclosures');
    const rows = page.locator('tr.audit-record', { hasText: ticket });
    await expect(rows.count()).resolves.toBe(2);
    await expect(rows.nth(0).textContent()).resolves.toContain('granted');
    await expect(rows.nth(1).textContent()).resolves.toContain('refused (key_id_mismatch)');
    for (const row of await rows.all()) await expect(row.textContent()).resolves.toContain(device.displayName);
    await screenshot(page, 'walkthrough-6-my-disclosures');

    // Sign out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${kit.baseUrl}/auth/signed-out`, { timeout: 5_000 });
    expect(consoleErrors).toEqual([]);
    expect(kit.auditRecords().filter((r) => r.action === 'disclosure' && r.ticket === ticket).map((r) => [r.outcome, r.code ?? null])).toEqual([
      ['refused', 'key_id_mismatch'],
      ['granted', null],
    ]);
  });
});
