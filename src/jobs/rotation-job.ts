import type { RotationService } from '../rotation/rotation-service.js';
import type { JobFactory } from './periodic-jobs.js';
import { timedLeaderJob } from './timed-job.js';

/**
 * The leader looks at every open rotation each ROTATION_CHECK_SECONDS: a new key listed for the
 * device makes it done, Intune's action result may make it not_supported or failed, and one past
 * ROTATION_DEADLINE_HOURS becomes overdue (and keeps being looked at, in case the key comes late).
 * Rotations asked for before ROTATE_AFTER_DISCLOSURE was turned off are still followed.
 */
export function rotationJob(rotations: Pick<RotationService, 'checkOpen'>): JobFactory {
  return ({ config, isLeader, logger }) => {
    const everyMs = config.rotation.checkSeconds * 1_000;
    return timedLeaderJob({ firstDelayMs: everyMs, everyMs, isLeader, logger, work: () => rotations.checkOpen(), failure: 'the open rotations could not be checked' });
  };
}
