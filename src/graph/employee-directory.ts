import type { KeyDeskConfig } from '../config/config.js';
import { GUID } from '../schemas/common.js';
import { isObject, stringOrNull, toDevice } from './graph-answers.js';
import type { GraphLogger } from './graph-call.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import { DEVICE_SELECT } from './graph-gateway.js';
import { GraphRequests, problemFor, unexpectedAnswer, type Operation } from './graph-requests.js';
import { odataString, pathSegment, queryString } from './odata.js';
import type { GraphBudget } from './request-budget.js';
import type { Device } from './types.js';

/**
 * What the self-service door asks of the directory about the signed-in employee: who they are
 * (a member, not a guest; enabled), whether they are in SELF_SERVICE_GROUP_ID, and which devices
 * are theirs. Nothing here reads a recovery key: the disclosure itself goes through the one intake.
 */

export interface Employee {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  accountEnabled: boolean | null;
  /** `Member` or `Guest`; null when Graph did not say. */
  userType: string | null;
}

export interface EmployeeDirectory {
  /** The user with this object id, or null. */
  getEmployee(userId: string, budget: GraphBudget): Promise<Employee | null>;
  /** True when the user is a member of the group, directly or through nested groups. */
  isMemberOf(userId: string, groupId: string, budget: GraphBudget): Promise<boolean>;
  /** The devices the user is a registered owner of, then those Intune names them the primary user of (owners not expanded). */
  devicesOf(userId: string, budget: GraphBudget): Promise<Device[]>;
}

const EMPLOYEE_SELECT = 'id,userPrincipalName,displayName,accountEnabled,userType';
/** More devices than anyone uses; it only bounds the paging. */
const DEVICE_LIMIT = 100;

const GET_EMPLOYEE: Operation = { name: 'getEmployee', what: 'read the signed-in employee', permission: 'User.Read.All' };
const CHECK_GROUP: Operation = { name: 'checkMemberGroups', what: "check the employee's membership of SELF_SERVICE_GROUP_ID", permission: 'GroupMember.Read.All' };
const OWNED_DEVICES: Operation = { name: 'ownedDevices', what: "list the employee's devices", permission: 'Device.Read.All' };
const PRIMARY_USER_DEVICES: Operation = { name: 'primaryUserDevices', what: 'list the devices Intune names the employee the primary user of', permission: 'DeviceManagementManagedDevices.Read.All' };
const GET_DEVICE: Operation = { name: 'getDevice', what: 'read the device', permission: 'Device.Read.All' };

function toEmployee(raw: unknown): Employee | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  const upn = stringOrNull(raw.userPrincipalName);
  if (id === null || upn === null) return null;
  const accountEnabled = typeof raw.accountEnabled === 'boolean' ? raw.accountEnabled : null;
  return { id, userPrincipalName: upn, displayName: stringOrNull(raw.displayName), accountEnabled, userType: stringOrNull(raw.userType) };
}

/** A user id is a GUID; checked before it goes into a path, so nothing else can walk it. */
function userPath(userId: string): string {
  if (!GUID.test(userId)) throw new TypeError('a user id must be a GUID');
  return `users/${pathSegment(userId)}`;
}

export function employeeDirectoryOver(requests: GraphRequests): EmployeeDirectory {
  const deviceById = async (deviceId: string, budget: GraphBudget): Promise<Device | null> => {
    const path = `devices${queryString({ $filter: `deviceId eq ${odataString(deviceId)}`, $select: DEVICE_SELECT })}`;
    const { value } = await requests.getList(GET_DEVICE, path, budget);
    return value.map(toDevice).find((device): device is Device => device !== null) ?? null;
  };
  return {
    async getEmployee(userId, budget) {
      const answer = await requests.get(GET_EMPLOYEE, `${userPath(userId)}${queryString({ $select: EMPLOYEE_SELECT })}`, budget);
      if (answer.status === 404) return null;
      if (answer.status !== 200) throw problemFor(GET_EMPLOYEE, answer);
      return toEmployee(answer.body);
    },
    async isMemberOf(userId, groupId, budget) {
      // checkMemberGroups is transitive (nested groups count) and answers for one group in one call.
      const answer = await requests.post(CHECK_GROUP, `${userPath(userId)}/checkMemberGroups`, { groupIds: [groupId] }, budget);
      if (answer.status !== 200) throw problemFor(CHECK_GROUP, answer);
      const value = answer.body?.value;
      if (!Array.isArray(value)) throw unexpectedAnswer(CHECK_GROUP, answer, 'no list');
      return value.some((id) => typeof id === 'string' && id.toLowerCase() === groupId.toLowerCase());
    },
    async devicesOf(userId, budget) {
      const owned = await requests.collect(OWNED_DEVICES, `${userPath(userId)}/ownedDevices${queryString({ $select: DEVICE_SELECT })}`, DEVICE_LIMIT, budget);
      // ownedDevices lists directory objects; only devices count.
      const devices = owned.items.filter((raw) => isObject(raw) && raw['@odata.type'] === '#microsoft.graph.device').map(toDevice).filter((d): d is Device => d !== null);
      const managedPath = `deviceManagement/managedDevices${queryString({ $filter: `userId eq ${odataString(userId)}`, $select: 'id,azureADDeviceId,userId' })}`;
      const managed = await requests.collect(PRIMARY_USER_DEVICES, managedPath, DEVICE_LIMIT, budget);
      const known = new Set(devices.map((device) => device.deviceId.toLowerCase()));
      const more = [...new Set(managed.items.filter(isObject).map((raw) => stringOrNull(raw.azureADDeviceId)?.toLowerCase()).filter((id): id is string => id !== undefined && GUID.test(id) && !known.has(id)))];
      const found = await Promise.all(more.slice(0, Math.max(0, budget.available)).map((deviceId) => deviceById(deviceId, budget)));
      return [...devices, ...found.filter((d): d is Device => d !== null)];
    },
  };
}

export interface EmployeeDirectoryOptions {
  logger: GraphLogger;
  tokenProvider: GraphClientOptions['authenticationProvider'];
}

export function createEmployeeDirectory(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: EmployeeDirectoryOptions): EmployeeDirectory {
  const client = createGraphClient(config, { logger: options.logger, authenticationProvider: options.tokenProvider });
  return employeeDirectoryOver(new GraphRequests(client, config.graphBaseUrl));
}
