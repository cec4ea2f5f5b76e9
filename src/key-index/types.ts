import type { RecoveryKeyMetadata, VolumeType } from '../graph/types.js';

/**
 * The key-metadata index: every escrowed key's ID, device and dates as Graph's tenant-wide key
 * list gave them — never the recovery password, which that list never carries. It only finds the
 * device a key ID belongs to; Graph confirms the device before anything is read.
 */

export interface IndexedKey {
  /** The key ID, lower case, as Graph writes it. */
  id: string;
  deviceId: string;
  volumeType: VolumeType;
  createdDateTime: string;
  firstSeenAt: string;
  lastSeenAt: string;
  /** When a full sync or a read of the device's keys no longer found it in Entra; null while Entra holds it. */
  removedAt: string | null;
}

export type KeyIndexSyncState = 'never' | 'running' | 'succeeded' | 'failed';

export interface KeyIndexSyncStatus {
  state: KeyIndexSyncState;
  startedAt: string | null;
  completedAt: string | null;
  lastSuccessAt: string | null;
  /** Pages of Graph's key list read by the current (or last) sync. */
  pages: number;
  /** Keys seen by the current (or last) sync. */
  keys: number;
  /** Why the last sync failed (a problem code and its detail; never a Graph body). */
  error: string | null;
}

export interface KeyIndexStore {
  /** Index entries whose key ID (hyphens removed, lower case) starts with `hex`, removed ones included. */
  findByKeyIdPrefix(hex: string): Promise<IndexedKey[]>;
  /** Every entry, for the escrow coverage report. */
  entries(): Promise<IndexedKey[]>;
  /** A device's key list as Graph just gave it: its keys are upserted, its other entries marked removed. */
  refreshDevice(deviceId: string, keys: readonly RecoveryKeyMetadata[], at: string): Promise<void>;
  /** Takes the sync lease (one sync at a time, on any instance); false while another holds it. */
  beginSync(startedAt: string, staleBefore: string): Promise<boolean>;
  /** One page of the tenant-wide list, seen by the sync that began at `startedAt`. */
  /** Stores one page of the sync begun at `startedAt`; `progress.at` (now) renews the sync's lease. */
  applyPage(keys: readonly RecoveryKeyMetadata[], startedAt: string, progress: { pages: number; keys: number; at: string }): Promise<void>;
  /**
   * Ends the sync. On success every entry not seen since `startedAt` (neither by this sync nor by
   * a device refresh meanwhile) is marked removed at `completedAt`.
   */
  endSync(outcome: { startedAt: string; completedAt: string; pages: number; keys: number; error: string | null }): Promise<void>;
  status(): Promise<KeyIndexSyncStatus>;
  close(): Promise<void>;
}

