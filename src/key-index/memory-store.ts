import type { RecoveryKeyMetadata } from '../graph/types.js';
import { normaliseKeyId } from '../disclosure/rules.js';
import type { IndexedKey, KeyIndexStore, KeyIndexSyncStatus } from './types.js';

/**
 * The key index in this process's memory: the file store's working copy, and the store of tests.
 * A tenant's 100,000 keys take some tens of megabytes; a prefix search scans them (milliseconds).
 */

export const NEVER_SYNCED: KeyIndexSyncStatus = { state: 'never', startedAt: null, completedAt: null, lastSuccessAt: null, pages: 0, keys: 0, error: null };

export class MemoryKeyIndex implements KeyIndexStore {
  protected readonly keys = new Map<string, IndexedKey>();
  /** Each key ID's hex digits, computed once: a look-up scans 100,000 of them. */
  readonly #hex = new Map<string, string>();
  protected sync: KeyIndexSyncStatus = { ...NEVER_SYNCED };
  #runningSince: string | null = null;

  async findByKeyIdPrefix(hex: string): Promise<IndexedKey[]> {
    const found: IndexedKey[] = [];
    for (const [id, digits] of this.#hex) if (digits.startsWith(hex)) found.push({ ...this.keys.get(id)! });
    return found;
  }

  async entries(): Promise<IndexedKey[]> {
    return [...this.keys.values()].map((entry) => ({ ...entry }));
  }

  protected upsert(key: RecoveryKeyMetadata, seenAt: string): void {
    const id = key.id.toLowerCase();
    const known = this.keys.get(id);
    this.set(id, {
      id,
      deviceId: key.deviceId.toLowerCase(),
      volumeType: key.volumeType,
      createdDateTime: key.createdDateTime,
      firstSeenAt: known?.firstSeenAt ?? seenAt,
      lastSeenAt: seenAt,
      removedAt: null,
    });
  }

  /** Adds or replaces an entry (the file store's load goes through here too). */
  protected set(id: string, entry: IndexedKey): void {
    this.keys.set(id, entry);
    this.#hex.set(id, normaliseKeyId(id));
  }

  async refreshDevice(deviceId: string, keys: readonly RecoveryKeyMetadata[], at: string): Promise<void> {
    const device = deviceId.toLowerCase();
    const listed = new Set(keys.map((key) => key.id.toLowerCase()));
    for (const key of keys) this.upsert({ ...key, deviceId: key.deviceId || device }, at);
    for (const entry of this.keys.values()) {
      if (entry.deviceId === device && entry.removedAt === null && !listed.has(entry.id)) entry.removedAt = at;
    }
  }

  async beginSync(startedAt: string, staleBefore: string): Promise<boolean> {
    if (this.#runningSince !== null && this.#runningSince > staleBefore) return false;
    this.#runningSince = startedAt;
    this.sync = { ...this.sync, state: 'running', startedAt, completedAt: null, pages: 0, keys: 0, error: null };
    return true;
  }

  async applyPage(keys: readonly RecoveryKeyMetadata[], startedAt: string, progress: { pages: number; keys: number; at: string }): Promise<void> {
    for (const key of keys) this.upsert(key, startedAt);
    this.sync = { ...this.sync, pages: progress.pages, keys: progress.keys };
    if (this.#runningSince !== null) this.#runningSince = progress.at;
  }

  async endSync(outcome: { startedAt: string; completedAt: string; pages: number; keys: number; error: string | null }): Promise<void> {
    const ok = outcome.error === null;
    if (ok) {
      for (const entry of this.keys.values()) if (entry.removedAt === null && entry.lastSeenAt < outcome.startedAt) entry.removedAt = outcome.completedAt;
    }
    this.#runningSince = null;
    this.sync = {
      state: ok ? 'succeeded' : 'failed',
      startedAt: outcome.startedAt,
      completedAt: outcome.completedAt,
      lastSuccessAt: ok ? outcome.completedAt : this.sync.lastSuccessAt,
      pages: outcome.pages,
      keys: outcome.keys,
      error: outcome.error,
    };
  }

  async status(): Promise<KeyIndexSyncStatus> {
    return { ...this.sync };
  }

  async close(): Promise<void> {}
}
