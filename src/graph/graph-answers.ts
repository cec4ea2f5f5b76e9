import type { Device, DeviceOwner, DirectoryUser, IntuneRecord, RecoveryKeyMetadata, VolumeType } from './types.js';

/**
 * Graph's JSON, read into KeyDesk's shapes. Pure functions: anything missing or of the wrong type
 * is dropped or read as null rather than trusted.
 */

export type Json = Record<string, unknown>;

const RECOVERY_PASSWORD = /^\d{6}(?:-\d{6}){7}$/;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function booleanOrNull(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

/** A recovery password: 8 groups of 6 digits, each group 11 × a 16-bit number. */
export function isRecoveryPassword(value: string): boolean {
  if (!RECOVERY_PASSWORD.test(value)) return false;
  return value.split('-').every((group) => {
    const n = Number(group);
    return n % 11 === 0 && n / 11 < 65_536;
  });
}

/** Intune writes "0001-01-01T00:00:00Z" for a date it never had. */
function intuneDate(value: unknown): string | null {
  const text = stringOrNull(value);
  return text === null || text.startsWith('0001-01-01') ? null : text;
}

/** Documented as numeric strings ("1"), named in Graph's schema: both spellings are accepted. */
export function volumeTypeOf(value: unknown): VolumeType {
  switch (String(value)) {
    case '1':
    case 'operatingSystemVolume':
      return 'operatingSystemVolume';
    case '2':
    case 'fixedDataVolume':
      return 'fixedDataVolume';
    case '3':
    case 'removableDataVolume':
      return 'removableDataVolume';
    default:
      return 'unknown';
  }
}

/** Registered owners may be devices or service principals too; only users can ask for a key. */
export function toOwner(raw: unknown): DeviceOwner | null {
  if (!isObject(raw) || raw['@odata.type'] !== '#microsoft.graph.user') return null;
  const id = stringOrNull(raw.id);
  if (id === null) return null;
  const owner: DeviceOwner = { id };
  const upn = stringOrNull(raw.userPrincipalName);
  const displayName = stringOrNull(raw.displayName);
  const enabled = booleanOrNull(raw.accountEnabled);
  const mail = stringOrNull(raw.mail);
  if (upn !== null) owner.userPrincipalName = upn;
  if (mail !== null) owner.mail = mail;
  if (displayName !== null) owner.displayName = displayName;
  if (enabled !== null) owner.accountEnabled = enabled;
  return owner;
}

export function toDevice(raw: unknown): Device | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  const deviceId = stringOrNull(raw.deviceId);
  // Without an Entra device ID a device can have neither recovery keys nor an Intune record.
  if (id === null || deviceId === null) return null;
  const owners = Array.isArray(raw.registeredOwners) ? raw.registeredOwners.map(toOwner).filter((o): o is DeviceOwner => o !== null) : [];
  return {
    id,
    deviceId,
    displayName: typeof raw.displayName === 'string' ? raw.displayName : '',
    operatingSystem: stringOrNull(raw.operatingSystem),
    operatingSystemVersion: stringOrNull(raw.operatingSystemVersion),
    approximateLastSignInDateTime: stringOrNull(raw.approximateLastSignInDateTime),
    trustType: stringOrNull(raw.trustType),
    isManaged: booleanOrNull(raw.isManaged),
    accountEnabled: booleanOrNull(raw.accountEnabled),
    registeredOwners: owners,
  };
}

/**
 * The device's current Intune record. A re-enrolled device can leave a stale record with the same
 * azureADDeviceId: the one that synced last names the current primary user.
 */
export function currentIntuneRecord(value: unknown[]): IntuneRecord | null {
  const records: IntuneRecord[] = value.filter(isObject).flatMap((raw) => {
    const managedDeviceId = stringOrNull(raw.id);
    if (managedDeviceId === null) return [];
    return [
      {
        managedDeviceId,
        deviceName: stringOrNull(raw.deviceName),
        // Intune sends "" (not null) for a device without a primary user.
        primaryUserUpn: stringOrNull(raw.userPrincipalName),
        primaryUserId: stringOrNull(raw.userId),
        lastSyncDateTime: intuneDate(raw.lastSyncDateTime),
      },
    ];
  });
  records.sort((a, b) => (b.lastSyncDateTime ?? '').localeCompare(a.lastSyncDateTime ?? ''));
  return records[0] ?? null;
}

export function toKeyMetadata(raw: unknown, deviceId: string): RecoveryKeyMetadata | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  if (id === null) return null;
  return {
    id,
    deviceId: stringOrNull(raw.deviceId) ?? deviceId,
    volumeType: volumeTypeOf(raw.volumeType),
    createdDateTime: stringOrNull(raw.createdDateTime) ?? '',
  };
}

export function toUser(raw: unknown): DirectoryUser | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  const upn = stringOrNull(raw.userPrincipalName);
  if (id === null || upn === null) return null;
  const user: DirectoryUser = { id, userPrincipalName: upn, displayName: stringOrNull(raw.displayName), accountEnabled: booleanOrNull(raw.accountEnabled) };
  const mail = stringOrNull(raw.mail);
  if (mail !== null) user.mail = mail;
  return user;
}
