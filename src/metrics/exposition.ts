import cluster from 'node:cluster';
import { collectDefaultMetrics } from 'prom-client';
import { metricsRegistry } from './metrics.js';
import { metricsFromPrimary, answerPrimaryScrapes } from './cluster-metrics.js';

/**
 * Where a scrape's text comes from: this process's registry, or, in a worker of WORKERS > 1, the
 * primary's sum over every worker (a load balancer hands each scrape to any one of them, so a
 * single worker's counters would jump back and forth).
 */

export type MetricsSource = () => Promise<string>;

/** Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

export const processMetrics: MetricsSource = () => metricsRegistry.metrics();

let processMetricsOn = false;

/** Node's own metrics (CPU, memory, event loop lag, GC…) as `keydesk_process_*` / `keydesk_nodejs_*`; once per process. */
function collectProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ prefix: 'keydesk_' });
}

/** The source of this process's `/metrics`, for its number of workers. */
export function metricsSourceFor(workers: number): MetricsSource {
  return workers > 1 && cluster.isWorker ? metricsFromPrimary : processMetrics;
}

/**
 * Once per process at start: Node's own metrics, and in a worker of WORKERS > 1 the answers to
 * the primary's collections (whether or not this worker serves /metrics itself).
 */
export function startCollecting(workers: number): void {
  collectProcessMetrics();
  if (workers > 1) answerPrimaryScrapes();
}
