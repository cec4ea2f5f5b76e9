import type { Device, VolumeType } from '../graph/types.js';
import type { DisclosureReason } from '../disclosure/input.js';
import { html, type SafeHtml } from './html.js';

/** How the pages put Graph's values into a helpdesk agent's words. */

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function ownersOf(device: Device): string {
  if (device.registeredOwners.length === 0) return 'none';
  return device.registeredOwners.map((owner) => owner.userPrincipalName ?? owner.displayName ?? owner.id).join(', ');
}

/** UPNs (one, or a list) that a narrow column breaks after their "@" rather than mid-word. */
export function breakableUpns(text: string): SafeHtml {
  return html`<span class="upn">${text.split('@').map((part, i) => (i === 0 ? part : html`@<wbr>${part}`))}</span>`;
}

/** The first 8 hex digits, upper case: what the BitLocker recovery screen shows as "Recovery key ID". */
export function keyIdAsOnScreen(keyId: string): string {
  return keyId.replace(/-/g, '').slice(0, 8).toUpperCase();
}

export const VOLUME_TYPES: Record<VolumeType, string> = {
  operatingSystemVolume: 'Operating system drive',
  fixedDataVolume: 'Fixed data drive',
  removableDataVolume: 'Removable drive (BitLocker To Go)',
  unknown: 'Unknown drive type',
};

export const REASONS: Record<DisclosureReason, string> = {
  forgotten_pin: 'The user forgot their BitLocker PIN',
  tpm_or_firmware_change: 'TPM or firmware (BIOS/UEFI) change',
  boot_configuration_change: 'Boot configuration change',
  hardware_change: 'Hardware change (disk, motherboard, docking)',
  os_update: 'After an operating system update',
  other: 'Other (explain in the comment)',
};

/** An Entra account (device or user) as enabled, disabled or unknown. */
export function accountState(enabled: boolean | null | undefined): string {
  if (enabled === false) return 'disabled';
  if (enabled === true) return 'enabled';
  return 'unknown';
}
