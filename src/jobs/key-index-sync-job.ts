import type { KeyIndex } from '../key-index/key-index.js';
import type { JobFactory, LeaderJob } from './periodic-jobs.js';

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
    let timer: NodeJS.Timeout | null = null;
    let looking: Promise<unknown> | null = null;
    const due = async () => {
      const { state, lastSuccessAt, completedAt } = await keyIndex.status();
      if (state === 'running') return false;
      // After a failure, wait one look before trying again rather than hammer a failing Graph.
      if (state === 'failed' && completedAt !== null && now() - Date.parse(completedAt) < LOOK_EVERY_MS) return false;
      return lastSuccessAt === null || now() - Date.parse(lastSuccessAt) >= hours * 3_600_000;
    };
    const look = () => {
      if (!isLeader() || looking) return;
      looking = due()
        .then((yes) => (yes ? keyIndex.startSync() : null))
        .catch((error: unknown) => logger.error({ err: error }, 'the key index sync could not be started'))
        .finally(() => {
          looking = null;
        });
    };
    const job: LeaderJob = {
      start() {
        timer = setTimeout(function next() {
          look();
          timer = setTimeout(next, LOOK_EVERY_MS).unref();
        }, FIRST_LOOK_DELAY_MS).unref();
      },
      async stop() {
        if (timer) clearTimeout(timer);
        timer = null;
        await looking;
        await keyIndex.stop();
      },
    };
    return job;
  };
}
