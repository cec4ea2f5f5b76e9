import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { KeyDeskConfig } from './config/config.js';
import { KEYDESK_VERSION } from './version.js';
import { KeyDeskLogController } from './logging/request-log.js';
import type { AuditTrail } from './audit/types.js';
import type { GraphGateway } from './graph/types.js';
import { createEntraTokenVerifier, type AccessTokenVerifier } from './auth/access-token.js';
import { createMsalClient, type MsalClient } from './graph/msal-client.js';
import type { SessionStore } from './auth/session-store.js';
import { createRedisClient, type Redis, type SharedRedis } from './redis/client.js';
import { createGraphGateway } from './graph/graph-gateway.js';
import { GraphTokenProvider } from './graph/token-provider.js';
import { withDeviceCache } from './graph/device-cache.js';
import { sharedSchemas } from './schemas/api.js';
import helmet from './plugins/external/helmet.js';
import rateLimit from './plugins/external/rate-limit.js';
import swagger from './plugins/external/swagger.js';
import auditTrail from './plugins/app/audit-trail.js';
import authentication from './plugins/app/authentication.js';
import connectionDraining from './plugins/app/connection-draining.js';
import demoBanner from './plugins/app/demo-banner.js';
import deviceLookup from './plugins/app/device-lookup.js';
import readiness from './plugins/app/readiness.js';
import { GRAPH_TOKEN_MIN_VALIDITY_MS } from './health/readiness.js';
import disclosures from './plugins/app/disclosures.js';
import noStore from './plugins/app/no-store.js';
import problemDetails, { toProblem } from './plugins/app/problem-details.js';
import requestIds from './plugins/app/request-ids.js';
import healthRoutes from './routes/health/index.js';
import deviceRoutes from './routes/api/v1/devices/index.js';
import disclosureRoutes from './routes/api/v1/disclosures/index.js';
import auditRoutes from './routes/api/v1/audit/index.js';
import { createCheckpointSigner } from './audit/checkpoints/checkpoint.js';
import webUi from './web/index.js';
import notificationsPlugin from './plugins/app/notifications.js';
import { createNotifications } from './notify/notifications.js';
import type { DeliveryChannel } from './notify/channel.js';

export interface AppDeps {
  logger: Logger;
  /** The audit trail, already open: opening it is I/O, which buildApp does not do. */
  audit: AuditTrail;
  /** Defaults to the Microsoft Graph gateway built from the configuration. */
  graph?: GraphGateway;
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

export async function buildApp(config: KeyDeskConfig, deps: AppDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const msal = deps.msal ?? createMsalClient(config, now);
  const graphLogger = deps.logger.child({ component: 'graph' });
  const graphTokens = new GraphTokenProvider(config, { logger: graphLogger, msal });
  const graph = withDeviceCache(deps.graph ?? createGraphGateway(config, { logger: graphLogger, tokenProvider: graphTokens }), { ttlMs: config.deviceCacheTtlMs });
  const verifier = deps.tokenVerifier ?? createEntraTokenVerifier({ authorityHost: config.authorityHost, tenantId: config.tenantId, audiences: config.apiAudiences });
  const checks = deps.readinessChecks ?? { identityProvider: () => verifier.checkIdentityProvider(), graphToken: () => graphTokens.ensureTokenValidFor(GRAPH_TOKEN_MIN_VALIDITY_MS) };
  const app = createFastify(config, deps.logger);
  const shared = sharedRedisOf(config, deps, app);

  // The API speaks JSON only; a text/plain body is refused (415) rather than half-understood.
  app.removeContentTypeParser('text/plain');
  for (const schema of sharedSchemas) app.addSchema(schema);

  await app.register(requestIds);
  await app.register(connectionDraining);
  if (deps.demo) await app.register(demoBanner);
  await app.register(helmet);
  await app.register(noStore);
  await app.register(swagger, { version: KEYDESK_VERSION, demo: deps.demo ?? false, config });
  await app.register(rateLimit, { now, shared });
  await app.register(auditTrail, { trail: deps.audit });
  const notifications = createNotifications(config, { graph, logger: deps.logger, ...(deps.channels ? { channels: deps.channels } : {}) });
  await app.register(notificationsPlugin, { notifications });
  await app.register(disclosures, { graph, audit: deps.audit, policy: config.policy, newId, noticeBeforeRead: (intent) => notifications.noticeBeforeRead(intent) });
  await app.register(deviceLookup, { graph });
  await app.register(problemDetails, { notFound: config.web === null });
  await app.register(authentication, { verifier, userTokenClients: config.apiUserTokenClients });
  await app.register(readiness, { checkIdentityProvider: checks.identityProvider, checkGraphToken: checks.graphToken, auditWritable: () => deps.audit.isWritable() });

  await app.register(healthRoutes);
  await app.register(
    async (api) => {
      await api.register(deviceRoutes, { searchesPerMinute: config.rateLimits.searchesPerMinute });
      await api.register(disclosureRoutes, { rateLimits: config.rateLimits, requiredAuthContext: config.requiredAuthContext });
      await api.register(auditRoutes, { signingKey: config.audit.signingKey ? createCheckpointSigner(config.audit.signingKey.pem) : null });
    },
    { prefix: '/api/v1' },
  );
  if (config.web) {
    await app.register(webUi, { config, web: config.web, msal, now, shared, ...(deps.sessionStore ? { sessionStore: deps.sessionStore } : {}) });
  }
  return app;
}
