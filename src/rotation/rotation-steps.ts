import type { Logger } from 'pino';
import type { AuditTrail } from '../audit/types.js';
import type { RotationConfig } from '../config/rotation-config.js';
import type { IntuneRotation } from '../graph/intune-rotation.js';
import type { GraphGateway } from '../graph/types.js';
import { isProblem } from '../problem/problem.js';
import { keysBefore, newKeyOf } from './new-key.js';
import { rotationAlert, rotationEntry, type RotationRequestContext } from './rotation-records.js';
import type { Rotation, RotationError, RotationStore } from './types.js';

/**
 * The steps of one rotation, each a compare-and-set in the store followed by its audit record:
 * asking Intune (requested → pending, or failed / not_supported), and checking the device's key
 * list for the new key (pending → done, not_supported, failed or overdue).
 */

export interface RotationStepDeps {
  config: RotationConfig;
  store: RotationStore;
  graph: Pick<GraphGateway, 'getIntuneRecord' | 'listRecoveryKeys'>;
  intune: IntuneRotation;
  audit: Pick<AuditTrail, 'append'>;
  now: () => number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

type Change = Partial<Omit<Rotation, 'id' | 'disclosureId' | 'updatedAt'>> & Pick<Rotation, 'state'>;

/** Moves the rotation and records it; null when another instance moved it first. */
export async function move(rotation: Rotation, change: Change, deps: RotationStepDeps, context: RotationRequestContext | null = null): Promise<Rotation | null> {
  const next: Rotation = { ...rotation, ...change, updatedAt: new Date(deps.now()).toISOString() };
  if (!(await deps.store.update(next, rotation))) return null;
  await recordChange(next, deps, context);
  return next;
}

export async function recordChange(rotation: Rotation, deps: Pick<RotationStepDeps, 'audit' | 'logger'>, context: RotationRequestContext | null): Promise<void> {
  try {
    await deps.audit.append(rotationEntry(rotation, context));
    const alert = rotationAlert(rotation);
    if (alert) await deps.audit.append(alert);
  } catch (error) {
    // The change is stored; its record is what is lost, and the log says so (key IDs only).
    deps.logger.error({ err: error, rotation: { id: rotation.id, state: rotation.state, disclosureId: rotation.disclosureId } }, 'a rotation change could not be recorded in the audit trail');
    throw error;
  }
}

function errorOf(error: unknown): RotationError {
  if (isProblem(error)) return { code: error.code, detail: error.detail };
  return { code: 'internal_error', detail: 'KeyDesk met an unexpected error while asking for the rotation. The logs hold it.' };
}

/** requested → pending (Intune accepted), not_supported (Intune does not manage the device) or failed. */
export async function askIntune(rotation: Rotation, deps: RotationStepDeps, context: RotationRequestContext | null): Promise<Rotation | null> {
  let seen: Pick<Rotation, 'knownKeyIds' | 'oldVolumeType' | 'oldCreatedDateTime' | 'managedDeviceId'>;
  try {
    const [keys, intune] = await Promise.all([deps.graph.listRecoveryKeys(rotation.deviceId, undefined, { fresh: true }), deps.graph.getIntuneRecord(rotation.deviceId)]);
    const old = keys.find((key) => key.id.toLowerCase() === rotation.oldRecoveryKeyId.toLowerCase());
    seen = { knownKeyIds: keysBefore(keys, rotation.disclosedAt), oldVolumeType: old?.volumeType ?? null, oldCreatedDateTime: old?.createdDateTime ?? null, managedDeviceId: intune?.managedDeviceId ?? null };
    if (intune === null) {
      const detail = 'Intune does not manage this device, so it cannot be asked to rotate its keys. Rotate the key on the device itself (manage-bde -protectors), or enrol it in Intune.';
      return await move(rotation, { ...seen, state: 'not_supported', error: { code: 'device_not_managed', detail } }, deps, context);
    }
    await deps.intune.rotateBitLockerKeys(intune.managedDeviceId);
  } catch (error) {
    deps.logger.warn({ err: error, rotation: { id: rotation.id, disclosureId: rotation.disclosureId } }, 'the rotation could not be asked of Intune');
    return move(rotation, { state: 'failed', error: errorOf(error) }, deps, context);
  }
  return move(rotation, { ...seen, state: 'pending', error: null }, deps, context);
}

/** One look at a pending (or overdue) rotation: the device's key list, then Intune's action result. */
export async function checkRotation(rotation: Rotation, deps: RotationStepDeps): Promise<Rotation | null> {
  const keys = await deps.graph.listRecoveryKeys(rotation.deviceId, undefined, { fresh: true });
  const key = newKeyOf(rotation, keys);
  if (key) return move(rotation, { state: 'done', newRecoveryKeyId: key.id, error: null }, deps);
  const result = rotation.managedDeviceId ? await deps.intune.bitLockerRotationResult(rotation.managedDeviceId).catch(() => null) : null;
  if (result?.actionState === 'notSupported') {
    return move(rotation, { state: 'not_supported', error: { code: 'rotation_not_supported', detail: 'Intune reports that the device cannot rotate its BitLocker keys (Windows 10 1909 or later, Intune-managed, with client-driven recovery password rotation on).' } }, deps);
  }
  if (result?.actionState === 'failed') {
    return move(rotation, { state: 'failed', error: { code: 'rotation_failed_on_device', detail: 'Intune reports that the rotation failed on the device. Ask for it again once the device is online, or rotate the key on the device itself.' } }, deps);
  }
  if (rotation.state === 'pending' && deps.now() >= Date.parse(rotation.deadline)) return move(rotation, { state: 'overdue' }, deps);
  return rotation;
}
