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
