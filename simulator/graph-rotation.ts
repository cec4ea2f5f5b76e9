import { randomUUID } from 'node:crypto';
import type { Caller, GraphAuthorization } from './graph-auth.js';
import type { Json } from './graph-resources.js';
import { GraphFailure, type GraphRequest, type Ids } from './graph-wire.js';
import { directoryOf, type SimDirectory, type SimManagedDevice, type SimRecoveryKey } from './organisation.js';
import { SeededRandom } from './random.js';
import { isoSeconds, type SimulatorState } from './state.js';

/**
 * Intune's BitLocker key rotation on the simulated Graph beta: `POST
 * /beta/deviceManagement/managedDevices/{id}/rotateBitLockerKeys` answers 204 (accepted, not
 * done), and the device then does what its behaviour says: escrows a new key for its OS volume
 * after a delay (the used key disappears from the list, as on a real device), never does, or
 * reports that it cannot. `GET /beta/deviceManagement/managedDevices/{id}` carries
 * `deviceActionResults` with the rotation's state.
 */

/** What a device does when asked to rotate: escrow a new key after `escrowAfterMs`, never, or say it cannot. */
export type SimRotationBehaviour = { escrowAfterMs: number } | 'never' | 'notSupported';

export interface SimDeviceActionResult {
  actionName: string;
  actionState: 'pending' | 'done' | 'failed' | 'notSupported';
  startDateTime: string;
  lastUpdatedDateTime: string;
}

export interface SimRotations {
  /** Every device not named in `behaviours` escrows its new key after this many ms. */
  defaultEscrowAfterMs: number;
  /** By Entra device ID (lower case). */
  behaviours: Map<string, SimRotationBehaviour>;
  /** By Intune managed device id. */
  actionResults: Map<string, SimDeviceActionResult[]>;
  /** Rotations asked for, in order (the tests look). */
  requested: Array<{ managedDeviceId: string; deviceId: string; at: string }>;
  timers: Set<NodeJS.Timeout>;
}

export function newSimRotations(defaultEscrowAfterMs: number): SimRotations {
  return { defaultEscrowAfterMs, behaviours: new Map(), actionResults: new Map(), requested: [], timers: new Set() };
}

/** Rotation needs one of these; the documentation and users' reports disagree on which. */
const ROTATE_PERMISSIONS = ['DeviceManagementManagedDevices.ReadWrite.All', 'DeviceManagementManagedDevices.PrivilegedOperations.All'];
const INTUNE_READ = ['DeviceManagementManagedDevices.Read.All', 'DeviceManagementManagedDevices.ReadWrite.All'];
const ROTATE_ACTION = 'rotateBitLockerKeys';

/** The directory once the device escrowed `key`: its older keys of the same volume are gone from Entra. */
export function withRotatedKey(directory: SimDirectory, key: SimRecoveryKey): SimDirectory {
  const kept = directory.recoveryKeys.filter((k) => !(k.deviceId === key.deviceId && k.volumeType === key.volumeType));
  return directoryOf(directory.tenantId, [...directory.users], [...directory.devices], [...directory.managedDevices], [...kept, key], directory.notable);
}

export const NO_CONTENT = Symbol('204 No Content');

export interface RotationEndpoints {
  /** Answers a `/beta/…` request, or throws Graph's error for one it does not know. */
  answerBeta(request: GraphRequest, caller: Caller, ids: Ids): Json | typeof NO_CONTENT;
}

export function createRotationEndpoints(state: SimulatorState, authorization: GraphAuthorization, escrow: (key: SimRecoveryKey) => void): RotationEndpoints {
  const rotations = state.rotations;
  const managedOf = (id: string): SimManagedDevice => {
    const found = state.model.directory.managedDevices.find((m) => m.id === id.toLowerCase());
    if (!found) throw new GraphFailure(404, 'ResourceNotFound', `The managed device ${id} was not found.`);
    return found;
  };
  const setAction = (managed: SimManagedDevice, actionState: SimDeviceActionResult['actionState'], started: string) => {
    const others = (rotations.actionResults.get(managed.id) ?? []).filter((r) => r.actionName !== ROTATE_ACTION);
    rotations.actionResults.set(managed.id, [...others, { actionName: ROTATE_ACTION, actionState, startDateTime: started, lastUpdatedDateTime: isoSeconds(state.now()) }]);
  };
  const rotate = (managed: SimManagedDevice) => {
    const started = isoSeconds(state.now());
    rotations.requested.push({ managedDeviceId: managed.id, deviceId: managed.azureADDeviceId, at: started });
    const behaviour = rotations.behaviours.get(managed.azureADDeviceId) ?? { escrowAfterMs: rotations.defaultEscrowAfterMs };
    if (behaviour === 'notSupported') return setAction(managed, 'notSupported', started);
    setAction(managed, 'pending', started);
    if (behaviour === 'never') return;
    const timer = setTimeout(() => {
      rotations.timers.delete(timer);
      const random = new SeededRandom(state.now());
      escrow({ id: randomUUID(), deviceId: managed.azureADDeviceId, volumeType: '1', createdDateTime: isoSeconds(state.now()), key: random.recoveryPassword() });
      setAction(managed, 'done', started);
    }, behaviour.escrowAfterMs);
    timer.unref();
    rotations.timers.add(timer);
  };
  return {
    answerBeta(request, caller, ids) {
      const match = /^\/beta\/deviceManagement\/managedDevices\/([^/]+)(\/rotateBitLockerKeys)?$/i.exec(request.path);
      if (!match) throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${request.path.split('/')[2] ?? ''}'.`);
      if (match[2]) {
        if (request.method !== 'POST') throw new GraphFailure(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
        authorization.requirePermission(caller, ROTATE_PERMISSIONS, 'intune', ids, request.path);
        rotate(managedOf(match[1]!));
        return NO_CONTENT;
      }
      if (request.method !== 'GET') throw new GraphFailure(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
      authorization.requirePermission(caller, INTUNE_READ, 'intune', ids, request.path);
      const managed = managedOf(match[1]!);
      return { '@odata.context': `${state.graphBaseUrl}/beta/$metadata#deviceManagement/managedDevices/$entity`, id: managed.id, deviceName: managed.deviceName, deviceActionResults: rotations.actionResults.get(managed.id) ?? [] };
    },
  };
}
