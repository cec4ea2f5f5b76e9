import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import type { AuditStore } from '../audit/store.js';
import { configuredCheckpointer } from '../audit/checkpoints/setup.js';
import { startLeaderElection } from './leader.js';

/**
 * The work one process per trail does on a timer — the signed checkpoints of the chain head
 * today — run by the leader (leader.ts): every process starts the jobs, and each job does its
 * work only while its process leads. With the file store there is one process, which leads.
 */

export interface PeriodicJobs {
  /** Whether this process runs the jobs now (`/readyz` and the tests look). */
  isLeader(): boolean;
  /** Starts the timers; call once KeyDesk listens. */
  start(): void;
  /**
   * At shutdown, after the last request has finished and before the audit store closes: signs a
   * last checkpoint (the leader only), then gives leadership up.
   */
  stop(): Promise<void>;
}

export function startPeriodicJobs(config: KeyDeskConfig, audit: AuditStore, logger: Logger): PeriodicJobs {
  const jobsLogger = logger.child({ component: 'jobs' }, { level: 'info' });
  const leader = startLeaderElection({ databaseUrl: audit.kind === 'postgres' ? (config.database?.url ?? null) : null, logger: jobsLogger });
  const checkpointer = configuredCheckpointer(config, audit, { isLeader: () => leader.isLeader(), logger: logger.child({ component: 'audit' }, { level: 'info' }) });
  let stopping: Promise<void> | null = null;
  return {
    isLeader: () => leader.isLeader(),
    start: () => checkpointer?.start(),
    stop() {
      stopping ??= (async () => {
        try {
          await checkpointer?.stop();
        } finally {
          await leader.stop();
        }
      })();
      return stopping;
    },
  };
}
