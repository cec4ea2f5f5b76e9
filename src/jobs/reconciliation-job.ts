import type { Reconciler } from '../reconcile/reconciler.js';
import type { JobFactory, LeaderJob } from './periodic-jobs.js';

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
    let timer: NodeJS.Timeout | null = null;
    let current: Promise<unknown> | null = null;
    const tick = () => {
      if (!isLeader() || current) return;
      current = reconciler
        .run()
        .catch((error: unknown) => logger.error({ err: error }, 'the reconciliation run could not be recorded'))
        .finally(() => {
          current = null;
        });
    };
    const job: LeaderJob = {
      start() {
        timer = setTimeout(function next() {
          tick();
          timer = setTimeout(next, minutes * 60_000).unref();
        }, FIRST_RUN_DELAY_MS).unref();
      },
      async stop() {
        if (timer) clearTimeout(timer);
        timer = null;
        await current;
      },
    };
    return job;
  };
}
