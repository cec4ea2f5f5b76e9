import type { Reconciler } from '../reconcile/reconciler.js';
import type { JobFactory } from './periodic-jobs.js';
import { timedLeaderJob } from './timed-job.js';

/**
 * The leader reconciles with Entra's audit log every RECONCILE_INTERVAL_MINUTES (0: never on a
 * timer; `POST /api/v1/audit/reconciliation/run` still starts one). The first run comes a minute
 * after start-up, once the instance has settled who leads.
 */

const FIRST_RUN_DELAY_MS = 60_000;

export function reconciliationJob(reconciler: Reconciler): JobFactory {
  return ({ config, isLeader, logger }) => {
    const minutes = config.reconcile.intervalMinutes;
    if (minutes === 0) return null;
    return timedLeaderJob({
      firstDelayMs: FIRST_RUN_DELAY_MS,
      everyMs: minutes * 60_000,
      isLeader,
      logger,
      work: () => reconciler.run(),
      failure: 'the reconciliation run could not be recorded',
    });
  };
}
