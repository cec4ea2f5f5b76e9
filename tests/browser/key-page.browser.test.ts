import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SimDevice, SimRecoveryKey, SimStaffMember } from '../../simulator/index.js';
import { screenshot, skipBrowserTests, startBrowserKit, type BrowserKit } from './browser-kit.js';
import { fillDisclosureForm, keyIdOnScreen, submitDisclosure } from './disclosure-form.js';

/**
 * The key page's controls in a real browser, on Playwright's fake clock (page.clock) so minutes
 * pass in milliseconds: Read aloud, Pause and Resume, Extend once, the password gone at the
 * latest 3 × KEY_DISPLAY_SECONDS after the page loaded, and a live region that speaks at 30 s,
 * 10 s and at removal only. Never prints the recovery password: comparisons are booleans.
 */

/** Over 30, so the page starts above the 30 s announcement. */
const KEY_DISPLAY_SECONDS = 40;
const REMOVED = 'The recovery password has been removed from this page. To show it again, make a new disclosure.';
const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

describe.skipIf(skipBrowserTests)('the key page in a real browser', () => {
  let kit: BrowserKit;
  let agent: SimStaffMember;
  let device: SimDevice;
  let key: SimRecoveryKey;

  beforeAll(async () => {
    // Each test makes its own disclosure: no reveal limit in the way.
    kit = await startBrowserKit('browser-key-page', { env: { KEY_DISPLAY_SECONDS: String(KEY_DISPLAY_SECONDS), RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '0' } });
    agent = kit.tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    device = kit.tenant.directory.notable.typical;
    key = kit.tenant.directory.keysOf(device.deviceId)[0]!;
  }, 60_000);
  afterAll(async () => {
    await kit?.close();
  }, 30_000);

  /**
   * Signs in, fills the device page's form and reveals; with `clock`, time stands still from just
   * before the key page loads until the test moves it on. The live region's every new text is kept
   * in `window.announced`.
   */
  async function openKeyPage(options: { clock: boolean; javaScript?: boolean }): Promise<{ page: Page; consoleErrors: string[] }> {
    const { page, consoleErrors } = await kit.newPage({ javaScript: options.javaScript ?? true });
    await kit.signIn(page, agent.upn, { path: `/devices/${device.deviceId}` });
    await fillDisclosureForm(page, { keyId: keyIdOnScreen(key), requester: kit.tenant.directory.primaryUser(device)!.userPrincipalName, ticket: `INC${Date.now().toString().slice(-7)}` });
    if (options.clock) {
      const now = Date.now();
      await page.clock.install({ time: now });
      await page.clock.pauseAt(now + 1_000);
    }
    expect(await submitDisclosure(page)).toBe(200);
    if (options.javaScript !== false) {
      await page.evaluate(`(() => {
        const announcer = document.getElementById('key-announcer');
        window.announced = [];
        new MutationObserver(() => window.announced.push(announcer.textContent)).observe(announcer, { childList: true, characterData: true, subtree: true });
      })()`);
    }
    return { page, consoleErrors };
  }

  const countdown = (page: Page) => page.locator('#countdown').textContent();
  const announced = (page: Page) => page.evaluate<string[]>('window.announced');
  const passwordCount = (page: Page) => page.locator('#recovery-password').count();
  /** Moves the fake clock on by `seconds`, firing every timer due on the way. */
  const wait = (page: Page, seconds: number) => page.clock.runFor(seconds * 1000);
  const disappearsIn = (seconds: number) => `The recovery password disappears in ${seconds} seconds.`;

  it('offers Copy, Read aloud, Pause and Extend only with its script, and without it says the password stays until the page is left', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await openKeyPage({ clock: false, javaScript: false });
    await expect(page.locator('#recovery-password .group').count()).resolves.toBe(8);
    for (const id of ['copy-password', 'read-aloud', 'pause-countdown', 'extend-countdown']) await expect(page.locator(`#${id}`).isVisible()).resolves.toBe(false);
    await expect(countdown(page)).resolves.toContain('the recovery password stays on this page until you leave it');
    expect(consoleErrors).toEqual([]);
  });

  it('spells each group in digit words under it while Read aloud is pressed, and hides them again', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await openKeyPage({ clock: true });
    const readAloud = page.getByRole('button', { name: 'Read aloud' });
    await expect(readAloud.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(page.locator('.group-words').evaluateAll((words) => words.filter((w) => (w as { hidden: boolean }).hidden).length)).resolves.toBe(8);

    await readAloud.click();
    await expect(readAloud.getAttribute('aria-pressed')).resolves.toBe('true');
    // Three digits to a line: "four zero nine" / "two three three".
    const spell = (digits: string) => [...digits].map((digit) => DIGIT_WORDS[Number(digit)]).join(' ');
    const spelled = key.key.split('-').map((group) => `${spell(group.slice(0, 3))}\n${spell(group.slice(3))}`);
    const shown = await page.locator('.group-words').allTextContents();
    expect(shown.length).toBe(8);
    expect(shown.every((words, i) => words === spelled[i])).toBe(true);
    await expect(page.locator('.group-words').first().isVisible()).resolves.toBe(true);
    // The digits themselves stay as they were (Copy copies them).
    expect((await page.locator('.group').allTextContents()).join('-') === key.key).toBe(true);
    // Unmasked in test-artifacts/ only (never committed): to look at how the words wrap.
    await screenshot(page, 'key-page-read-aloud');
    await screenshot(page, 'key-page-read-aloud-masked', { mask: [page.locator('#recovery-password .group'), page.locator('#recovery-password .group-words')] });

    await readAloud.click();
    await expect(readAloud.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(page.locator('.group-words').first().isVisible()).resolves.toBe(false);
    expect(consoleErrors).toEqual([]);
  });

  it('counts down every second on the page but announces only at 30 s, 10 s and the removal', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await openKeyPage({ clock: true });
    await expect(countdown(page)).resolves.toBe(disappearsIn(40));
    await wait(page, 9);
    await expect(countdown(page)).resolves.toBe(disappearsIn(31));
    await expect(announced(page)).resolves.toEqual([]);
    await wait(page, 1);
    await expect(announced(page)).resolves.toEqual([disappearsIn(30)]);
    await wait(page, 19);
    await expect(countdown(page)).resolves.toBe(disappearsIn(11));
    await wait(page, 1);
    await expect(announced(page)).resolves.toEqual([disappearsIn(30), disappearsIn(10)]);
    await wait(page, 9);
    await expect(passwordCount(page)).resolves.toBe(1);
    await wait(page, 1);
    await expect(passwordCount(page)).resolves.toBe(0);
    await expect(page.locator('.key-controls').count()).resolves.toBe(0);
    await expect(countdown(page)).resolves.toBe(REMOVED);
    await expect(announced(page)).resolves.toEqual([disappearsIn(30), disappearsIn(10), REMOVED]);
    expect((await page.content()).includes(key.key.split('-')[3]!)).toBe(false);
    expect(consoleErrors).toEqual([]);
  });

  it('pauses and resumes the countdown, extends it once, and removes the password 3 × KEY_DISPLAY_SECONDS after the page loaded, paused or not', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await openKeyPage({ clock: true });
    const pause = page.getByRole('button', { name: 'Pause' });
    const extend = page.getByRole('button', { name: `Extend by ${KEY_DISPLAY_SECONDS} seconds` });

    await wait(page, 5);
    await pause.click();
    await expect(pause.getAttribute('aria-pressed')).resolves.toBe('true');
    // Paused, only the hard limit counts down: 120 s after the page loaded.
    await expect(countdown(page)).resolves.toBe('Countdown paused with 35 seconds left. The recovery password disappears in 115 seconds at the latest.');
    await wait(page, 20);
    await expect(countdown(page)).resolves.toBe('Countdown paused with 35 seconds left. The recovery password disappears in 95 seconds at the latest.');
    await pause.click();
    await expect(pause.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(countdown(page)).resolves.toBe(disappearsIn(35));

    await extend.click();
    await expect(countdown(page)).resolves.toBe(disappearsIn(75));
    await expect(extend.isDisabled()).resolves.toBe(true);
    await screenshot(page, 'key-page-paused-extended-masked', { mask: [page.locator('#recovery-password .group')] });

    // Paused again for good: at 119 s the password is still there, at 120 s it is gone.
    await wait(page, 5);
    await pause.click();
    await wait(page, 89);
    await expect(passwordCount(page)).resolves.toBe(1);
    await expect(countdown(page)).resolves.toBe('Countdown paused with 1 second left. The recovery password disappears in 1 second at the latest.');
    await wait(page, 1);
    await expect(passwordCount(page)).resolves.toBe(0);
    await expect(countdown(page)).resolves.toBe(REMOVED);
    await expect(announced(page)).resolves.toEqual([disappearsIn(30), disappearsIn(10), REMOVED]);
    expect(consoleErrors).toEqual([]);
  });

  it('removes the password when the page is left (pagehide)', { timeout: 45_000 }, async () => {
    const { page, consoleErrors } = await openKeyPage({ clock: true });
    await expect(passwordCount(page)).resolves.toBe(1);
    await page.evaluate(`window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }))`);
    await expect(passwordCount(page)).resolves.toBe(0);
    await expect(countdown(page)).resolves.toBe(REMOVED);
    expect(consoleErrors).toEqual([]);
  });
});
