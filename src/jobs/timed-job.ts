import type { Logger } from 'pino';
import type { LeaderJob } from './periodic-jobs.js';

/**
 * A leader job on a timer: `work` runs after `firstDelayMs`, then every `everyMs`, only while this
 * process leads and never twice at once; a failure is logged with `failure` and the next tick
 * tries again. Stopping clears the timer, waits for the work under way, then runs `onStop`.
 */
export interface TimedJobOptions {
  firstDelayMs: number;
  everyMs: number;
  isLeader: () => boolean;
  logger: Pick<Logger, 'error'>;
  work: () => Promise<unknown>;
  /** The log line of a failed run. */
  failure: string;
  onStop?: () => Promise<unknown>;
}

export function timedLeaderJob(options: TimedJobOptions): LeaderJob {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  const tick = () => {
    if (!options.isLeader() || running) return;
    running = options
      .work()
      .catch((error: unknown) => options.logger.error({ err: error }, options.failure))
      .finally(() => {
        running = null;
      });
  };
  return {
    start() {
      timer = setTimeout(function next() {
        tick();
        timer = setTimeout(next, options.everyMs).unref();
      }, options.firstDelayMs).unref();
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      await options.onStop?.();
    },
  };
}
