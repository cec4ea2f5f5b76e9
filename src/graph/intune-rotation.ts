import type { KeyDeskConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { isObject, stringOrNull } from './graph-answers.js';
import type { GraphLogger } from './graph-call.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import { GraphRequests, problemFor, type Operation } from './graph-requests.js';
import { pathSegment, queryString } from './odata.js';

/**
 * Intune's BitLocker key rotation, a beta-only remote action: `rotateBitLockerKeys` on the managed
 * device (204 means accepted, not done), and the device's `deviceActionResults`, where Intune
 * reports how its remote actions went. Which application permission the action needs is disputed:
 * its documentation names DeviceManagementManagedDevices.ReadWrite.All, users of the sibling
 * rotateLocalAdminPassword were asked for DeviceManagementManagedDevices.PrivilegedOperations.All;
 * both allow far more than rotation (remote wipe among them).
 */

export const ROTATION_PERMISSIONS = ['DeviceManagementManagedDevices.ReadWrite.All', 'DeviceManagementManagedDevices.PrivilegedOperations.All'] as const;

const BOTH = `${ROTATION_PERMISSIONS[0]} (as its documentation says) or ${ROTATION_PERMISSIONS[1]} (as users report it needs)`;

const ROTATE: Operation = { name: 'rotateBitLockerKeys', what: "ask Intune to rotate the device's BitLocker keys", permission: BOTH };
const ACTION_RESULTS: Operation = { name: 'getDeviceActionResults', what: "read Intune's results of the device's remote actions", permission: 'DeviceManagementManagedDevices.Read.All' };

/** Intune's `actionState` of a remote action. */
export type DeviceActionState = 'none' | 'pending' | 'canceled' | 'active' | 'done' | 'failed' | 'notSupported';

export interface DeviceActionResult {
  actionState: DeviceActionState;
  lastUpdatedDateTime: string | null;
}

export interface IntuneRotation {
  /** Asks Intune to rotate; resolves when it accepted (204). Throws a KeyDeskProblem otherwise (`graph_permission_missing` for 401/403). */
  rotateBitLockerKeys(managedDeviceId: string): Promise<void>;
  /** The latest result of a BitLocker rotation Intune reports for the device, or null when it reports none. */
  bitLockerRotationResult(managedDeviceId: string): Promise<DeviceActionResult | null>;
  /** The application permissions (`roles`) of KeyDesk's Graph token; null when the token could not be read. */
  grantedRoles(): Promise<string[] | null>;
}

const ACTION_STATES: readonly DeviceActionState[] = ['none', 'pending', 'canceled', 'active', 'done', 'failed', 'notSupported'];

function toActionResult(raw: unknown): (DeviceActionResult & { actionName: string }) | null {
  if (!isObject(raw)) return null;
  const actionName = stringOrNull(raw.actionName) ?? '';
  const state = ACTION_STATES.find((candidate) => candidate.toLowerCase() === (stringOrNull(raw.actionState) ?? '').toLowerCase());
  if (state === undefined) return null;
  return { actionName, actionState: state, lastUpdatedDateTime: stringOrNull(raw.lastUpdatedDateTime) ?? stringOrNull(raw.startDateTime) };
}

/** The `roles` claim of a JWT, read without verifying it: it is KeyDesk's own token, fresh from Entra. */
export function rolesOfToken(token: string): string[] | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (!isObject(payload)) return null;
    return Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
  } catch {
    return null;
  }
}

export function createIntuneRotation(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: { logger: GraphLogger; tokenProvider: GraphClientOptions['authenticationProvider'] }): IntuneRotation {
  const client = createGraphClient(config, { logger: options.logger, authenticationProvider: options.tokenProvider });
  const requests = new GraphRequests(client, config.graphBaseUrl);
  // Beta only: a full URL, which GraphRequests sends verbatim.
  const managedDevice = (id: string) => `${config.graphBaseUrl}/beta/deviceManagement/managedDevices/${pathSegment(id)}`;
  return {
    async rotateBitLockerKeys(managedDeviceId) {
      const answer = await requests.post(ROTATE, `${managedDevice(managedDeviceId)}/rotateBitLockerKeys`, {}, null);
      if (answer.status === 204 || answer.status === 200) return;
      const problem = problemFor(ROTATE, answer);
      if (problem.code !== 'graph_permission_missing') throw problem;
      throw new KeyDeskProblem(
        'graph_permission_missing',
        `Microsoft Graph refused to let KeyDesk ask Intune to rotate the device's BitLocker keys (${answer.status}): grant KeyDesk's app registration the application permission ${ROTATION_PERMISSIONS[0]} or ${ROTATION_PERMISSIONS[1]} (the documentation and users' reports disagree on which) and grant admin consent. Both allow far more than rotation, remote wipe among them.`,
        { extensions: problem.extensions },
      );
    },
    async bitLockerRotationResult(managedDeviceId) {
      const answer = await requests.get(ACTION_RESULTS, `${managedDevice(managedDeviceId)}${queryString({ $select: 'id,deviceActionResults' })}`, null);
      if (answer.status !== 200) throw problemFor(ACTION_RESULTS, answer);
      const results = Array.isArray(answer.body?.deviceActionResults) ? answer.body.deviceActionResults : [];
      const rotations = results
        .map(toActionResult)
        .filter((result): result is NonNullable<typeof result> => result !== null && /bitlocker/i.test(result.actionName))
        .sort((a, b) => (b.lastUpdatedDateTime ?? '').localeCompare(a.lastUpdatedDateTime ?? ''));
      const latest = rotations[0];
      return latest ? { actionState: latest.actionState, lastUpdatedDateTime: latest.lastUpdatedDateTime } : null;
    },
    async grantedRoles() {
      try {
        return rolesOfToken(await options.tokenProvider.getAccessToken());
      } catch {
        return null;
      }
    },
  };
}
