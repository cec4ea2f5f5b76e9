import type { RotationService } from '../rotation/rotation-service.js';
import type { JobFactory, LeaderJob } from './periodic-jobs.js';

/**
 * The leader looks at every open rotation each ROTATION_CHECK_SECONDS: a new key listed for the
 * device makes it done, Intune's action result may make it not_supported or failed, and one past
 * ROTATION_DEADLINE_HOURS becomes overdue (and keeps being looked at, in case the key comes late).
 * Rotations asked for before ROTATE_AFTER_DISCLOSURE was turned off are still followed.
 */
export function rotationJob(rotations: Pick<RotationService, 'checkOpen'>): JobFactory {
  return ({ config, isLeader, logger }) => {
    const everyMs = config.rotation.checkSeconds * 1_000;
    let timer: NodeJS.Timeout | null = null;
    let looking: Promise<unknown> | null = null;
    const look = () => {
      if (!isLeader() || looking) return;
      looking = rotations
        .checkOpen()
        .catch((error: unknown) => logger.error({ err: error }, 'the open rotations could not be checked'))
        .finally(() => {
          looking = null;
        });
    };
    const job: LeaderJob = {
      start() {
        timer = setTimeout(function next() {
          look();
          timer = setTimeout(next, everyMs).unref();
        }, everyMs).unref();
      },
      async stop() {
        if (timer) clearTimeout(timer);
        timer = null;
        await looking;
      },
    };
    return job;
  };
}
