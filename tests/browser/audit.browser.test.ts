import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimStaffMember } from '../../simulator/index.js';
import { horizontalOverflow, screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';
import { fillDisclosureForm, keyIdOnScreen, submitDisclosure } from './disclosure-form.js';

/**
 * An auditor's question in a real browser: "who got the key of this laptop, for whom, under which
 * ticket?" An agent discloses a key; an auditor (BitLocker.Audit only) filters the trail by the
 * device, opens the record, downloads the CSV, and sees the chain status; on a phone nothing
 * scrolls sideways. Never prints the recovery password.
 */

describe.skipIf(skipBrowserTests)('the audit pages in a real browser', () => {
  let kit: BrowserKit;
  let agent: SimStaffMember;
  let auditor: SimStaffMember;

  beforeAll(async () => {
    kit = await startBrowserKit('browser-audit');
    agent = kit.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    auditor = kit.tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Audit')!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  it('finds the disclosure of a laptop by its name, shows the record in full, downloads it as CSV, and records each look', { timeout: 90_000 }, async () => {
    const { directory } = kit.tenant;
    const device = directory.notable.typical;
    const key = directory.keysOf(device.deviceId)[0]!;
    const requester = directory.primaryUser(device)!.userPrincipalName;
    const ticket = `INC${Date.now().toString().slice(-7)}`;

    const agentPage = await kit.newPage();
    expect(await kit.signIn(agentPage.page, agent.upn)).toBe(302);
    await agentPage.page.goto(`/devices/${device.deviceId}`);
    await fillDisclosureForm(agentPage.page, { keyId: keyIdOnScreen(key), requester, ticket });
    expect(await submitDisclosure(agentPage.page)).toBe(200);

    const { page, consoleErrors } = await kit.newPage();
    expect(await kit.signIn(page, auditor.upn, { path: '/audit' })).toBe(302);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Audit trail');
    await expect(page.locator('#chain-status').textContent()).resolves.toMatch(/^Chain status: /);
    await page.getByLabel(/^Device name/).fill(device.displayName);
    await page.getByLabel(/^Action/).selectOption('disclosure');
    await page.getByLabel(/^Outcome/).selectOption('granted');
    await page.getByRole('button', { name: 'Search the trail' }).click();
    await page.locator('tr.audit-record').first().waitFor();
    await expect(page.locator('caption').textContent()).resolves.toBe('1 record, newest first');
    const row = page.locator('tr.audit-record').first();
    await expect(row.locator('td[data-label="Requester"]').textContent()).resolves.toBe(requester);
    await expect(row.locator('td[data-label="Ticket"]').textContent()).resolves.toBe(ticket);
    // The filters stay filled in and chosen after the search.
    await expect(page.getByLabel(/^Outcome/).inputValue()).resolves.toBe('granted');
    await screenshot(page, 'audit-search');

    await row.getByRole('link').click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/^Audit record \d+$/);
    await expect(page.locator('main').textContent()).resolves.toContain(ticket);
    await screenshot(page, 'audit-record');

    await page.goBack();
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download every match as CSV' }).click();
    const csv = await readFile((await (await download).path())!, 'utf8');
    const rows = csv.trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(ticket);

    // Every look was recorded: the search, the record, the export started and completed; the password never.
    const looks = kit.auditRecords().filter((r) => r.caller?.upn === auditor.upn && (r.action === 'audit_query' || r.action === 'audit_export'));
    expect(looks.map((r) => `${r.action}:${String(r.details?.rowCount)}`)).toEqual(expect.arrayContaining(['audit_query:1', 'audit_export:1']));
    expect(JSON.stringify(kit.auditRecords()).includes(key.key)).toBe(false);
    expect(csv.includes(key.key)).toBe(false);
    expect(consoleErrors).toEqual([]);
  });

  it('shows the audit trail and a record on a phone without sideways scrolling', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await kit.newPage({ viewport: 'phone' });
    expect(await kit.signIn(page, auditor.upn, { path: '/audit' })).toBe(302);
    await page.locator('tr.audit-record').first().waitFor();
    await screenshot(page, 'phone-audit');
    expect((await horizontalOverflow(page)).beyond).toEqual([]);
    await page.locator('tr.audit-record a').first().click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    await screenshot(page, 'phone-audit-record');
    expect((await horizontalOverflow(page)).beyond).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
