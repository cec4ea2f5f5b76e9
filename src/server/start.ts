import type { Logger } from 'pino';
import { TOKEN_HOW } from '../config/metrics-config.js';
import { isLoopbackHost, SECRET_HOW } from '../config/notify-config.js';
import type { FastifyInstance } from 'fastify';
import type { KeyDeskConfig } from '../config/config.js';
import type { AppDeps } from '../app.js';
import { buildApp } from '../app.js';
import { KEYDESK_VERSION } from '../version.js';
import { openAuditStore } from '../audit/open-store.js';
import type { AuditStore } from '../audit/store.js';
import { startPeriodicJobs } from '../jobs/periodic-jobs.js';
import { processMetrics, startCollecting } from '../metrics/exposition.js';
import { startMetricsListener, type MetricsListener } from '../metrics/metrics-listener.js';
import { chainVerification } from '../jobs/chain-verification-job.js';
import { reconciliationJob } from '../jobs/reconciliation-job.js';
import { openReconciliationStore } from '../reconcile/open-store.js';
import { openKeyIndexStore } from '../key-index/open-store.js';
import { keyIndexSyncJob } from '../jobs/key-index-sync-job.js';
import { openCoverageStore } from '../coverage/store.js';
import { openOutbox } from '../notify/outbox-setup.js';
import { openRotationStore } from '../rotation/open-store.js';
import { rotationJob } from '../jobs/rotation-job.js';

/** How long in-flight requests may take to finish once shutdown begins. */
const SHUTDOWN_GRACE_MS = 20_000;

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** The audit store the app writes to (AUDIT_STORE), open until `stop` closes it. */
  audit: AuditStore;
  /** The token-free METRICS_PORT listener of a single process; null when off or a worker's primary serves it. */
  metrics: MetricsListener | null;
  /** Stops accepting, lets in-flight requests finish, then flushes and closes the audit log. */
  stop(): Promise<void>;
}

/**
 * Opens the audit store (with PostgreSQL, migrating or checking its schema first: a ConfigError
 * for a schema this KeyDesk cannot run on), builds the app, listens, and stops gracefully on
 * SIGTERM/SIGINT.
 */
export async function startServer(
  config: KeyDeskConfig,
  deps: Omit<AppDeps, 'audit'> & { logger: Logger; handleSignals?: boolean },
): Promise<RunningServer> {
  const { logger } = deps;
  warnAboutSettings(config, logger);
  // The chain head in the log is how a trail cut short at its end is noticed: it is logged
  // whatever LOG_LEVEL says.
  const auditLogger = logger.child({ component: 'audit' }, { level: 'info' });
  const audit = await openAuditStore(config, auditLogger);
  const reconciliationStore = await openReconciliationStore(config, logger);
  const keyIndexStore = await openKeyIndexStore(config, logger);
  const coverageStore = openCoverageStore(config, logger);
  const rotationStore = await openRotationStore(config, logger);
  const closeStores = async () => {
    await rotationStore.close().catch((error: unknown) => logger.warn({ err: error }, 'the rotations store did not close cleanly'));
    await reconciliationStore.close().catch((error: unknown) => logger.warn({ err: error }, "the reconciliation's store did not close cleanly"));
    await keyIndexStore.close().catch((error: unknown) => logger.warn({ err: error }, 'the key index did not close cleanly'));
    await coverageStore.close().catch((error: unknown) => logger.warn({ err: error }, "the escrow coverage report's store did not close cleanly"));
    await audit.close();
  };
  const app = await buildApp(config, { ...deps, audit, verifications: audit.verifications, reconciliationStore, keyIndexStore, coverageStore, rotationStore });
  const outbox = await openOutboxOrClose(config, app, audit, logger, closeStores);
  const jobs = startPeriodicJobs(config, audit, logger, [chainVerification, reconciliationJob(app.reconciliation), keyIndexSyncJob(app.keyIndex), rotationJob(app.rotations)]);
  startCollecting(config.workers);
  let metrics: MetricsListener | null = null;

  const stop = stopInOrder(app, logger, async () => {
    await metrics?.close();
    // The last checkpoint covers every record the finished requests wrote.
    await jobs.stop().catch((error: unknown) => logger.error({ err: error }, 'the periodic jobs did not stop cleanly'));
    await closeStores();
  }, outbox);

  try {
    await app.listen({ host: config.host, port: config.port });
    // With WORKERS > 1 the primary serves METRICS_PORT, summed over the workers.
    if (config.metrics.listener !== null && config.workers === 1) metrics = await startMetricsListener(config.metrics.listener, processMetrics, logger);
  } catch (error) {
    await outbox?.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await jobs.stop().catch(() => undefined);
    await closeStores();
    throw error;
  }
  const address = app.server.address();
  // Background readiness checks (Entra's OpenID configuration, a Graph token) once KeyDesk listens.
  app.readiness.start();
  // Reads the Graph token's roles: a warning now beats every rotation failing later.
  void app.rotations.checkPermission().catch((error: unknown) => logger.warn({ err: error }, "the Graph token's permissions could not be read"));
  jobs.start();
  outbox?.start();
  const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  logger.info({ version: KEYDESK_VERSION, url, tenantId: config.tenantId, graph: config.graphBaseUrl, authority: config.authorityHost }, 'KeyDesk listening');

  if (deps.handleSignals ?? true) stopOnSignals(stop, logger);
  return { app, url, audit, metrics, stop };
}

/**
 * The graceful stop, run once however often it is asked for: the outbox stops handing out
 * notifications (pending ones stay in the trail and its cursors, or in PostgreSQL, for the next
 * start), in-flight requests finish (a stuck client is cut off after SHUTDOWN_GRACE_MS, inside
 * the 30 s a container platform usually allows), then `afterRequests` closes the rest.
 */
function stopInOrder(app: FastifyInstance, logger: Logger, afterRequests: () => Promise<void>, outbox: { stop(): Promise<void> } | null): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= (async () => {
      logger.info('shutting down: finishing in-flight requests');
      const deadline = setTimeout(() => {
        logger.warn('in-flight requests did not finish in time; closing their connections');
        app.server.closeAllConnections();
      }, SHUTDOWN_GRACE_MS);
      deadline.unref();
      await outbox?.stop().catch((error: unknown) => logger.error({ err: error }, 'the notification outbox did not stop cleanly'));
      await app.close();
      clearTimeout(deadline);
      await afterRequests();
      logger.info('audit log flushed and closed; bye');
    })();
    return stopping;
  };
}

/** Before KeyDesk takes requests, so every record from now on is queued for its channels; a failure closes what was opened. */
async function openOutboxOrClose(config: KeyDeskConfig, app: FastifyInstance, audit: AuditStore, logger: Logger, closeStores: () => Promise<void>) {
  try {
    return await openOutbox(audit, app.notifications, config, logger);
  } catch (error) {
    await app.close();
    await closeStores();
    throw error;
  }
}

/** SIGTERM or SIGINT stops the server gracefully, then the process. */
function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

/** Settings KeyDesk runs with but an operator should hear about once, at start-up. */
function warnAboutSettings(config: KeyDeskConfig, logger: Logger): void {
  if (!config.audit.hmacKey) {
    logger.warn(
      'AUDIT_HMAC_KEY is not set: the audit chain uses plain SHA-256, so someone who can edit the audit file can also recompute it. Set AUDIT_HMAC_KEY to make tampering detectable.',
    );
  }
  if (config.selfService.enabled && config.selfService.authContext === null) {
    logger.warn(
      'SELF_SERVICE=on without SELF_SERVICE_AUTH_CONTEXT or REQUIRE_AUTH_CONTEXT: an employee gets their key after a fresh sign-in alone. Set SELF_SERVICE_AUTH_CONTEXT to a Conditional Access authentication context (phishing-resistant MFA, a compliant device) for this door.',
    );
  }
  warnAboutChannels(config, logger);
  if (config.audit.store === 'postgres' && config.redis === null) {
    logger.warn(
      "AUDIT_STORE=postgres without REDIS_URL: rate limits are counted in each instance's own memory, so behind a load balancer a caller gets each limit once per instance. Set REDIS_URL to count them once.",
    );
  }
}

/** Secrets and plain-http receivers KeyDesk accepts, but which an operator should strengthen. */
function warnAboutChannels(config: KeyDeskConfig, logger: Logger): void {
  const { metrics, notify, siem } = config;
  if (metrics.token !== null && metrics.token.length < 32) logger.warn(`METRICS_TOKEN has only ${metrics.token.length} characters, which a scraper's neighbour could guess: ${TOKEN_HOW}.`);
  if (notify.webhook && notify.webhook.secret.length < 32) {
    logger.warn(`NOTIFY_WEBHOOK_SECRET has only ${notify.webhook.secret.length} characters: a receiver cannot trust a signature made with a guessable secret; ${SECRET_HOW}.`);
  }
  for (const [name, raw] of [
    ['NOTIFY_WEBHOOK_URL', notify.webhook?.url],
    ['SIEM_SPLUNK_HEC_URL', siem.splunk?.url],
  ] as const) {
    const url = raw ? new URL(raw) : null;
    if (url?.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      logger.warn(`${name} is plain http:// to ${url.host}: device names, user names and tickets cross the network unencrypted. Use https:// unless the receiver is on a network you trust.`);
    }
  }
}
