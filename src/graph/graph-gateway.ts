import { randomUUID } from 'node:crypto';
import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import type { KeyDeskConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { GraphCall, type GraphLogger } from './graph-call.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import { odataString, pathSegment, queryString } from './odata.js';
import { GraphTokenProvider } from './token-provider.js';
import type {
  Device,
  DeviceOwner,
  DeviceSearchResult,
  GraphGateway,
  IntuneRecord,
  RecoveryKeyMetadata,
  RecoveryPasswordRead,
  VolumeType,
} from './types.js';

/** Most devices one name or prefix search returns; more make `capped: true`. */
export const DEVICE_SEARCH_LIMIT = 500;

/** Entra keeps at most 200 keys per device; this only stops a runaway paging loop. */
const RECOVERY_KEY_LIMIT = 1_000;

export type GraphGatewayConfig = Pick<
  KeyDeskConfig,
  'tenantId' | 'clientId' | 'clientCredential' | 'authorityHost' | 'graphBaseUrl' | 'graph'
>;

export interface GraphGatewayOptions {
  logger: GraphLogger;
  /** Waits between retries; tests pass a recorder so they assert waits, not wall time. */
  sleep?: GraphClientOptions['sleep'];
  /** Epoch milliseconds: the retry budget and HTTP-date Retry-After values are measured with it. */
  now?: GraphClientOptions['now'];
  /** Jitter source in [0, 1). */
  random?: GraphClientOptions['random'];
  retry?: GraphClientOptions['retry'];
  /** Defaults to an MSAL-backed GraphTokenProvider built from the configuration. */
  tokenProvider?: GraphClientOptions['authenticationProvider'];
}

const DEVICE_SELECT = [
  'id',
  'deviceId',
  'displayName',
  'operatingSystem',
  'operatingSystemVersion',
  'approximateLastSignInDateTime',
  'trustType',
  'isManaged',
  'accountEnabled',
].join(',');
// Owners come inline so a device lookup stays one round trip; Graph expands at most 20 of them.
const DEVICE_EXPAND = 'registeredOwners($select=id,userPrincipalName,displayName)';
// Graph caps a page at 100 objects when $expand is used on directory objects.
const DEVICE_PAGE_SIZE = 100;

const INTUNE_SELECT = 'id,deviceName,userPrincipalName,userId,lastSyncDateTime';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RECOVERY_PASSWORD = /^\d{6}(?:-\d{6}){7}$/;
const GRAPH_ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

interface Operation {
  name: string;
  /** "KeyDesk could not …" */
  what: string;
  permission: string;
}

const FIND_DEVICES: Operation = { name: 'findDevices', what: 'search devices', permission: 'Device.Read.All' };
const GET_DEVICE: Operation = { name: 'getDevice', what: 'read the device', permission: 'Device.Read.All' };
const GET_INTUNE_RECORD: Operation = {
  name: 'getIntuneRecord',
  what: "read the device's Intune record",
  permission: 'DeviceManagementManagedDevices.Read.All',
};
const LIST_RECOVERY_KEYS: Operation = { name: 'listRecoveryKeys', what: "list the device's BitLocker recovery keys", permission: 'BitlockerKey.Read.All' };
const READ_RECOVERY_PASSWORD: Operation = { name: 'readRecoveryPassword', what: 'read the BitLocker recovery password', permission: 'BitlockerKey.Read.All' };

/** A recovery password: 8 groups of 6 digits, each group 11 × a 16-bit number. */
export function isRecoveryPassword(value: string): boolean {
  if (!RECOVERY_PASSWORD.test(value)) return false;
  return value.split('-').every((group) => {
    const n = Number(group);
    return n % 11 === 0 && n / 11 < 65_536;
  });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function booleanOrNull(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

/** Intune writes "0001-01-01T00:00:00Z" for a date it never had. */
function intuneDate(value: unknown): string | null {
  const text = stringOrNull(value);
  return text === null || text.startsWith('0001-01-01') ? null : text;
}

function volumeTypeOf(value: unknown): VolumeType {
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

export function createGraphGateway(config: GraphGatewayConfig, options: GraphGatewayOptions): GraphGateway {
  const { logger } = options;
  const tokenProvider = options.tokenProvider ?? new GraphTokenProvider(config, { logger, ...(options.now ? { now: options.now } : {}) });
  const client: Client = createGraphClient(config, {
    logger,
    authenticationProvider: tokenProvider,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const versionRoot = `${config.graphBaseUrl}/v1.0/`;
  let warnedOwnersWithoutUpn = false;

  interface GraphAnswer {
    status: number;
    body: Json | null;
    requestId: string | null;
  }

  /** One logical GET (retries included). `target` is a path under v1.0 or a full nextLink (sent verbatim). */
  async function get(operation: Operation, target: string, clientRequestId: string = randomUUID()): Promise<GraphAnswer> {
    const call = new GraphCall(operation.name, clientRequestId, target.startsWith('https://') ? target : null);
    let response: Response;
    try {
      // The SDK types get() as any; with ResponseType.RAW it resolves to the fetch Response, whatever the status.
      response = (await client.api(target).middlewareOptions([call]).responseType(ResponseType.RAW).get()) as Response;
    } catch (error) {
      if (call.problem) throw call.problem;
      throw new KeyDeskProblem('graph_error', `KeyDesk could not ${operation.what}: the request to Microsoft Graph failed.`, { cause: error });
    }
    const requestId = response.headers.get('request-id') ?? call.requestId;
    let body: Json | null = null;
    const text = await response.text();
    if (text !== '') {
      try {
        const parsed: unknown = JSON.parse(text);
        body = isObject(parsed) ? parsed : null;
      } catch {
        body = null;
      }
    }
    return { status: response.status, body, requestId };
  }

  /** The problem for a non-2xx answer. Only Graph's error code is used: messages and bodies stay out. */
  function problemFor(operation: Operation, answer: GraphAnswer): KeyDeskProblem {
    const error = answer.body?.error;
    const rawCode = isObject(error) ? error.code : undefined;
    const code = typeof rawCode === 'string' && GRAPH_ERROR_CODE.test(rawCode) ? rawCode : null;
    const said = `${answer.status}${code ? ` ${code}` : ''}`;
    const extensions = answer.requestId ? { graphRequestId: answer.requestId } : {};
    if (answer.status === 401 || answer.status === 403) {
      return new KeyDeskProblem(
        'graph_permission_missing',
        `Microsoft Graph refused to let KeyDesk ${operation.what} (${said}): grant KeyDesk's app registration the ` +
          `application permission ${operation.permission} and grant admin consent for it.`,
        { extensions },
      );
    }
    if (answer.status === 400) {
      return new KeyDeskProblem('graph_error', `Microsoft Graph rejected KeyDesk's request to ${operation.what} (${said}).`, { extensions });
    }
    return new KeyDeskProblem('graph_error', `Microsoft Graph could not ${operation.what} (${said}).`, { extensions });
  }

  function unexpectedAnswer(operation: Operation, answer: GraphAnswer, what: string): KeyDeskProblem {
    return new KeyDeskProblem('graph_error', `Microsoft Graph answered KeyDesk's request to ${operation.what} with ${what}.`, {
      extensions: answer.requestId ? { graphRequestId: answer.requestId } : {},
    });
  }

  /** Follows `@odata.nextLink` verbatim until `limit` items; `capped` when Graph had more. */
  async function collect(operation: Operation, firstPath: string, limit: number): Promise<{ items: unknown[]; capped: boolean }> {
    const items: unknown[] = [];
    let target: string | undefined = firstPath;
    while (target !== undefined) {
      const answer = await get(operation, target);
      if (answer.status !== 200) throw problemFor(operation, answer);
      const value = answer.body?.value;
      if (!Array.isArray(value)) throw unexpectedAnswer(operation, answer, 'no list');
      items.push(...value);
      const nextLink = answer.body?.['@odata.nextLink'];
      const more = typeof nextLink === 'string';
      if (items.length >= limit) return { items: items.slice(0, limit), capped: items.length > limit || more };
      if (!more) break;
      // The SDK would send KeyDesk's token to whatever host a nextLink names, as long as it is a Graph host.
      if (!nextLink.startsWith(versionRoot)) throw unexpectedAnswer(operation, answer, 'a next page outside the configured Graph base URL');
      target = nextLink;
    }
    return { items, capped: false };
  }

  function toOwner(raw: unknown): DeviceOwner | null {
    if (!isObject(raw) || raw['@odata.type'] !== '#microsoft.graph.user') return null;
    const id = stringOrNull(raw.id);
    if (id === null) return null;
    const owner: DeviceOwner = { id };
    const upn = stringOrNull(raw.userPrincipalName);
    const displayName = stringOrNull(raw.displayName);
    if (upn !== null) owner.userPrincipalName = upn;
    if (displayName !== null) owner.displayName = displayName;
    return owner;
  }

  function toDevice(raw: unknown): Device | null {
    if (!isObject(raw)) return null;
    const id = stringOrNull(raw.id);
    const deviceId = stringOrNull(raw.deviceId);
    // Without an Entra device ID a device can have neither recovery keys nor an Intune record.
    if (id === null || deviceId === null) return null;
    const owners = Array.isArray(raw.registeredOwners) ? raw.registeredOwners.map(toOwner).filter((o): o is DeviceOwner => o !== null) : [];
    if (!warnedOwnersWithoutUpn && owners.some((o) => o.userPrincipalName === undefined)) {
      warnedOwnersWithoutUpn = true;
      logger.warn(
        { graph: { permission: 'User.Read.All' } },
        'Graph returned registered owners without userPrincipalName: grant KeyDesk the User.Read.All application permission (with admin consent) so owners can be matched to callers',
      );
    }
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

  function devicesPath(filter: string): string {
    return `devices${queryString({ $filter: filter, $select: DEVICE_SELECT, $expand: DEVICE_EXPAND, $top: DEVICE_PAGE_SIZE })}`;
  }

  async function searchDevices(filter: string): Promise<DeviceSearchResult> {
    const { items, capped } = await collect(FIND_DEVICES, devicesPath(filter), DEVICE_SEARCH_LIMIT);
    return { devices: items.map(toDevice).filter((d): d is Device => d !== null), capped, limit: DEVICE_SEARCH_LIMIT };
  }

  return {
    findDevicesByName(name) {
      return searchDevices(`displayName eq ${odataString(name)}`);
    },

    findDevicesByPrefix(prefix) {
      return searchDevices(`startswith(displayName,${odataString(prefix)})`);
    },

    async getDevice(deviceId) {
      const answer = await get(GET_DEVICE, devicesPath(`deviceId eq ${odataString(deviceId)}`));
      if (answer.status !== 200) throw problemFor(GET_DEVICE, answer);
      const value = answer.body?.value;
      if (!Array.isArray(value)) throw unexpectedAnswer(GET_DEVICE, answer, 'no list');
      return value.map(toDevice).find((d): d is Device => d !== null) ?? null;
    },

    async getIntuneRecord(deviceId) {
      const path = `deviceManagement/managedDevices${queryString({ $filter: `azureADDeviceId eq ${odataString(deviceId)}`, $select: INTUNE_SELECT })}`;
      const answer = await get(GET_INTUNE_RECORD, path);
      if (answer.status !== 200) throw problemFor(GET_INTUNE_RECORD, answer);
      const value = answer.body?.value;
      if (!Array.isArray(value)) throw unexpectedAnswer(GET_INTUNE_RECORD, answer, 'no list');
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
      // A re-enrolled device can leave a stale record with the same azureADDeviceId: the one that
      // synced last names the current primary user.
      records.sort((a, b) => (b.lastSyncDateTime ?? '').localeCompare(a.lastSyncDateTime ?? ''));
      return records[0] ?? null;
    },

    async listRecoveryKeys(deviceId) {
      // No $select: `key` is only ever returned when selected, and the read of it is audited by Entra.
      const path = `informationProtection/bitlocker/recoveryKeys${queryString({ $filter: `deviceId eq ${odataString(deviceId)}` })}`;
      const { items } = await collect(LIST_RECOVERY_KEYS, path, RECOVERY_KEY_LIMIT);
      return items.filter(isObject).flatMap((raw): RecoveryKeyMetadata[] => {
        const id = stringOrNull(raw.id);
        if (id === null) return [];
        return [
          {
            id,
            deviceId: stringOrNull(raw.deviceId) ?? deviceId,
            volumeType: volumeTypeOf(raw.volumeType),
            createdDateTime: stringOrNull(raw.createdDateTime) ?? '',
          },
        ];
      });
    },

    async readRecoveryPassword(keyId, clientRequestId): Promise<RecoveryPasswordRead> {
      if (!GUID.test(clientRequestId)) throw new TypeError('clientRequestId must be a GUID: Graph echoes it in its own logs');
      // A key ID is a GUID; anything else could walk the path (`..`) and is not worth an audited read.
      if (!GUID.test(keyId)) {
        throw new KeyDeskProblem('key_not_found', 'Recovery keys are read by their full key ID (a GUID); the ID given is not one.');
      }
      // $select=key alone: users report `key` silently missing when other properties are selected too.
      const path = `informationProtection/bitlocker/recoveryKeys/${pathSegment(keyId)}${queryString({ $select: 'key' })}`;
      const answer = await get(READ_RECOVERY_PASSWORD, path, clientRequestId);
      if (answer.status === 404) {
        throw new KeyDeskProblem('key_not_found', 'Microsoft Graph has no recovery key with this ID.', {
          extensions: answer.requestId ? { graphRequestId: answer.requestId } : {},
        });
      }
      if (answer.status !== 200) throw problemFor(READ_RECOVERY_PASSWORD, answer);
      const body = answer.body ?? {};
      const key = body.key;
      if (typeof key !== 'string' || key === '') throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'no key');
      if (!isRecoveryPassword(key)) throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'a key that is not a 48-digit recovery password');
      const id = stringOrNull(body.id) ?? keyId;
      if (id.toLowerCase() !== keyId.toLowerCase()) throw unexpectedAnswer(READ_RECOVERY_PASSWORD, answer, 'another key than the one asked for');
      return {
        recoveryKey: {
          id,
          deviceId: stringOrNull(body.deviceId) ?? '',
          volumeType: volumeTypeOf(body.volumeType),
          createdDateTime: stringOrNull(body.createdDateTime) ?? '',
          key,
        },
        graphRequestId: answer.requestId,
      };
    },
  };
}
