import { auditEntry } from '../audit/entry.js';
import type { AuditEntry } from '../audit/types.js';
import { alertEntry } from '../alerts/alert-entry.js';
import type { StoredKeyRead } from './types.js';

/**
 * The two records an out-of-band read leaves in KeyDesk's trail, once each: the
 * `out_of_band_read` observation and the `out_of_band_read` alert that notifies.
 */

function deviceOf(read: StoredKeyRead): AuditEntry['device'] {
  return read.deviceId === null && read.deviceName === null ? null : { id: null, deviceId: read.deviceId, displayName: read.deviceName };
}

function readerOf(read: StoredKeyRead): string {
  const by = read.initiatedBy;
  return by.userPrincipalName ?? (by.appId ? `the app ${by.displayName ?? by.appId}` : 'an unknown initiator');
}

export function outOfBandEntry(read: StoredKeyRead): AuditEntry {
  return auditEntry({
    action: 'out_of_band_read',
    outcome: 'observed',
    code: null,
    device: deviceOf(read),
    recoveryKeyId: read.keyId,
    details: { entraEventId: read.entraEventId, initiatedBy: read.initiatedBy, activityDateTime: read.activityDateTime },
  });
}

export function outOfBandAlert(read: StoredKeyRead, recordId: string): AuditEntry {
  const device = deviceOf(read);
  return alertEntry({
    rule: 'out_of_band_read',
    subject: `key:${read.keyId ?? read.entraEventId}`,
    summary: `The recovery key ${read.keyId ?? '(unknown key ID)'}${read.deviceName ? ` of ${read.deviceName}` : ''} was read outside KeyDesk by ${readerOf(read)} at ${read.activityDateTime} (Entra's audit log).`,
    details: { entraEventId: read.entraEventId, outOfBandRecordId: recordId, initiatedBy: read.initiatedBy, activityDateTime: read.activityDateTime },
    related: { ...(device ? { device } : {}), ...(read.keyId ? { recoveryKeyId: read.keyId } : {}) },
  });
}
