import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/**
 * `WORKERS` > 1: this process is the primary. It prepares what must happen once per start (the
 * audit schema's migrations), forks the workers — each a whole KeyDesk, all listening on one port
 * (node:cluster hands connections round-robin) — replaces a worker that dies, and on SIGTERM or
 * SIGINT drains them all before it exits. It serves no request itself.
 */

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Runs before the first fork; a rejection stops start-up (main.ts maps it to an exit code). */
  prepare(): Promise<void>;
  /** How long a worker may take to drain before it is killed; past the workers' own grace. */
  drainMs?: number;
}

/** A worker that exits with this code met a problem a restart cannot fix (its configuration). */
const EX_CONFIG = 78;
/** A worker that lived this long was healthy: the next death restarts it at once. */
const HEALTHY_AFTER_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger } = options;
  await options.prepare();
  const started = new Map<number, number>();
  let restartDelayMs = 0;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? Date.now());
    started.delete(worker.id);
    if (stopping) return;
    if (code === EX_CONFIG) {
      logger.fatal({ worker: worker.process.pid, code }, 'a worker stopped on a configuration problem (above in its log); stopping every worker');
      void stopAll(EX_CONFIG);
      return;
    }
    restartDelayMs = lived >= HEALTHY_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(1_000, restartDelayMs * 2));
    logger.error({ worker: worker.process.pid, code, signal, restartInMs: restartDelayMs }, 'a worker died; starting another');
    setTimeout(() => !stopping && fork(), restartDelayMs);
  });

  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    logger.info({ workers: workers.length }, 'shutting down: draining every worker');
    await Promise.all(workers.map((worker) => drain(worker, options.drainMs ?? 30_000, logger)));
    logger.info('every worker stopped; bye');
    process.exit(exitCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stopAll(0));

  logger.info({ workers: options.workers }, `KeyDesk primary: starting ${options.workers} workers`);
  for (let i = 0; i < options.workers; i += 1) fork();
}

/** SIGTERM (the worker drains as a single process would), then SIGKILL if it outstays `ms`. */
function drain(worker: Worker, ms: number, logger: Logger): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn({ worker: worker.process.pid }, 'a worker did not drain in time; killing it');
      worker.process.kill('SIGKILL');
    }, ms);
    worker.once('exit', () => {
      clearTimeout(deadline);
      resolve();
    });
    worker.process.kill('SIGTERM');
  });
}

/** In a worker: a primary that died (even by SIGKILL) takes its workers with it, drained. */
export function followPrimary(stop: () => Promise<void>): void {
  if (!cluster.isWorker) return;
  process.once('disconnect', () => {
    void stop().finally(() => process.exit(0));
  });
}
