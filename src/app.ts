import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { KeyDeskConfig } from './config/config.js';
import { KEYDESK_VERSION } from './version.js';
import { KeyDeskLogController } from './logging/request-log.js';
import type { AuditTrail } from './audit/types.js';
import type { EntraAuditLog, GraphGateway } from './graph/types.js';
import { createEntraAuditLog } from './graph/entra-audit-log.js';
import { MemoryReconciliationStore } from './reconcile/memory-store.js';
import type { ReconciliationStore } from './reconcile/types.js';
import reconciliation from './plugins/app/reconciliation.js';
import reconciliationRoutes from './routes/api/v1/audit/reconciliation.js';
import keyIndexPlugin from './plugins/app/key-index.js';
import recoveryKeyRoutes from './routes/api/v1/recovery-keys/index.js';
import { createKeyIndex, type KeyIndex } from './key-index/key-index.js';
import { MemoryKeyIndex } from './key-index/memory-store.js';
import type { KeyIndexStore } from './key-index/types.js';
import { withKeyIndexRefresh } from './key-index/refreshing-gateway.js';
import { createTenantKeyList, type TenantKeyList } from './graph/tenant-key-list.js';
import { createEscrowCoverage, type EscrowCoverage } from './coverage/coverage-service.js';
import { memoryCoverageStore, type CoverageStore } from './coverage/store.js';
import escrowCoveragePlugin from './plugins/app/escrow-coverage.js';
import escrowCoverageRoutes from './routes/api/v1/reports/escrow-coverage.js';
import { createEntraTokenVerifier, type AccessTokenVerifier } from './auth/access-token.js';
import { createMsalClient, type MsalClient } from './graph/msal-client.js';
import type { SessionStore } from './auth/session-store.js';
import { createRedisClient, type Redis, type SharedRedis } from './redis/client.js';
import { createGraphGateway } from './graph/graph-gateway.js';
import { GraphTokenProvider } from './graph/token-provider.js';
import { withDeviceCache } from './graph/device-cache.js';
import { sharedSchemas } from './schemas/api.js';
import { AuditRecordServedSchema } from './schemas/audit-api.js';
import helmet from './plugins/external/helmet.js';
import rateLimit from './plugins/external/rate-limit.js';
import swagger from './plugins/external/swagger.js';
import auditTrail from './plugins/app/audit-trail.js';
import auditReader from './plugins/app/audit-reader.js';
import { memoryVerificationLog, type VerificationLog } from './audit/verification/chain-verification.js';
import authentication from './plugins/app/authentication.js';
import connectionDraining from './plugins/app/connection-draining.js';
import demoBanner from './plugins/app/demo-banner.js';
import deviceLookup from './plugins/app/device-lookup.js';
import readiness from './plugins/app/readiness.js';
import { GRAPH_TOKEN_MIN_VALIDITY_MS } from './health/readiness.js';
import disclosures from './plugins/app/disclosures.js';
import alerts from './plugins/app/alerts.js';
import { alertBackendFor, createAlertWatch, type AlertWatch } from './alerts/alert-watch.js';
import noStore from './plugins/app/no-store.js';
import problemDetails, { toProblem } from './plugins/app/problem-details.js';
import requestIds from './plugins/app/request-ids.js';
import healthRoutes from './routes/health/index.js';
import deviceRoutes from './routes/api/v1/devices/index.js';
import disclosureRoutes from './routes/api/v1/disclosures/index.js';
import auditRoutes from './routes/api/v1/audit/index.js';
import metricsRoute from './routes/metrics/index.js';
import { metricsSourceFor } from './metrics/exposition.js';
import auditRecordRoutes from './routes/api/v1/audit/records.js';
import auditVerificationRoutes from './routes/api/v1/audit/verification.js';
import { createCheckpointSigner } from './audit/checkpoints/checkpoint.js';
import webUi from './web/index.js';
import notificationsPlugin from './plugins/app/notifications.js';
import { createNotifications } from './notify/notifications.js';
import type { DeliveryChannel } from './notify/channel.js';
import rotationsPlugin from './plugins/app/rotations.js';
import rotationRoutes from './routes/api/v1/rotations/index.js';
import { createRotationService, type RotationService } from './rotation/rotation-service.js';
import { MemoryRotationStore } from './rotation/memory-store.js';
import type { RotationStore } from './rotation/types.js';
import { createIntuneRotation, type IntuneRotation } from './graph/intune-rotation.js';
import { createEmployeeDirectory, type EmployeeDirectory } from './graph/employee-directory.js';
import selfServicePlugin from './plugins/app/self-service.js';

export interface AppDeps {
  logger: Logger;
  /** The audit trail, already open: opening it is I/O, which buildApp does not do. */
  audit: AuditTrail;
  /** Where the leader's chain verifications are kept (the store's); defaults to this process's memory. */
  verifications?: VerificationLog;
  /** Defaults to the Microsoft Graph gateway built from the configuration. */
  graph?: GraphGateway;
  /** Entra's audit log of key reads; defaults to the one read through Graph with KeyDesk's token. */
  entraAuditLog?: EntraAuditLog;
  /** What the self-service door asks the directory about an employee; default: Graph, through KeyDesk's own token. */
  employees?: EmployeeDirectory;
  /**
   * Where the reconciliation keeps Entra's events and its runs (src/reconcile/open-store.ts);
   * memory when not given. The caller closes it.
   */
  reconciliationStore?: ReconciliationStore;
  /** Where the key-ID index lives (src/key-index/open-store.ts); memory when not given. The caller closes it. */
  keyIndexStore?: KeyIndexStore;
  /** Graph's tenant-wide key list the index syncs from; by default read with KeyDesk's token at KEY_INDEX_SYNC_REQUESTS_PER_10S. */
  tenantKeyList?: TenantKeyList;
  /** Where the escrow coverage reports are kept (src/coverage/store.ts); memory when not given. The caller closes it. */
  coverageStore?: CoverageStore;
  /** KeyDesk's one MSAL client (Graph tokens, staff sign-in); built from the configuration by default. */
  msal?: MsalClient;
  /** Defaults to Entra token verification built from the configuration. */
  tokenVerifier?: AccessTokenVerifier;
  newId?: () => string;
  /** Marks every page and API description as a demo (the simulated tenant). */
  demo?: boolean;
  /** The clock staff sessions and rate limits are timed by. */
  now?: () => number;
  /** Where staff sessions live; defaults to Redis with REDIS_URL, else memory (one instance only). */
  sessionStore?: SessionStore;
  /**
   * The Redis client for shared state (sessions, rate limits, form tokens) when REDIS_URL is set;
   * by default buildApp makes one and closes it with the app. One given here is the caller's to close.
   */
  redis?: Redis;
  /** The background readiness checks; default: the token verifier's OpenID check and a Graph token held. */
  readinessChecks?: { identityProvider(): Promise<void>; graphToken(): Promise<void> };
  /** The delivery channels; default: those the configuration names (src/notify/channels.ts). */
  channels?: readonly DeliveryChannel[];
  /** Where rotations after disclosure are kept (src/rotation/open-store.ts); memory when not given. The caller closes it. */
  rotationStore?: RotationStore;
  /** Intune's rotation action (Graph beta); by default called with KeyDesk's token. */
  intuneRotation?: IntuneRotation;
}

function createFastify(config: KeyDeskConfig, logger: Logger): FastifyInstance {
  return Fastify({
    // pino's Logger is what Fastify's base logger type describes; its generics just differ.
    loggerInstance: logger as FastifyBaseLogger,
    // Path only, health probes at debug (src/logging/request-log.ts).
    logController: new KeyDeskLogController(),
    bodyLimit: config.bodyLimitBytes,
    // Only the configured number of proxy hops may speak for the client IP the audit records.
    trustProxy: (_address: string, hop: number) => hop < config.trustProxyHops,
    requestIdHeader: false,
    // KeyDesk's own id for every request; a caller's x-request-id is kept beside it (plugins/app/request-ids.ts).
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true } },
    return503OnClosing: false,
    // Errors Fastify meets before routing (a malformed URL) get the same problem answer as any other.
    // No hooks run for these, so the headers the hooks would add are set here; the URL is not
    // echoed (it is what could not be parsed).
    frameworkErrors: (error, _request, reply) => {
      const problem = toProblem(error);
      void (reply as FastifyReply)
        .headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
        .code(problem.status)
        .type('application/problem+json; charset=utf-8')
        .send(problem.toJSON());
    },
    forceCloseConnections: 'idle',
  });
}

/** The process's one Redis client and key prefix, or null without REDIS_URL. */
function sharedRedisOf(config: KeyDeskConfig, deps: AppDeps, app: FastifyInstance): SharedRedis | null {
  if (!config.redis) return null;
  if (deps.redis) return { redis: deps.redis, keyPrefix: config.redis.keyPrefix };
  const redis = createRedisClient(config.redis, deps.logger);
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return { redis, keyPrefix: config.redis.keyPrefix };
}

/** The alert rules, counting in PostgreSQL with AUDIT_STORE=postgres (every instance), else in this process. */
function alertWatchOf(config: KeyDeskConfig, deps: AppDeps, now: () => number): AlertWatch {
  const logger = deps.logger.child({ component: 'alerts' });
  const database = config.audit.store === 'postgres' ? config.database : null;
  const backend = alertBackendFor(config.alerts, database, { audit: deps.audit, now, logger });
  return createAlertWatch(config.alerts, { audit: deps.audit, backend, logger });
}

export async function buildApp(config: KeyDeskConfig, deps: AppDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const msal = deps.msal ?? createMsalClient(config, now);
  const graphLogger = deps.logger.child({ component: 'graph' });
  const graphTokens = new GraphTokenProvider(config, { logger: graphLogger, msal });
  const { keyIndex, coverage } = keyIndexOf(config, deps, { graphLogger, graphTokens, now });
  const gateway = deps.graph ?? createGraphGateway(config, { logger: graphLogger, tokenProvider: graphTokens });
  const graph = withDeviceCache(withKeyIndexRefresh(gateway, keyIndex), { ttlMs: config.deviceCacheTtlMs });
  const verifier = deps.tokenVerifier ?? createEntraTokenVerifier({ authorityHost: config.authorityHost, tenantId: config.tenantId, audiences: config.apiAudiences });
  const checks = deps.readinessChecks ?? { identityProvider: () => verifier.checkIdentityProvider(), graphToken: () => graphTokens.ensureTokenValidFor(GRAPH_TOKEN_MIN_VALIDITY_MS) };
  const app = createFastify(config, deps.logger);
  const shared = sharedRedisOf(config, deps, app);

  // The API speaks JSON only; a text/plain body is refused (415) rather than half-understood.
  app.removeContentTypeParser('text/plain');
  for (const schema of [...sharedSchemas, AuditRecordServedSchema]) app.addSchema(schema);

  await app.register(requestIds);
  await app.register(connectionDraining);
  if (deps.demo) await app.register(demoBanner);
  await app.register(helmet);
  await app.register(noStore);
  await app.register(swagger, { version: KEYDESK_VERSION, demo: deps.demo ?? false, config });
  await app.register(rateLimit, { now, shared });
  await app.register(auditTrail, { trail: deps.audit });
  await registerServices(app, config, deps, { graph, graphLogger, graphTokens, now, newId, keyIndex });
  await app.register(escrowCoveragePlugin, { coverage });
  await app.register(problemDetails, { notFound: config.web === null });
  await app.register(authentication, { verifier, userTokenClients: config.apiUserTokenClients });
  await app.register(readiness, { checkIdentityProvider: checks.identityProvider, checkGraphToken: checks.graphToken, auditWritable: () => deps.audit.isWritable() });

  await app.register(healthRoutes);
  if (config.metrics.token !== null) await app.register(metricsRoute, { token: config.metrics.token, source: metricsSourceFor(config.workers) });
  await app.register(apiRoutes, { config, prefix: '/api/v1' });
  if (config.web) {
    await app.register(webUi, { config, web: config.web, msal, now, shared, ...(deps.sessionStore ? { sessionStore: deps.sessionStore } : {}) });
  }
  return app;
}

interface ServiceParts {
  graph: GraphGateway;
  keyIndex: KeyIndex;
  graphLogger: Logger;
  graphTokens: GraphTokenProvider;
  now: () => number;
  newId: () => string;
}

/**
 * The services the routes use, one decorator each: the alert watch and the notifications the
 * disclosure service feeds, the disclosures themselves, the audit reader, the device look-up and
 * the reconciliation with Entra's audit log.
 */
async function registerServices(app: FastifyInstance, config: KeyDeskConfig, deps: AppDeps, { graph, graphLogger, graphTokens, now, newId, keyIndex }: ServiceParts): Promise<void> {
  const watch = alertWatchOf(config, deps, now);
  await app.register(alerts, { watch });
  const notifications = createNotifications(config, { graph, logger: deps.logger, ...(deps.channels ? { channels: deps.channels } : {}) });
  await app.register(notificationsPlugin, { notifications });
  const rotations = rotationServiceOf(config, deps, { graph, graphLogger, graphTokens, now, newId });
  await app.register(rotationsPlugin, { rotations });
  await app.register(disclosures, {
    graph,
    audit: deps.audit,
    policy: config.policy,
    newId,
    onOutcome: (record) => {
      watch.observe(record);
      rotations.afterDisclosure(record);
    },
    noticeBeforeRead: (intent) => notifications.noticeBeforeRead(intent),
    keyIndex,
  });
  await app.register(keyIndexPlugin, { keyIndex, graph });
  await app.register(auditReader, { trail: deps.audit, verifications: deps.verifications ?? memoryVerificationLog() });
  await app.register(deviceLookup, { graph });
  if (config.selfService.enabled) {
    const employees = deps.employees ?? createEmployeeDirectory(config, { logger: graphLogger, tokenProvider: graphTokens });
    await app.register(selfServicePlugin, { employees, audit: deps.audit, config: config.selfService, now });
  }
  await app.register(reconciliation, {
    auditLog: deps.entraAuditLog ?? createEntraAuditLog(config, { logger: graphLogger, tokenProvider: graphTokens }),
    graph,
    audit: deps.audit,
    store: deps.reconciliationStore ?? new MemoryReconciliationStore(),
    clientId: config.clientId,
    graceMinutes: config.reconcile.graceMinutes,
    now,
    logger: deps.logger.child({ component: 'reconcile' }),
  });
}

/** Rotation after disclosure, over the store given (memory by default), asking Intune with KeyDesk's token. */
function rotationServiceOf(config: KeyDeskConfig, deps: AppDeps, parts: Pick<ServiceParts, 'graph' | 'graphLogger' | 'graphTokens' | 'now' | 'newId'>): RotationService {
  return createRotationService({
    config: config.rotation,
    store: deps.rotationStore ?? new MemoryRotationStore(),
    graph: parts.graph,
    intune: deps.intuneRotation ?? createIntuneRotation(config, { logger: parts.graphLogger, tokenProvider: parts.graphTokens }),
    audit: deps.audit,
    now: parts.now,
    newId: parts.newId,
    logger: deps.logger.child({ component: 'rotation' }),
  });
}

/**
 * The key-ID index over the store given (memory by default), synced from Graph's tenant-wide key
 * list, and the escrow coverage report computed after each full sync from the same paced reader.
 */
function keyIndexOf(config: KeyDeskConfig, deps: AppDeps, { graphLogger, graphTokens, now }: Pick<ServiceParts, 'graphLogger' | 'graphTokens' | 'now'>): { keyIndex: KeyIndex; coverage: EscrowCoverage } {
  const store = deps.keyIndexStore ?? new MemoryKeyIndex();
  const list = deps.tenantKeyList ?? createTenantKeyList(config, { logger: graphLogger, tokenProvider: graphTokens, requestsPer10s: config.keyIndex.requestsPer10s });
  const logger = deps.logger.child({ component: 'key-index' });
  const coverage = createEscrowCoverage({ store: deps.coverageStore ?? memoryCoverageStore(), index: store, list, thresholds: config.escrow, now, logger });
  const keyIndex = createKeyIndex({ store, list, audit: deps.audit, now, logger, afterFullSync: () => coverage.compute() });
  return { keyIndex, coverage };
}

/** The REST API under /api/v1: devices, recovery keys by key ID, disclosures, and the audit trail's routes. */
async function apiRoutes(api: FastifyInstance, { config }: { config: KeyDeskConfig }): Promise<void> {
  await api.register(deviceRoutes, { searchesPerMinute: config.rateLimits.searchesPerMinute });
  await api.register(recoveryKeyRoutes, { searchesPerMinute: config.rateLimits.searchesPerMinute });
  await api.register(escrowCoverageRoutes);
  await api.register(disclosureRoutes, { rateLimits: config.rateLimits, requiredAuthContext: config.requiredAuthContext });
  await api.register(rotationRoutes);
  await api.register(auditRoutes, { signingKey: config.audit.signingKey ? createCheckpointSigner(config.audit.signingKey.pem) : null });
  await api.register(auditRecordRoutes);
  await api.register(auditVerificationRoutes);
  await api.register(reconciliationRoutes);
}
