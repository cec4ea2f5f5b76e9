import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { KeyDeskConfig } from './config/config.js';
import { KEYDESK_VERSION } from './version.js';
import type { AuditTrail } from './audit/types.js';
import type { GraphGateway } from './graph/types.js';
import { createEntraTokenVerifier, type AccessTokenVerifier } from './auth/access-token.js';
import { createGraphGateway } from './graph/graph-gateway.js';
import { withDeviceCache } from './graph/device-cache.js';
import { sharedSchemas } from './schemas/api.js';
import problemDetails, { toProblem } from './plugins/problem-details.js';
import authentication from './plugins/authentication.js';
import keydeskServices from './plugins/keydesk-services.js';
import securityHeaders from './plugins/security-headers.js';
import connectionDraining from './plugins/connection-draining.js';
import demoBanner from './plugins/demo-banner.js';
import apiDocs from './plugins/api-docs.js';
import healthRoutes from './routes/health/index.js';
import deviceRoutes from './routes/api/v1/devices/index.js';
import disclosureRoutes from './routes/api/v1/disclosures/index.js';
import webUi from './web/index.js';
import type { SessionStore } from './web/session-store.js';

export interface AppDeps {
  logger: Logger;
  /** The audit sink, already open: opening it is I/O, which buildApp does not do. */
  audit: AuditTrail;
  /** Defaults to the Microsoft Graph gateway built from the configuration. */
  graph?: GraphGateway;
  /** Defaults to Entra token verification built from the configuration. */
  tokenVerifier?: AccessTokenVerifier;
  newId?: () => string;
  /** Marks every page and API description as a demo (the simulated tenant). */
  demo?: boolean;
  /** The clock staff sessions are timed by (idle timeout, absolute lifetime, sign-in age). */
  now?: () => number;
  /** Where staff sessions live; defaults to memory (one instance only). */
  sessionStore?: SessionStore;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export async function buildApp(config: KeyDeskConfig, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is what Fastify's base logger type describes; its generics just differ.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    // Only the configured number of proxy hops may speak for the client IP the audit records.
    trustProxy: (_address: string, hop: number) => hop < config.trustProxyHops,
    requestIdHeader: false,
    // A ticketing system's own correlation id is kept when it looks like one; else a fresh UUID.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
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

  // The API speaks JSON only; a text/plain body is refused (415) rather than half-understood.
  app.removeContentTypeParser('text/plain');
  for (const schema of sharedSchemas) app.addSchema(schema);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(connectionDraining);
  if (deps.demo) await app.register(demoBanner);
  await app.register(securityHeaders);
  await app.register(apiDocs, { version: KEYDESK_VERSION, demo: deps.demo ?? false });
  await app.register(keydeskServices, {
    graph: withDeviceCache(deps.graph ?? createGraphGateway(config, { logger: deps.logger.child({ component: 'graph' }) }), {
      ttlMs: config.deviceCacheTtlMs,
    }),
    audit: deps.audit,
    policy: config.policy,
    newId: deps.newId ?? randomUUID,
  });
  await app.register(problemDetails, { recordEarlyRefusal: (request, problem) => app.keydesk.recordEarlyRefusal(request, problem) });
  await app.register(authentication, {
    verifier:
      deps.tokenVerifier ??
      createEntraTokenVerifier({ authorityHost: config.authorityHost, tenantId: config.tenantId, audiences: config.apiAudiences }),
  });

  await app.register(healthRoutes);
  await app.register(
    async (api) => {
      await api.register(deviceRoutes);
      await api.register(disclosureRoutes);
    },
    { prefix: '/api/v1' },
  );
  if (config.web) {
    await app.register(webUi, {
      config,
      web: config.web,
      audit: deps.audit,
      now: deps.now ?? Date.now,
      ...(deps.sessionStore ? { sessionStore: deps.sessionStore } : {}),
    });
  }
  return app;
}
