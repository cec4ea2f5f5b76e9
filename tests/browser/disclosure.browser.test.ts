import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice, SimRecoveryKey, SimStaffMember } from '../../simulator/index.js';
import { screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';
import { fillDisclosureForm, formField, keyIdOnScreen, misreadKeyId, submitDisclosure } from './disclosure-form.js';

/**
 * A helpdesk agent's whole disclosure in a real browser: sign in, find the device, a refused
 * attempt (misread key ID), a granted one (key shown, copied, removed after KEY_DISPLAY_SECONDS
 * in real time), "My disclosures", sign out; its screenshots are the README walkthrough's.
 * Never prints the recovery password: comparisons are booleans.
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

  it('signs in, searches, sees the device without its key IDs, is refused for a misread key ID, reveals, copies, sees the password removed, lists every attempt, rotates the key and signs out', { timeout: 60_000 }, async () => {
    const { context, page, consoleErrors } = await kit.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kit.baseUrl });
    const ticket = `INC${Date.now().toString().slice(-7)}`;
    // What the caller reads off the recovery screen: the test reads it from the simulator's directory.
    const keyIdPrefix = keyIdOnScreen(key);
    const wrongKeyId = misreadKeyId(kit.tenant.directory, key);
    // What the caller says when asked who they are.
    const requester = kit.tenant.directory.primaryUser(device)!.userPrincipalName;
    const showsPassword = async () => (await page.content()).includes(key.key);

    // Sign in and find the device by name.
    expect(await kit.signIn(page, agent.upn)).toBe(302);
    await expect(page.locator('.staff-upn').textContent()).resolves.toBe(agent.upn);
    await page.getByLabel('Device name').fill(device.displayName);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('table').waitFor();
    await expect(page.locator('caption').textContent()).resolves.toBe('1 device found');
    await screenshot(page, 'walkthrough-1-search');

    // The device page: how many keys and for which drives, never their IDs; the requester is typed.
    await page.getByRole('link', { name: device.displayName }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(device.displayName);
    await expect(page.locator('main').textContent()).resolves.toContain('1 recovery key is escrowed for this device');
    await expect(page.locator('.key-summary li').allTextContents()).resolves.toEqual([expect.stringMatching(/^Operating system drive, escrowed \d{4}-\d\d-\d\d \d\d:\d\d UTC$/)]);
    expect((await page.locator('main').textContent())!.toUpperCase().includes(keyIdPrefix)).toBe(false);
    await expect(formField(page, 'Requester').inputValue()).resolves.toBe('');
    await screenshot(page, 'walkthrough-2-device');

    // A misread key ID: refused, explained, the form kept.
    await fillDisclosureForm(page, { keyId: wrongKeyId, requester, ticket, comment: 'Caller at the recovery screen' });
    expect(await submitDisclosure(page)).toBe(422);
    const refusal = page.getByRole('alert');
    await expect(refusal.textContent()).resolves.toContain(`The key ID ${wrongKeyId} does not match any recovery key of ${device.displayName}`);
    await expect(refusal.locator('code').first().textContent()).resolves.toBe('key_id_mismatch');
    await expect(formField(page, 'Key ID').inputValue()).resolves.toBe(wrongKeyId);
    await expect(formField(page, 'Requester').inputValue()).resolves.toBe(requester);
    await expect(formField(page, 'Ticket').inputValue()).resolves.toBe(ticket);
    await expect(formField(page, 'Reason').inputValue()).resolves.toBe('forgotten_pin');
    expect((await page.locator('main').textContent())!.toUpperCase().includes(keyIdPrefix)).toBe(false);
    expect(await showsPassword()).toBe(false);
    await screenshot(page, 'walkthrough-3-refused');

    // The key ID as the caller reads it again: the key page.
    await formField(page, 'Key ID').fill(keyIdPrefix);
    expect(await submitDisclosure(page)).toBe(200);
    const password = page.locator('#recovery-password');
    await password.waitFor();
    const groups = await password.locator('.group').allTextContents();
    expect(groups).toHaveLength(8);
    expect(groups.join('-') === key.key).toBe(true);
    await expect(password.locator('.group-number').allTextContents()).resolves.toEqual(['Group 1', 'Group 2', 'Group 3', 'Group 4', 'Group 5', 'Group 6', 'Group 7', 'Group 8']);
    await expect(page.locator('code.key-id').textContent()).resolves.toBe(keyIdPrefix);
    await screenshot(page, 'key-page');
    await screenshot(page, 'walkthrough-4-key-page-masked', { mask: [password.locator('.group')] });

    const copy = page.locator('#copy-password');
    await expect(copy.textContent()).resolves.toBe('Copy the recovery password');
    await copy.click();
    // The page's own confirmation, once navigator.clipboard.writeText resolved.
    await expect.poll(() => copy.textContent(), { timeout: 5_000 }).toBe('Copied (cleared when the password goes)');
    // A string expression: the tests compile without the DOM lib.
    const clipboard = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(clipboard === key.key).toBe(true);

    // Removed after KEY_DISPLAY_SECONDS, in real time (the step timeout is 15 s).
    await password.waitFor({ state: 'detached', timeout: (KEY_DISPLAY_SECONDS + 5) * 1000 });
    await expect(page.locator('#countdown').textContent()).resolves.toContain('The recovery password has been removed from this page');
    await expect(page.locator('#key-announcer').textContent()).resolves.toContain('The recovery password has been removed from this page');
    expect(await showsPassword()).toBe(false);
    await expect(copy.count()).resolves.toBe(0);
    // The copied password does not wait on the clipboard for the next paste.
    await expect.poll(async () => (await page.evaluate<string>('navigator.clipboard.readText()')) === '', { timeout: 5_000 }).toBe(true);
    await screenshot(page, 'walkthrough-5-key-removed');

    // A reload re-posts a used form: not shown again.
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(409);
    await expect(page.getByRole('alert').locator('code').first().textContent()).resolves.toBe('form_already_used');
    expect(await showsPassword()).toBe(false);

    // The three attempts (the reload's refusal too) in "My disclosures", newest first.
    await page.getByRole('link', { name: 'My disclosures' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('My disclosures');
    const rows = page.locator('tr.audit-record', { hasText: ticket });
    await expect(rows.allTextContents()).resolves.toEqual([
      expect.stringContaining('refused (form_already_used)'),
      expect.stringContaining('granted'),
      expect.stringContaining('refused (key_id_mismatch)'),
    ]);
    for (const row of await rows.all()) await expect(row.textContent()).resolves.toContain(requester);
    await screenshot(page, 'walkthrough-6-my-disclosures');

    // Rotate now on the granted row: back on My disclosures, the rotation is pending at Intune.
    const granted = rows.filter({ hasText: 'granted' });
    await granted.getByRole('button', { name: 'Rotate now' }).click();
    await page.waitForURL(/\/my\/disclosures#rotation-/, { timeout: 5_000 });
    await expect(rows.filter({ hasText: 'granted' }).locator('.rotation-state').getAttribute('data-state')).resolves.toBe('pending');
    await expect(rows.filter({ hasText: 'granted' }).getByRole('button', { name: 'Rotate now' }).count()).resolves.toBe(0);
    await screenshot(page, 'walkthrough-7-rotation-pending');

    // Sign out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${kit.baseUrl}/auth/signed-out`, { timeout: 5_000 });
    expect(consoleErrors).toEqual([]);
    expect(kit.auditRecords().filter((r) => r.action === 'disclosure' && r.ticket === ticket).map((r) => [r.door, r.outcome, r.code ?? null, r.agentUpn, r.requesterUpn])).toEqual([
      ['web', 'refused', 'key_id_mismatch', agent.upn, requester],
      ['web', 'granted', null, agent.upn, requester],
      ['web', 'refused', 'form_already_used', agent.upn, requester],
    ]);
  });

  it('shows the agent a disclosure on a phone', { timeout: 60_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    expect(await kit.signIn(page, agent.upn, { path: `/?name=${encodeURIComponent(kit.tenant.directory.notable.sharedName.displayName)}` })).toBe(302);
    await page.locator('#duplicate-notice').waitFor();
    await screenshot(page, 'walkthrough-7-phone-search');
    expect(consoleErrors).toEqual([]);
  });
});
