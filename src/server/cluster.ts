import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/**
 * `WORKERS` > 1: this process is the primary. It prepares what must happen once per start (the
 * audit schema's migrations), forks the workers — each a whole KeyDesk, all listening on one port
 * (node:cluster hands connections round-robin) — replaces a worker that dies, and on SIGTERM or
 * SIGINT drains them all before it exits 0. It serves no request itself.
 */

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Runs before the first fork; a rejection stops start-up (main.ts maps it to an exit code). */
  prepare(): Promise<void>;
  /**
   * How long a worker may take to drain before it is killed: past a worker's own 20 s grace for
   * in-flight requests, inside the 30 s a container platform gives before SIGKILL.
   */
  drainMs?: number;
}

/** A worker that exits with this code met a problem a restart cannot fix (its configuration). */
export const EX_CONFIG = 78;
/** A worker that lived this long was healthy: the next death restarts it at once. */
const HEALTHY_AFTER_MS = 60_000;
const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
const DEFAULT_DRAIN_MS = 25_000;

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger } = options;
  await options.prepare();
  const started = new Map<number, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let restartDelayMs = 0;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
  };

  const stopAll = async (exitCode: number, why: string) => {
    if (stopping) return;
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    logger.info({ workers: workers.length }, `${why}: draining every worker`);
    await Promise.all(workers.map((worker) => drain(worker, options.drainMs ?? DEFAULT_DRAIN_MS, logger)));
    logger.info({ exitCode }, 'every worker stopped; bye');
    process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? Date.now());
    started.delete(worker.id);
    if (stopping) return;
    if (code === EX_CONFIG) {
      logger.fatal({ worker: worker.id, pid: worker.process.pid, code }, 'a worker stopped on a configuration problem (above in its log); stopping every worker');
      void stopAll(EX_CONFIG, 'a worker cannot run');
      return;
    }
    restartDelayMs = nextRestartDelay(restartDelayMs, lived);
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: restartDelayMs }, 'a worker died; starting another');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork();
    }, restartDelayMs);
    restarts.add(timer);
  });
  // `on`, not `once`: a second SIGTERM while draining must not kill the primary (and with it the
  // workers' chance to finish) by the signal's default action.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stopAll(0, `${signal} received`));

  logger.info({ workers: options.workers }, `KeyDesk primary: starting ${options.workers} workers`);
  for (let i = 0; i < options.workers; i += 1) fork();
}

/** At once after a worker that lived a healthy while; else 1 s, doubling up to 30 s. */
function nextRestartDelay(previousMs: number, livedMs: number): number {
  if (livedMs >= HEALTHY_AFTER_MS) return 0;
  return Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, previousMs * 2));
}

/** SIGTERM (the worker drains as a single process would), then SIGKILL if it outstays `ms`. */
function drain(worker: Worker, ms: number, logger: Logger): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn({ worker: worker.id, pid: worker.process.pid }, 'a worker did not drain in time; killing it');
      worker.process.kill('SIGKILL');
    }, ms);
    worker.once('exit', () => {
      clearTimeout(deadline);
      resolve();
    });
    worker.process.kill('SIGTERM');
  });
}

/**
 * In a worker: a primary that died (even by SIGKILL) takes its workers with it, drained. Node's
 * own cluster code exits a worker at once (no drain, audit store left open) when its channel to
 * the primary closes unless `exitedAfterDisconnect` is true, so this listener, put first, sets it
 * and stops the server instead.
 */
export function followPrimary(stop: () => Promise<void>): void {
  const worker = cluster.worker;
  if (!cluster.isWorker || worker === undefined) return;
  process.prependOnceListener('disconnect', () => {
    if (worker.exitedAfterDisconnect) return;
    worker.exitedAfterDisconnect = true;
    // Closing the listener tells the primary over the channel that just closed: without a
    // listener, that failure would crash the worker instead of letting it drain.
    worker.on('error', () => undefined);
    void stop().finally(() => process.exit(0));
  });
}
