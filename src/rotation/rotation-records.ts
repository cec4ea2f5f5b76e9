import { alertEntry } from '../alerts/alert-entry.js';
import { auditEntry } from '../audit/entry.js';
import type { AuditEntry } from '../audit/types.js';
import type { Rotation } from './types.js';

/**
 * The records a rotation leaves in the audit trail: one `rotation` record per state change
 * (`outcome` is the state), and an `alert` when it ends failed or becomes overdue, which the
 * outbox hands to the notification channels. Key IDs only, never a password.
 */

export interface RotationRequestContext {
  requestId: string | null;
  callerRequestId: string | null;
}

function deviceOf(rotation: Rotation): AuditEntry['device'] {
  return { id: null, deviceId: rotation.deviceId, displayName: rotation.deviceName };
}

export function rotationEntry(rotation: Rotation, context: RotationRequestContext | null): AuditEntry {
  return auditEntry({
    action: 'rotation',
    outcome: rotation.state,
    code: rotation.error?.code ?? null,
    disclosureId: rotation.disclosureId,
    // The caller who asked, on the request's own record; later changes are the leader's.
    caller: rotation.state === 'requested' ? rotation.requestedBy : null,
    requestId: context?.requestId ?? null,
    callerRequestId: context?.callerRequestId ?? null,
    device: deviceOf(rotation),
    recoveryKeyId: rotation.oldRecoveryKeyId,
    details: {
      rotationId: rotation.id,
      managedDeviceId: rotation.managedDeviceId,
      newRecoveryKeyId: rotation.newRecoveryKeyId,
      deadline: rotation.deadline,
      ...(rotation.error ? { error: rotation.error.detail } : {}),
    },
  });
}

/** Only for `failed` and `overdue`: someone must look at the device. */
export function rotationAlert(rotation: Rotation): AuditEntry | null {
  if (rotation.state !== 'failed' && rotation.state !== 'overdue') return null;
  const device = rotation.deviceName ?? rotation.deviceId;
  const summary =
    rotation.state === 'overdue'
      ? `The disclosed recovery key ${rotation.oldRecoveryKeyId} of ${device} was not replaced by ${rotation.deadline}: no new key is escrowed in Entra, so the password read aloud still unlocks the drive.`
      : `The rotation of the disclosed recovery key ${rotation.oldRecoveryKeyId} of ${device} failed (${rotation.error?.code ?? 'unknown'}): ${rotation.error?.detail ?? ''}`.trim();
  return alertEntry({
    rule: rotation.state === 'overdue' ? 'rotation_overdue' : 'rotation_failed',
    subject: `device:${rotation.deviceId}`,
    summary,
    details: { rotationId: rotation.id, state: rotation.state, deadline: rotation.deadline, ...(rotation.error ? { error: rotation.error } : {}) },
    related: { disclosureId: rotation.disclosureId, device: deviceOf(rotation), recoveryKeyId: rotation.oldRecoveryKeyId },
  });
}
