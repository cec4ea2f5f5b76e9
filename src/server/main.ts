import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type KeyDeskConfig } from '../config/config.js';
import { AuditFileLockedError } from '../audit/file/file-lock.js';
import { prepareAuditSchema } from '../audit/postgres/schema.js';
import { createLogger } from '../logging/logger.js';
import { EX_CONFIG, followPrimary, runPrimary } from './cluster.js';
import { serveWorkersMetrics } from '../metrics/cluster-metrics.js';
import { startMetricsListener } from '../metrics/metrics-listener.js';

/**
 * `npm start`: a real deployment. Reads the configuration from the environment and refuses to
 * start without it; it never falls back to the simulated tenant. With `WORKERS` > 1 the first
 * process is the cluster's primary (cluster.ts) and runs this again in each worker.
 */
let config: KeyDeskConfig;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(EX_CONFIG);
  }
  throw error;
}

const base = createLogger(config.logLevel);
// Workers write to one stdout: each line says which one wrote it.
const logger = cluster.isWorker ? base.child({ worker: cluster.worker!.id, pid: process.pid }) : base;

if (config.workers > 1 && cluster.isPrimary) {
  // The workers' sum: for METRICS_PORT here, and for a worker's /metrics (METRICS_TOKEN) that asks for it.
  const workersMetrics = serveWorkersMetrics();
  const metricsListener = config.metrics.listener;
  runPrimary({ workers: config.workers, logger, prepare: () => prepareOnce(config, logger) })
    .then(() => (metricsListener === null ? undefined : startMetricsListener(metricsListener, workersMetrics, logger)))
    .catch(failedToStart);
} else {
  // Imported here, not above: the primary has no use for the app and its dependencies.
  import('./start.js')
    .then(({ startServer }) => startServer(config, { logger }))
    .then((server) => followPrimary(server.stop), failedToStart);
}

/**
 * Before forking: the audit schema migrated (its role owning it) or checked, once, so that the
 * workers find it ready and a schema this KeyDesk cannot run on stops start-up with 78 before any
 * worker starts. `WORKERS` > 1 needs the PostgreSQL store (loadConfig refuses otherwise).
 */
async function prepareOnce(settings: KeyDeskConfig, log: Logger): Promise<void> {
  if (settings.database === null) return;
  await prepareAuditSchema(settings.database.url, log.child({ component: 'audit' }, { level: 'info' }));
}

function failedToStart(error: unknown): never {
  if (error instanceof AuditFileLockedError) {
    // Another KeyDesk is writing this trail: restarting would only wait again.
    logger.fatal({ audit: { lock: error.lockPath, holder: error.holder } }, error.message);
    process.exit(EX_CONFIG);
  }
  // A ConfigError here is found at start-up (an audit schema behind or ahead of this KeyDesk): a
  // restart cannot fix it, so it exits as a configuration problem does.
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(EX_CONFIG);
  }
  logger.fatal({ err: error }, 'KeyDesk failed to start');
  process.exit(1);
}
