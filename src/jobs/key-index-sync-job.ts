import type { KeyIndex } from '../key-index/key-index.js';
import type { JobFactory } from './periodic-jobs.js';
import { timedLeaderJob } from './timed-job.js';

/**
 * The leader syncs the key-ID index from Graph's tenant-wide key list once the last successful
 * sync is KEY_INDEX_SYNC_HOURS old (0: never on a timer; `POST /api/v1/recovery-keys/sync` still
 * starts one). It looks every few minutes, so a restarted or new leader picks up where the
 * schedule stands; the first look comes a minute after start-up, once the instances have settled
 * who leads. A failed sync is tried again at the next look.
 */

const FIRST_LOOK_DELAY_MS = 60_000;
const LOOK_EVERY_MS = 5 * 60_000;

export function keyIndexSyncJob(keyIndex: KeyIndex, now: () => number = Date.now): JobFactory {
  return ({ config, isLeader, logger }) => {
    const hours = config.keyIndex.syncHours;
    if (hours === 0) return null;
    const due = async () => {
      const { state, lastSuccessAt, completedAt } = await keyIndex.status();
      if (state === 'running') return false;
      // After a failure, wait one look before trying again rather than hammer a failing Graph.
      if (state === 'failed' && completedAt !== null && now() - Date.parse(completedAt) < LOOK_EVERY_MS) return false;
      return lastSuccessAt === null || now() - Date.parse(lastSuccessAt) >= hours * 3_600_000;
    };
    return timedLeaderJob({
      firstDelayMs: FIRST_LOOK_DELAY_MS,
      everyMs: LOOK_EVERY_MS,
      isLeader,
      logger,
      work: async () => ((await due()) ? keyIndex.startSync() : null),
      failure: 'the key index sync could not be started',
      onStop: () => keyIndex.stop(),
    });
  };
}
