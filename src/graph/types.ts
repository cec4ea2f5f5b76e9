/**
 * What KeyDesk needs from Microsoft Graph, in the helpdesk's words. The disclosure rules depend on
 * this port only, so they can be tested with a plain fake and the gateway with nock. The shapes
 * are the schemas' (src/schemas/device.ts).
 */
import type { Device, DirectoryUser, IntuneRecord, RecoveryKeyMetadata, RecoveryKeyWithPassword } from '../schemas/device.js';
import type { GraphBudget } from './request-budget.js';

export type { Device, DeviceOwner, DirectoryUser, IntuneRecord, RecoveryKeyMetadata, RecoveryKeyWithPassword, VolumeType } from '../schemas/device.js';

export interface DeviceSearchResult {
  devices: Device[];
  /** True when more devices matched than `limit` (or than one request may fetch) and the list was cut. */
  capped: boolean;
  limit: number;
}

export interface RecoveryPasswordRead {
  recoveryKey: RecoveryKeyWithPassword;
  /** Graph's `request-id` response header: matches the tenant's own audit log entry. */
  graphRequestId: string | null;
}

/**
 * Every call takes the Graph budget of the KeyDesk request it serves (a look-up's or a
 * disclosure's), so no request makes more Graph requests than it allows; a search stops paging
 * (`capped`) rather than go past it. Without one, a call is not counted (start-up checks, tests).
 */
export interface GraphGateway {
  /** Devices whose display name is exactly `name`, with their registered owners. */
  findDevicesByName(name: string, budget?: GraphBudget): Promise<DeviceSearchResult>;
  /** Devices whose display name starts with `prefix`, with their registered owners. */
  findDevicesByPrefix(prefix: string, budget?: GraphBudget): Promise<DeviceSearchResult>;
  /** The device with this Entra device ID, with its registered owners, or null. */
  getDevice(deviceId: string, budget?: GraphBudget): Promise<Device | null>;
  /** The device's Intune record (primary user), or null when Intune does not manage it. */
  getIntuneRecord(deviceId: string, budget?: GraphBudget): Promise<IntuneRecord | null>;
  /** The user with this user principal name (its account state included), or null. */
  findUserByUpn(upn: string, budget?: GraphBudget): Promise<DirectoryUser | null>;
  /**
   * Metadata of every recovery key escrowed for the device (Entra device ID). A cache in front may
   * answer from memory; `fresh` makes it ask Graph.
   */
  listRecoveryKeys(deviceId: string, budget?: GraphBudget, options?: { fresh?: boolean }): Promise<RecoveryKeyMetadata[]>;
  /**
   * Reads the recovery password of exactly one key (`$select=key`). Each call is written to the
   * tenant's Entra audit log, so it must only be made for the key being disclosed.
   * `clientRequestId` is sent as `client-request-id` so both audit trails can be joined.
   */
  readRecoveryPassword(keyId: string, clientRequestId: string, budget?: GraphBudget): Promise<RecoveryPasswordRead>;
  /** True when key lists may come from a cache, so a key ID that matches none is worth one fresh list. */
  readonly cachesRecoveryKeys?: boolean;
  /** Drops what a cache remembers of the device (its cached keys turned out stale). */
  forgetDevice?(deviceId: string): void;
}

/** Who read a key, as Entra's directory audit names them (`initiatedBy.app` or `initiatedBy.user`). */
export interface KeyReadInitiator {
  kind: 'app' | 'user' | 'unknown';
  appId: string | null;
  servicePrincipalId: string | null;
  userPrincipalName: string | null;
  userId: string | null;
  displayName: string | null;
  ipAddress: string | null;
}

/** One "Read BitLocker key" event of Entra's directory audit (category KeyManagement). */
export interface EntraKeyRead {
  /** The directoryAudit's `id`. */
  entraEventId: string;
  activityDateTime: string;
  /** The key ID read (from `targetResources[0]`), or null when Entra's entry names none KeyDesk recognises. */
  keyId: string | null;
  initiatedBy: KeyReadInitiator;
  correlationId: string | null;
  /** GUIDs found in `additionalDetails` (where a `client-request-id` may be carried). */
  detailIds: string[];
  result: string | null;
}

/**
 * Entra's own record of every recovery-key read (`/auditLogs/directoryAudits`, application
 * permissions AuditLog.Read.All and Directory.Read.All), paced at 5 requests per 10 s.
 */
export interface EntraAuditLog {
  /** Every "Read BitLocker key" event with `from <= activityDateTime <= to` (all pages). */
  listKeyReads(window: { from: string; to: string }): Promise<EntraKeyRead[]>;
  /**
   * The Entra device ID of a recovery key, read WITHOUT `$select` (any `$select` makes Entra write
   * a key-read event of its own); null when Graph has no such key.
   */
  deviceIdOfKey(keyId: string): Promise<string | null>;
}
