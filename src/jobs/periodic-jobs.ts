import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import type { AuditStore } from '../audit/store.js';
import { configuredCheckpointer } from '../audit/checkpoints/setup.js';
import { startLeaderElection } from './leader.js';

/**
 * The work one process per trail does on a timer — the signed checkpoints of the chain head and
 * whatever else is listed in `jobs` — run by the leader (leader.ts): every process starts the
 * jobs, and each job does its work only while its process leads. With the file store there is
 * one process, which leads.
 */

export interface PeriodicJobs {
  /** Whether this process runs the jobs now (`/readyz` and the tests look). */
  isLeader(): boolean;
  /** Starts the timers; call once KeyDesk listens. */
  start(): void;
  /**
   * At shutdown, after the last request has finished and before the audit store closes: stops
   * every job (the checkpointer signs a last checkpoint), then gives leadership up.
   */
  stop(): Promise<void>;
}

/** One job on a timer. Its work checks `isLeader()` each time it runs. */
export interface LeaderJob {
  start(): void;
  stop(): Promise<void>;
}

export interface JobContext {
  config: KeyDeskConfig;
  audit: AuditStore;
  isLeader: () => boolean;
  logger: Logger;
}

/** Builds one job from the context, or null when the configuration turns it off. */
export type JobFactory = (context: JobContext) => LeaderJob | null;

const checkpoints: JobFactory = ({ config, audit, isLeader, logger }) =>
  configuredCheckpointer(config, audit, { isLeader, logger: logger.child({ component: 'audit' }, { level: 'info' }) });

export function startPeriodicJobs(config: KeyDeskConfig, audit: AuditStore, logger: Logger, jobs: readonly JobFactory[] = []): PeriodicJobs {
  const jobsLogger = logger.child({ component: 'jobs' }, { level: 'info' });
  const leader = startLeaderElection({ databaseUrl: audit.kind === 'postgres' ? (config.database?.url ?? null) : null, logger: jobsLogger });
  const context: JobContext = { config, audit, isLeader: () => leader.isLeader(), logger };
  // The checkpointer stops last: its final checkpoint covers what the other jobs wrote.
  const running = [...jobs, checkpoints].map((factory) => factory(context)).filter((job): job is LeaderJob => job !== null);
  let stopping: Promise<void> | null = null;
  return {
    isLeader: () => leader.isLeader(),
    start: () => running.forEach((job) => job.start()),
    stop() {
      stopping ??= (async () => {
        try {
          for (const job of running) await job.stop();
        } finally {
          await leader.stop();
        }
      })();
      return stopping;
    },
  };
}
