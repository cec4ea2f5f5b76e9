import type { Locator, Page } from 'playwright-core';
import type { SimDirectory, SimRecoveryKey } from '../../simulator/index.js';

/** The device page's disclosure form as an agent fills it in, for the browser tests. */

export interface DisclosureFormInput {
  keyId: string;
  requester: string;
  ticket: string;
  /** The reason's label, as the agent picks it. */
  reason?: string;
  comment?: string;
}

/** A field by its label; anchored, since the hints name other fields ("Required when the reason is …"). */
export function formField(page: Page, label: string): Locator {
  return page.getByLabel(new RegExp(`^${label}\\b`));
}

/** What the recovery screen shows as "Recovery key ID", read off the caller's screen (here: the simulator's directory). */
export function keyIdOnScreen(key: SimRecoveryKey): string {
  return key.id.replaceAll('-', '').slice(0, 8).toUpperCase();
}

/** A key ID the caller might misread: it differs from every key of the device in its first character. */
export function misreadKeyId(directory: SimDirectory, key: SimRecoveryKey): string {
  const prefix = keyIdOnScreen(key);
  const keys = directory.keysOf(key.deviceId).map(keyIdOnScreen);
  return [...'0123456789ABCDEF'].map((c) => c + prefix.slice(1)).find((candidate) => !keys.some((k) => k.startsWith(candidate[0]!)))!;
}

export async function fillDisclosureForm(page: Page, input: DisclosureFormInput): Promise<void> {
  await formField(page, 'Key ID').fill(input.keyId);
  await formField(page, 'Requester').fill(input.requester);
  await formField(page, 'Ticket').fill(input.ticket);
  await formField(page, 'Reason').selectOption({ label: input.reason ?? 'The user forgot their BitLocker PIN' });
  await formField(page, 'Comment').fill(input.comment ?? '');
}

/** Clicks "Reveal the recovery password" and resolves to the status of the page that answers. */
export async function submitDisclosure(page: Page): Promise<number> {
  const answer = page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname.endsWith('/reveal'));
  await page.getByRole('button', { name: 'Reveal the recovery password' }).click();
  const status = (await answer).status();
  await page.waitForLoadState();
  return status;
}
