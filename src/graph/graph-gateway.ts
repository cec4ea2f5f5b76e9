import type { KeyDeskConfig } from '../config/config.js';
import { GUID } from '../schemas/common.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { currentIntuneRecord, isObject, stringOrNull, toDevice, toKeyMetadata, toUser, volumeTypeOf, isRecoveryPassword } from './graph-answers.js';
import type { GraphLogger } from './graph-call.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import { GraphRequests, problemFor, unexpectedAnswer, type Operation } from './graph-requests.js';
import { odataString, pathSegment, queryString } from './odata.js';
import type { GraphBudget } from './request-budget.js';
import type { Device, DeviceSearchResult, GraphGateway, RecoveryKeyMetadata, RecoveryPasswordRead } from './types.js';

export { isRecoveryPassword } from './graph-answers.js';

/** Most devices one name or prefix search returns; more make `capped: true`. */
export const DEVICE_SEARCH_LIMIT = 500;

/** Entra keeps at most 200 keys per device; this only stops a runaway paging loop. */
const RECOVERY_KEY_LIMIT = 1_000;

export type GraphGatewayConfig = Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>;

export interface GraphGatewayOptions {
  logger: GraphLogger;
  /** Gives the SDK's AuthenticationHandler a Graph token for each logical call (the GraphTokenProvider). */
  tokenProvider: GraphClientOptions['authenticationProvider'];
  /** Waits between retries; tests pass a recorder so they assert waits, not wall time. */
  sleep?: GraphClientOptions['sleep'];
  /** Epoch milliseconds: the retry budget and HTTP-date Retry-After values are measured with it. */
  now?: GraphClientOptions['now'];
  /** Jitter source in [0, 1). */
  random?: GraphClientOptions['random'];
  retry?: GraphClientOptions['retry'];
}

export const DEVICE_SELECT = 'id,deviceId,displayName,operatingSystem,operatingSystemVersion,approximateLastSignInDateTime,trustType,isManaged,accountEnabled';
// Owners come inline so a device lookup stays one round trip; Graph expands at most 20 of them.
// `mail` is where a notification to the device's owners goes (src/notify/email-recipients.ts).
const DEVICE_EXPAND = 'registeredOwners($select=id,userPrincipalName,displayName,accountEnabled,mail)';
// Graph caps a page at 100 objects when $expand is used on directory objects.
const DEVICE_PAGE_SIZE = 100;
const INTUNE_SELECT = 'id,deviceName,userPrincipalName,userId,lastSyncDateTime';
const USER_SELECT = 'id,userPrincipalName,displayName,accountEnabled,mail';


const FIND_DEVICES: Operation = { name: 'findDevices', what: 'search devices', permission: 'Device.Read.All' };
const GET_DEVICE: Operation = { name: 'getDevice', what: 'read the device', permission: 'Device.Read.All' };
const GET_INTUNE_RECORD: Operation = { name: 'getIntuneRecord', what: "read the device's Intune record", permission: 'DeviceManagementManagedDevices.Read.All' };
const FIND_USER: Operation = { name: 'findUser', what: "read the requester's account", permission: 'User.Read.All' };
const LIST_RECOVERY_KEYS: Operation = { name: 'listRecoveryKeys', what: "list the device's BitLocker recovery keys", permission: 'BitlockerKey.Read.All' };
const READ_RECOVERY_PASSWORD: Operation = { name: 'readRecoveryPassword', what: 'read the BitLocker recovery password', permission: 'BitlockerKey.Read.All' };

function devicesPath(filter: string): string {
  return `devices${queryString({ $filter: filter, $select: DEVICE_SELECT, $expand: DEVICE_EXPAND, $top: DEVICE_PAGE_SIZE })}`;
}

/** Warns once when owners come back without UPNs: the requester check cannot pass without them. */
function ownersWithoutUpnWarning(logger: GraphLogger): (devices: Device[]) => Device[] {
  let warned = false;
  return (devices) => {
    if (!warned && devices.some((device) => device.registeredOwners.some((owner) => owner.userPrincipalName === undefined))) {
      warned = true;
      logger.warn(
        { graph: { permission: 'User.Read.All' } },
        'Graph returned registered owners without userPrincipalName: grant KeyDesk the User.Read.All application permission (with admin consent) so owners can be matched to callers',
      );
    }
    return devices;
  };
}

export function createGraphGateway(config: GraphGatewayConfig, options: GraphGatewayOptions): GraphGateway {
  const client = createGraphClient(config, {
    logger: options.logger,
    authenticationProvider: options.tokenProvider,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const requests = new GraphRequests(client, config.graphBaseUrl);
  const checkOwners = ownersWithoutUpnWarning(options.logger);
  const devicesOf = (items: unknown[]) => checkOwners(items.map(toDevice).filter((d): d is Device => d !== null));

  const searchDevices = async (filter: string, budget: GraphBudget | null): Promise<DeviceSearchResult> => {
    const { items, capped } = await requests.collect(FIND_DEVICES, devicesPath(filter), DEVICE_SEARCH_LIMIT, budget);
    return { devices: devicesOf(items), capped, limit: DEVICE_SEARCH_LIMIT };
  };

  return {
    findDevicesByName: (name, budget) => searchDevices(`displayName eq ${odataString(name)}`, budget ?? null),
    findDevicesByPrefix: (prefix, budget) => searchDevices(`startswith(displayName,${odataString(prefix)})`, budget ?? null),
    async getDevice(deviceId, budget) {
      const { value } = await requests.getList(GET_DEVICE, devicesPath(`deviceId eq ${odataString(deviceId)}`), budget ?? null);
      return devicesOf(value)[0] ?? null;
    },
    async getIntuneRecord(deviceId, budget) {
      const path = `deviceManagement/managedDevices${queryString({ $filter: `azureADDeviceId eq ${odataString(deviceId)}`, $select: INTUNE_SELECT })}`;
      return currentIntuneRecord((await requests.getList(GET_INTUNE_RECORD, path, budget ?? null)).value);
    },
    async findUserByUpn(upn, budget) {
      const path = `users${queryString({ $filter: `userPrincipalName eq ${odataString(upn)}`, $select: USER_SELECT })}`;
      const { value } = await requests.getList(FIND_USER, path, budget ?? null);
      return value.map(toUser).find((user) => user !== null) ?? null;
    },
    async listRecoveryKeys(deviceId, budget) {
      // No $select: `key` is only ever returned when selected, and the read of it is audited by Entra.
      const path = `informationProtection/bitlocker/recoveryKeys${queryString({ $filter: `deviceId eq ${odataString(deviceId)}` })}`;
      const { items } = await requests.collect(LIST_RECOVERY_KEYS, path, RECOVERY_KEY_LIMIT, budget ?? null);
      return items.map((raw) => toKeyMetadata(raw, deviceId)).filter((key): key is RecoveryKeyMetadata => key !== null);
    },
    readRecoveryPassword: (keyId, clientRequestId, budget) => readRecoveryPassword(requests, keyId, clientRequestId, budget ?? null),
  };
}

async function readRecoveryPassword(requests: GraphRequests, keyId: string, clientRequestId: string, budget: GraphBudget | null): Promise<RecoveryPasswordRead> {
  if (!GUID.test(clientRequestId)) throw new TypeError('clientRequestId must be a GUID: Graph echoes it in its own logs');
  // A key ID is a GUID; anything else could walk the path (`..`) and is not worth an audited read.
  if (!GUID.test(keyId)) {
    throw new KeyDeskProblem('key_not_found', 'Recovery keys are read by their full key ID (a GUID); the ID given is not one.');
  }
  // $select=key alone: users report `key` silently missing when other properties are selected too.
  const path = `informationProtection/bitlocker/recoveryKeys/${pathSegment(keyId)}${queryString({ $select: 'key' })}`;
  const answer = await requests.get(READ_RECOVERY_PASSWORD, path, budget, clientRequestId);
  if (answer.status === 404) {
    throw new KeyDeskProblem('key_not_found', 'Microsoft Graph has no recovery key with this ID.', {
      extensions: answer.requestId ? { graphRequestId: answer.requestId } : {},
    });
  }
  if (answer.status !== 200) throw problemFor(READ_RECOVERY_PASSWORD, answer);
  const body = isObject(answer.body) ? answer.body : {};
  const key = body.key;
  if (typeof key !== 'string' || key === '') throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'no key');
  if (!isRecoveryPassword(key)) throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'a key that is not a 48-digit recovery password');
  const id = stringOrNull(body.id) ?? keyId;
  if (id.toLowerCase() !== keyId.toLowerCase()) throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'another key than the one asked for');
  return {
    recoveryKey: { id, deviceId: stringOrNull(body.deviceId) ?? '', volumeType: volumeTypeOf(body.volumeType), createdDateTime: stringOrNull(body.createdDateTime) ?? '', key },
    graphRequestId: answer.requestId,
  };
}
