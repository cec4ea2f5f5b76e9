import { KeyDeskProblem } from '../problem/problem.js';
import type { RequesterCheck } from '../config/config.js';
import type { Device, IntuneRecord, RecoveryKeyMetadata } from '../graph/types.js';

/**
 * The disclosure rules as plain functions: each takes what Graph said and what the caller typed,
 * and either returns what it established or throws the refusal. No I/O here.
 */

export const DISCLOSURE_REASONS = [
  'forgotten_pin',
  'tpm_or_firmware_change',
  'boot_configuration_change',
  'hardware_change',
  'os_update',
  'other',
] as const;
export type DisclosureReason = (typeof DISCLOSURE_REASONS)[number];

/** The fewest hex digits of a key ID that prove the caller is reading the recovery screen. */
export const MIN_KEY_ID_DIGITS = 8;

/** A disclosure names its device one way only, so there is never doubt about which was meant. */
export function checkDeviceSelector(asked: { deviceName?: string | undefined; deviceId?: string | undefined }): void {
  if ((asked.deviceName === undefined) === (asked.deviceId === undefined)) {
    throw new KeyDeskProblem('invalid_request', 'Give exactly one of deviceName or deviceId.');
  }
}

export function checkTicket(ticket: string, pattern: RegExp): void {
  if (!pattern.test(ticket)) {
    throw new KeyDeskProblem(
      'invalid_ticket',
      `The ticket reference ${JSON.stringify(ticket)} is not in an accepted form (for example INC0012345, SD-1234 or 12345). Give the reference of the helpdesk ticket this disclosure is made under.`,
    );
  }
}

export function checkReason(reason: DisclosureReason, comment: string | undefined): void {
  if (reason === 'other' && (comment === undefined || comment.trim() === '')) {
    throw new KeyDeskProblem('comment_required', 'The reason "other" needs a comment that says why the recovery key is needed.');
  }
}

/** The one device the request names: by Entra device ID, or by a display name that must be unique. */
export function pickDevice(candidates: Device[], asked: { deviceName?: string; deviceId?: string }): Device {
  const label = asked.deviceId !== undefined ? `device ID ${asked.deviceId}` : `name ${JSON.stringify(asked.deviceName)}`;
  if (candidates.length === 0) {
    throw new KeyDeskProblem('device_not_found', `No device with the ${label} exists in the directory. Check the spelling with the caller, or search by prefix.`);
  }
  if (candidates.length > 1) {
    throw new KeyDeskProblem(
      'ambiguous_device',
      `${candidates.length} devices are named ${JSON.stringify(asked.deviceName)}. Ask the caller which one they are at and retry with its deviceId.`,
      {
        extensions: {
          candidates: candidates.map((device) => ({
            deviceId: device.deviceId,
            displayName: device.displayName,
            operatingSystem: device.operatingSystem,
            operatingSystemVersion: device.operatingSystemVersion,
            approximateLastSignInDateTime: device.approximateLastSignInDateTime,
            owners: device.registeredOwners.map((owner) => owner.userPrincipalName ?? owner.id),
          })),
        },
      },
    );
  }
  return candidates[0]!;
}

/** Checked before any Graph call: a key ID that cannot match anything costs nothing upstream. */
export function checkKeyIdFormat(keyIdInput: string): void {
  const typed = normaliseKeyId(keyIdInput);
  if (!/^[0-9a-f]+$/.test(typed) || typed.length < MIN_KEY_ID_DIGITS || typed.length > 32) {
    throw new KeyDeskProblem(
      'invalid_request',
      `The key ID must be at least the first ${MIN_KEY_ID_DIGITS} hexadecimal digits of the recovery key ID shown on the recovery screen, or the whole ID.`,
    );
  }
}

/** Lower-case hex digits only: the recovery screen groups them with hyphens, callers may not. */
export function normaliseKeyId(keyId: string): string {
  return keyId.replace(/[\s-]/g, '').toLowerCase();
}

/**
 * The key whose ID begins with what the caller read off the recovery screen. Matching proves the
 * caller is at the machine and picks the right volume when a device has several keys.
 */
export function matchKeyId(keys: RecoveryKeyMetadata[], keyIdInput: string, device: Device): RecoveryKeyMetadata {
  if (keys.length === 0) {
    throw new KeyDeskProblem(
      'key_not_found',
      `No BitLocker recovery key is escrowed in Entra ID for ${device.displayName}. The key may be held elsewhere (on-premises AD, a printout or the user's Microsoft account).`,
    );
  }
  checkKeyIdFormat(keyIdInput);
  const typed = normaliseKeyId(keyIdInput);
  const matches = keys.filter((key) => normaliseKeyId(key.id).startsWith(typed));
  if (matches.length === 0) {
    throw new KeyDeskProblem(
      'key_id_mismatch',
      `The key ID ${keyIdInput.toUpperCase()} does not match any recovery key of ${device.displayName}. Ask the caller to read the recovery key ID on the screen again.`,
    );
  }
  if (matches.length > 1) {
    throw new KeyDeskProblem(
      'ambiguous_key_id',
      `The key ID ${keyIdInput.toUpperCase()} matches ${matches.length} recovery keys of ${device.displayName}. Ask the caller for more digits of the recovery key ID.`,
    );
  }
  return matches[0]!;
}

export type RequesterVerdict = 'passed' | 'failed' | 'warned' | 'skipped';

export interface RequesterCheckResult {
  verdict: RequesterVerdict;
  /** How the requester is tied to the device, when they are. */
  matchedAs: 'registered_owner' | 'primary_user' | null;
}

/**
 * The requester must own the device in Entra or be its Intune primary user. `warn` lets a mismatch
 * through but records it; `off` skips the check (for tenants whose ownership data is unreliable).
 */
export function checkRequester(
  device: Device,
  intune: IntuneRecord | null,
  requesterUpn: string,
  mode: RequesterCheck,
): RequesterCheckResult {
  if (mode === 'off') return { verdict: 'skipped', matchedAs: null };
  const upn = requesterUpn.trim().toLowerCase();
  if (device.registeredOwners.some((owner) => owner.userPrincipalName?.toLowerCase() === upn)) {
    return { verdict: 'passed', matchedAs: 'registered_owner' };
  }
  if (intune?.primaryUserUpn?.toLowerCase() === upn) {
    return { verdict: 'passed', matchedAs: 'primary_user' };
  }
  if (mode === 'warn') return { verdict: 'warned', matchedAs: null };
  throw new KeyDeskProblem(
    'requester_not_owner',
    `${requesterUpn} is neither a registered owner nor the Intune primary user of ${device.displayName}. Confirm the caller's identity and the device; if the device changed hands, have its owner updated first.`,
  );
}
