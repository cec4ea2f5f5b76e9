import type { Logger } from 'pino';
import type { AuditCaller, AuditTrail } from '../audit/types.js';
import { auditEntry } from '../audit/entry.js';
import type { RecoveryKeyMetadata } from '../graph/types.js';
import type { TenantKeyList } from '../graph/tenant-key-list.js';
import { KeyDeskProblem, isProblem } from '../problem/problem.js';
import { normaliseKeyId } from '../disclosure/rules.js';
import { keyIndexKeys, keyIndexSyncsTotal } from '../metrics/metrics.js';
import { latestPerKey } from '../jobs/latest-per-key.js';
import type { IndexedKey, KeyIndexStore, KeyIndexSyncStatus } from './types.js';

/**
 * The key-ID index as a service: a full sync from Graph's tenant-wide key list (one at a time
 * across instances, through the store's lease), a device's entries refreshed whenever KeyDesk
 * reads its key list, and the look-up by key ID. It finds the device a key ID names; it never
 * decides a disclosure (Graph confirms the device first) and never holds a recovery password.
 */

/**
 * A sync that has stored no page for this long is taken to be dead (its instance stopped without
 * ending it): each page renews the lease, and the longest wait between pages is a 429's
 * Retry-After of up to 15 minutes.
 */
const SYNC_LEASE_MS = 30 * 60_000;
/** At shutdown, how long to wait for the sync to notice and record its end (a Retry-After wait is not cut short). */
const STOP_WAIT_MS = 10_000;

export type SyncStart = 'started' | 'already_running';

export interface SyncRequester {
  caller: AuditCaller;
  requestId: string;
  callerRequestId: string | null;
}

export interface KeyIndexDeps {
  store: KeyIndexStore;
  list: TenantKeyList;
  audit: AuditTrail;
  now: () => number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Runs after each successful full sync (the escrow coverage report); a failure is logged, the sync stands. */
  afterFullSync?: () => Promise<unknown>;
}

export interface KeyIndex {
  /** Starts a full sync in the background unless one is running on any instance. With `requester`, the start is audited first. */
  startSync(requester?: SyncRequester): Promise<SyncStart>;
  status(): Promise<KeyIndexSyncStatus>;
  /** Entries whose key ID starts with the given digits (hyphens and case ignored). */
  findByKeyId(keyIdInput: string): Promise<IndexedKey[]>;
  /** Best effort: a failure is logged, never the reader's problem. */
  refreshDevice(deviceId: string, keys: readonly RecoveryKeyMetadata[]): void;
  /** Resolves when the sync this process runs (if any) and the device refreshes waiting have ended. */
  idle(): Promise<void>;
  /** At shutdown: the running sync stops before its next page and records a failed end; waits a little for it. */
  stop(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function failureOf(error: unknown): string {
  // A problem's detail never quotes a Graph body; anything else is named by its class only.
  return isProblem(error) ? `${error.code}: ${error.detail}` : `internal_error: ${error instanceof Error ? error.name : 'unknown error'}`;
}

/** One full sync: every page into the store, then its end (and on success, the keys Entra no longer lists marked removed). */
async function sync({ store, list, now, logger, afterFullSync }: KeyIndexDeps, startedAt: string, stopping: () => boolean): Promise<void> {
  const progress = { pages: 0, keys: 0 };
  let error: string | null = null;
  try {
    await list.readAll(async (keys) => {
      if (stopping()) throw new KeyDeskProblem('shutting_down', 'KeyDesk stopped during the sync; the next sync reads the list from the start.');
      progress.pages += 1;
      progress.keys += keys.length;
      await store.applyPage(keys, startedAt, { ...progress, at: iso(now()) });
    });
  } catch (cause) {
    error = failureOf(cause);
    logger.error({ err: cause, keyIndex: progress }, 'the key index sync failed; the index keeps what it had');
  }
  await store.endSync({ startedAt, completedAt: iso(now()), ...progress, error });
  keyIndexSyncsTotal.inc({ outcome: error === null ? 'succeeded' : 'failed' });
  if (error === null) {
    keyIndexKeys.set(progress.keys);
    logger.info({ keyIndex: progress }, 'key index synced from Graph');
    await afterFullSync?.().catch((cause: unknown) => logger.error({ err: cause }, 'the escrow coverage report could not be computed after the sync'));
  }
}

/** A sync reads the whole tenant's key metadata: who asked for it is on the record; unrecorded, the sync does not run. */
async function recordStart(deps: KeyIndexDeps, requester: SyncRequester, status: SyncStart, startedAt: string): Promise<void> {
  try {
    await deps.audit.append(auditEntry({ action: 'key_index_sync', outcome: 'granted', code: null, ...requester, details: { status } }));
  } catch (error) {
    if (status === 'started') await deps.store.endSync({ startedAt, completedAt: iso(deps.now()), pages: 0, keys: 0, error: 'audit_unavailable: the start could not be recorded' });
    throw error;
  }
}

/** Device refreshes written at once: the PostgreSQL index's pool is small and also serves look-ups and the sync. */
const REFRESH_CONCURRENCY = 2;

export function createKeyIndex(deps: KeyIndexDeps): KeyIndex {
  const { store, now, logger } = deps;
  let current: Promise<void> | null = null;
  let stopping = false;
  // A device's latest key list supersedes one still waiting: a burst of cold look-ups (every
  // worker warming its cache at once) waits here instead of past the pool's checkout timeout.
  const refreshes = latestPerKey<{ deviceId: string; keys: readonly RecoveryKeyMetadata[]; at: string }>(
    ({ deviceId, keys, at }) => store.refreshDevice(deviceId, keys, at),
    { concurrency: REFRESH_CONCURRENCY, onError: (error) => logger.warn({ err: error }, "the key index could not refresh a device's keys") },
  );

  return {
    async startSync(requester) {
      if (stopping) throw new KeyDeskProblem('shutting_down', 'KeyDesk is shutting down; start the sync again on a running instance.');
      const startedAt = iso(now());
      const began = await store.beginSync(startedAt, iso(now() - SYNC_LEASE_MS));
      const status: SyncStart = began ? 'started' : 'already_running';
      if (requester) await recordStart(deps, requester, status, startedAt);
      if (began) {
        current = sync(deps, startedAt, () => stopping)
          .catch((error: unknown) => logger.error({ err: error }, 'the key index sync could not record its end'))
          .finally(() => {
            current = null;
          });
      }
      return status;
    },
    status: () => store.status(),
    findByKeyId: (keyIdInput) => store.findByKeyIdPrefix(normaliseKeyId(keyIdInput)),
    refreshDevice(deviceId, keys) {
      refreshes.submit(deviceId.toLowerCase(), { deviceId, keys, at: iso(now()) });
    },
    idle: async () => {
      await current;
      await refreshes.idle();
    },
    async stop() {
      stopping = true;
      if (!current) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([current, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}
