import type { KeyDeskConfig } from '../config/config.js';
import { isObject, stringOrNull, toKeyMetadata } from './graph-answers.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import type { GraphLogger } from './graph-call.js';
import { GraphRequests, unexpectedAnswer, type Operation } from './graph-requests.js';
import { queryString } from './odata.js';
import { RequestPacer } from './request-pacer.js';
import type { RecoveryKeyMetadata } from './types.js';

/**
 * Graph's tenant-wide recovery key list (`GET …/recoveryKeys` without a `$filter`): the metadata
 * of every escrowed key, paged by `@odata.nextLink` only (the list takes no `$top`), never a
 * recovery password. Never with `$select`: any `$select` on a recovery key makes Entra write a key
 * read of its own. Paced client-side, and with a retry budget long enough to honour any
 * Retry-After a 429 names: nobody waits on the phone for a background sync.
 */

/** How long one page may keep being retried (429 Retry-After waits included) before the sync fails. */
export const SYNC_RETRY_BUDGET_MS = 15 * 60_000;
export const KEY_LIST_WINDOW_MS = 10_000;

const LIST_TENANT_KEYS: Operation = { name: 'listTenantRecoveryKeys', what: "list the tenant's BitLocker recovery keys", permission: 'BitlockerKey.ReadBasic.All' };
const LIST_TENANT_DEVICES: Operation = { name: 'listTenantDevices', what: "list the tenant's devices", permission: 'Device.Read.All' };
const LIST_MANAGED_DEVICES: Operation = { name: 'listManagedDevices', what: "list Intune's managed devices", permission: 'DeviceManagementManagedDevices.Read.All' };
const FIRST_PAGE = 'informationProtection/bitlocker/recoveryKeys';
// $select on devices and managed devices is harmless (only a recovery key's $select is audited by
// Entra), and both lists take $top: 999 a page keeps a large tenant's inventory to few requests.
const DEVICES_PAGE = `devices${queryString({ $select: 'id,deviceId,displayName', $top: 999 })}`;
const MANAGED_PAGE = `deviceManagement/managedDevices${queryString({ $select: 'id,azureADDeviceId,deviceName,operatingSystem,isEncrypted', $top: 999 })}`;

/** An Entra device as the coverage report needs it. */
export interface InventoryDevice {
  deviceId: string;
  displayName: string;
}

/** An Intune managed device as the coverage report needs it. */
export interface InventoryManagedDevice {
  id: string;
  azureADDeviceId: string;
  deviceName: string;
  operatingSystem: string;
  isEncrypted: boolean;
}

export interface TenantKeyList {
  /** Reads every page in order, handing each to `onPage` before asking for the next. */
  readAll(onPage: (keys: RecoveryKeyMetadata[]) => Promise<void>): Promise<void>;
  /** Every Entra device (ID and name), at the same pace: the coverage report tells deleted devices by them. */
  readDevices(): Promise<InventoryDevice[]>;
  /** Every Intune managed device, at the same pace. */
  readManagedDevices(): Promise<InventoryManagedDevice[]>;
}

function toInventoryDevice(raw: unknown): InventoryDevice | null {
  if (!isObject(raw)) return null;
  const deviceId = stringOrNull(raw.deviceId);
  return deviceId === null ? null : { deviceId: deviceId.toLowerCase(), displayName: stringOrNull(raw.displayName) ?? '' };
}

function toManagedDevice(raw: unknown): InventoryManagedDevice | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  const azureADDeviceId = stringOrNull(raw.azureADDeviceId);
  if (id === null || azureADDeviceId === null) return null;
  return { id, azureADDeviceId: azureADDeviceId.toLowerCase(), deviceName: stringOrNull(raw.deviceName) ?? '', operatingSystem: stringOrNull(raw.operatingSystem) ?? '', isEncrypted: raw.isEncrypted === true };
}

export interface TenantKeyListOptions {
  logger: GraphLogger;
  tokenProvider: GraphClientOptions['authenticationProvider'];
  requestsPer10s: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function createTenantKeyList(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: TenantKeyListOptions): TenantKeyList {
  const timing = { ...(options.now ? { now: options.now } : {}), ...(options.sleep ? { sleep: options.sleep } : {}) };
  const client = createGraphClient(
    { graphBaseUrl: config.graphBaseUrl, graph: { ...config.graph, retryBudgetMs: SYNC_RETRY_BUDGET_MS } },
    { logger: options.logger, authenticationProvider: options.tokenProvider, retry: { maxAttempts: 20, maxDelayMs: 60_000 }, ...timing },
  );
  const pacer = new RequestPacer({ limit: options.requestsPer10s, windowMs: KEY_LIST_WINDOW_MS, ...timing });
  const requests = new GraphRequests(client, config.graphBaseUrl, () => pacer.take());
  const versionRoot = `${config.graphBaseUrl}/v1.0/`;
  async function readPages(operation: Operation, first: string, onPage: (value: unknown[]) => Promise<void>): Promise<void> {
    let target: string | null = first;
    while (target !== null) {
      const { value, answer } = await requests.getList(operation, target, null);
      await onPage(value);
      const nextLink = answer.body?.['@odata.nextLink'];
      if (typeof nextLink !== 'string') return;
      // The SDK would send KeyDesk's token to whatever Graph host a nextLink names.
      if (!nextLink.startsWith(versionRoot)) throw unexpectedAnswer(operation, answer, 'a next page outside the configured Graph base URL');
      target = nextLink;
    }
  }
  async function collect<T>(operation: Operation, first: string, toItem: (raw: unknown) => T | null): Promise<T[]> {
    const items: T[] = [];
    await readPages(operation, first, async (value) => {
      for (const raw of value) {
        const item = toItem(raw);
        if (item !== null) items.push(item);
      }
    });
    return items;
  }
  return {
    readAll: (onPage) => readPages(LIST_TENANT_KEYS, FIRST_PAGE, (value) => onPage(value.map((raw) => toKeyMetadata(raw, '')).filter((key): key is RecoveryKeyMetadata => key !== null && key.deviceId !== ''))),
    readDevices: () => collect(LIST_TENANT_DEVICES, DEVICES_PAGE, toInventoryDevice),
    readManagedDevices: () => collect(LIST_MANAGED_DEVICES, MANAGED_PAGE, toManagedDevice),
  };
}
