import type { RecoveryKeyMetadata } from '../graph/types.js';
import type { Rotation } from './types.js';

/**
 * Whether the device's key list shows the rotation done: a key ID not seen before the disclosure,
 * for the same volume type as the disclosed key, created later than it. Windows' own rotation
 * (ConfigureRecoveryPasswordRotation, after the password was typed at the recovery screen)
 * counts as well as Intune's: either way the disclosed password no longer unlocks the drive.
 * The newest such key, or null.
 */
export function newKeyOf(rotation: Pick<Rotation, 'oldRecoveryKeyId' | 'knownKeyIds' | 'oldVolumeType' | 'oldCreatedDateTime'>, keys: readonly RecoveryKeyMetadata[]): RecoveryKeyMetadata | null {
  const known = new Set([rotation.oldRecoveryKeyId, ...rotation.knownKeyIds].map((id) => id.toLowerCase()));
  const after = rotation.oldCreatedDateTime === null ? null : Date.parse(rotation.oldCreatedDateTime);
  const fresh = keys.filter((key) => {
    if (known.has(key.id.toLowerCase())) return false;
    if (rotation.oldVolumeType !== null && key.volumeType !== rotation.oldVolumeType) return false;
    const created = Date.parse(key.createdDateTime);
    return after === null || Number.isNaN(after) ? !Number.isNaN(created) : created > after;
  });
  fresh.sort((a, b) => Date.parse(b.createdDateTime) - Date.parse(a.createdDateTime));
  return fresh[0] ?? null;
}

/**
 * The key IDs that cannot be the new key: every key the device had when the password was
 * disclosed. A key created after the disclosure is left out, so a rotation Windows made on its
 * own between the disclosure and the request is found at once.
 */
export function keysBefore(keys: readonly RecoveryKeyMetadata[], disclosedAt: string): string[] {
  const disclosed = Date.parse(disclosedAt);
  return keys.filter((key) => !(Date.parse(key.createdDateTime) > disclosed)).map((key) => key.id.toLowerCase());
}
