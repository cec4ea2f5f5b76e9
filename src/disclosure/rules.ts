import { DEFAULT_TICKET_PATTERN, type DisabledCheck, type RequesterCheck } from '../config/config.js';
import type { CheckVerdict, RequesterMatch } from '../schemas/checks.js';
import type { Device, DirectoryUser, IntuneRecord, RecoveryKeyMetadata } from '../graph/types.js';
import { refusal, warning, type DisclosureWarning } from './wording.js';

/**
 * The disclosure rules as plain functions: each takes what Graph said and what the caller typed,
 * and either returns what it established or throws the refusal. No I/O here.
 */

export function checkTicket(ticket: string, pattern: RegExp): void {
  if (!pattern.test(ticket)) throw refusal('invalid_ticket', { ticket, customTicketPattern: pattern.source !== DEFAULT_TICKET_PATTERN });
}

export function checkReason(reason: string, comment: string | undefined): void {
  if (reason === 'other' && (comment === undefined || comment.trim() === '')) throw refusal('comment_required');
}

/** The one device the request names: by Entra device ID, or by a display name that must be unique. */
export function pickDevice(candidates: Device[], asked: { deviceName?: string | undefined; deviceId?: string | undefined }): Device {
  if (candidates.length === 0) {
    const deviceLabel = asked.deviceId !== undefined ? `device ID ${asked.deviceId}` : `name ${JSON.stringify(asked.deviceName)}`;
    throw refusal('device_not_found', { deviceLabel });
  }
  if (candidates.length > 1) {
    throw refusal('ambiguous_device', { count: candidates.length, deviceName: asked.deviceName ?? '' }, { extensions: { candidates: candidates.map(candidateOf) } });
  }
  return candidates[0]!;
}

export function candidateOf(device: Device) {
  return {
    deviceId: device.deviceId,
    displayName: device.displayName,
    operatingSystem: device.operatingSystem,
    operatingSystemVersion: device.operatingSystemVersion,
    approximateLastSignInDateTime: device.approximateLastSignInDateTime,
    owners: device.registeredOwners.map((owner) => owner.userPrincipalName ?? owner.id),
  };
}

export interface CheckResult {
  verdict: CheckVerdict;
  warning: DisclosureWarning | null;
}

/** A disabled device (reported lost or stolen, say) is not unlocked for whoever calls. */
export function checkDeviceEnabled(device: Device, mode: DisabledCheck): CheckResult {
  if (device.accountEnabled === null) return { verdict: 'skipped', warning: null };
  if (device.accountEnabled) return { verdict: 'passed', warning: null };
  if (mode === 'warn') return { verdict: 'warned', warning: warning('device_disabled', { deviceName: device.displayName }) };
  throw refusal('device_disabled', { deviceName: device.displayName });
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
  const facts = { keyIdInput, deviceName: device.displayName };
  if (keys.length === 0) throw refusal('key_not_found', facts);
  const typed = normaliseKeyId(keyIdInput);
  const matches = keys.filter((key) => normaliseKeyId(key.id).startsWith(typed));
  if (matches.length === 0) throw refusal('key_id_mismatch', facts);
  if (matches.length > 1) throw refusal('ambiguous_key_id', { ...facts, count: matches.length });
  return matches[0]!;
}

export interface RequesterCheckResult extends CheckResult {
  /** How the requester is tied to the device, when they are. */
  matchedAs: RequesterMatch | null;
}

/**
 * The requester must own the device in Entra or be its Intune primary user. `warn` lets a mismatch
 * through but records it; `off` skips the check (for tenants whose ownership data is unreliable).
 */
export function checkRequester(device: Device, intune: IntuneRecord | null, requesterUpn: string, mode: RequesterCheck): RequesterCheckResult {
  if (mode === 'off') return { verdict: 'skipped', matchedAs: null, warning: null };
  const upn = requesterUpn.trim().toLowerCase();
  if (device.registeredOwners.some((owner) => owner.userPrincipalName?.toLowerCase() === upn)) {
    return { verdict: 'passed', matchedAs: 'registered_owner', warning: null };
  }
  if (intune?.primaryUserUpn?.toLowerCase() === upn) return { verdict: 'passed', matchedAs: 'primary_user', warning: null };
  const facts = { requesterUpn, deviceName: device.displayName };
  if (mode === 'warn') return { verdict: 'warned', matchedAs: null, warning: warning('requester_not_owner', facts) };
  throw refusal('requester_not_owner', facts);
}

/**
 * A requester whose account is disabled (a leaver still listed as owner or primary user) is
 * refused, whether or not REQUESTER_CHECK tied them to the device: under `warn` or `off` the
 * account is still read and still counts. Skipped only when the directory does not know the UPN.
 */
export function checkRequesterEnabled(user: DirectoryUser | null, device: Device, mode: DisabledCheck): CheckResult {
  if (user === null || user.accountEnabled === null) return { verdict: 'skipped', warning: null };
  if (user.accountEnabled) return { verdict: 'passed', warning: null };
  const facts = { requesterUpn: user.userPrincipalName, deviceName: device.displayName };
  if (mode === 'warn') return { verdict: 'warned', warning: warning('requester_disabled', facts) };
  throw refusal('requester_disabled', facts);
}
