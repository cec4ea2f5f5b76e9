import type { FastifyError, FastifyInstance } from 'fastify';
import type { MsalClient } from '../graph/msal-client.js';
import { PendingSignInSeal } from '../auth/pending-sign-in.js';
import { createMemorySessionStore, type SessionStore } from '../auth/session-store.js';
import { countRedisSessions, createRedisSessionStore } from '../auth/redis-session-store.js';
import { countSessionsWith, type SessionCounter } from '../metrics/metrics.js';
import staffSession from '../auth/staff-session.js';
import { StaffSignIn } from '../auth/staff-sign-in.js';
import type { KeyDeskConfig, WebConfig } from '../config/config.js';
import cookie from '../plugins/external/cookie.js';
import csrf, { csrfOptions } from '../plugins/external/csrf.js';
import formbody from '../plugins/external/formbody.js';
import session, { dropSessionOnStoreFailure, sessionOptions } from '../plugins/external/session.js';
import { perMinute } from '../plugins/external/rate-limit.js';
import { isApiPath, logProblem, notFoundProblem, sendProblem, toProblem } from '../plugins/app/problem-details.js';
import { KeyDeskProblem } from '../problem/problem.js';
import type { SharedRedis } from '../redis/client.js';
import assets from './assets.js';
import auditPages from './audit-page.js';
import escrowCoveragePage from './escrow-coverage-page.js';
import devicePage from './device-page.js';
import formTokens from './form-token.js';
import myDisclosuresPage from './my-disclosures-page.js';
import { renderProblemPage, sendPage } from './pages.js';
import revealRoute from './reveal.js';
import rotationPages from './rotation-pages.js';
import searchPage from './search-page.js';
import selfServicePages from './self-service.js';
import signInRoutes from './sign-in-routes.js';

/**
 * The helpdesk web UI: staff sessions, sign-in through Entra, and the pages. Registered only when
 * PUBLIC_BASE_URL is set, and encapsulated: cookies, sessions and form bodies exist for these
 * routes alone, so the API never sets or reads a session cookie.
 */

export interface WebUiOptions {
  config: KeyDeskConfig;
  web: WebConfig;
  msal: MsalClient;
  now: () => number;
  /** Defaults to Redis when `shared` is set, else to the in-memory store (one instance only). */
  sessionStore?: SessionStore;
  /** Redis (REDIS_URL): staff sessions and one-time form tokens shared by every instance; null keeps them in memory. */
  shared: SharedRedis | null;
}

/** Pages get their own CSP (the API keeps its own): stylesheet, script and icon come from KeyDesk; forms post to KeyDesk, which may redirect them to Entra. */
function pageSecurityPolicy(authorityHost: string): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    `form-action 'self' ${new URL(authorityHost).origin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const FORM_BODY_FACTOR = 4;

/** `keydesk_sessions` counts the store's sessions at each scrape, while this app is open. */
function countSessions(app: FastifyInstance, counter: SessionCounter): void {
  const stop = countSessionsWith(counter);
  app.addHook('onClose', async () => stop());
}

/** Where staff sessions live: the store given, else Redis when configured, else this process's memory. */
function chooseSessionStore(app: FastifyInstance, options: WebUiOptions): SessionStore {
  const { web, shared, config } = options;
  if (options.sessionStore) return options.sessionStore;
  if (shared) {
    countSessions(app, () => countRedisSessions(shared.redis, shared.keyPrefix));
    return createRedisSessionStore({ ...shared, sessionSecret: web.sessionSecret, idleMs: web.sessionIdleMs, log: app.log });
  }
  app.log.warn(
    'staff sessions are kept in memory: this suits one KeyDesk instance only, and a restart signs every staff member out. Several instances share sessions through Redis: set REDIS_URL.',
  );
  if (config.audit.store === 'postgres') {
    app.log.warn(
      'AUDIT_STORE=postgres without REDIS_URL: staff sessions and one-time forms are this instance\'s own, so they will not follow a staff member to another instance behind the load balancer. Set REDIS_URL to share them.',
    );
  }
  const store = createMemorySessionStore({ idleMs: web.sessionIdleMs, now: options.now });
  countSessions(app, async () => store.count());
  return store;
}

async function registerSessions(app: FastifyInstance, options: WebUiOptions): Promise<string> {
  const { web, now } = options;
  // The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and host-only.
  const cookieName = web.secureCookies ? '__Host-keydesk_session' : 'keydesk_session';
  await app.register(cookie);
  await app.register(session, sessionOptions(web, cookieName, chooseSessionStore(app, options)));
  app.addHook('onError', dropSessionOnStoreFailure);
  await app.register(formTokens, { shared: options.shared, idleMs: web.sessionIdleMs });
  // Percent-encoding takes up to 9 bytes a character (3 for each UTF-8 byte of a non-Latin
  // script): a full comment that fits BODY_LIMIT_BYTES as JSON needs four times it as a form.
  await app.register(formbody, { bodyLimit: FORM_BODY_FACTOR * options.config.bodyLimitBytes });
  await app.register(staffSession, { idleMs: web.sessionIdleMs, maxMs: web.sessionMaxMs, now });
  await app.register(csrf, csrfOptions);
  return cookieName;
}

export default async function webUi(app: FastifyInstance, options: WebUiOptions): Promise<void> {
  const { config, web, now } = options;
  const sessionCookieName = await registerSessions(app, options);
  const policy = pageSecurityPolicy(config.authorityHost);
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', policy);
  });

  // A page's error is a page, with the same stable code the API would give.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const problem = toProblem(error);
    logProblem(request, problem, error);
    for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
    return sendPage(reply, problem.status, renderProblemPage(request, reply, problem));
  });

  // A page that does not exist is a page, in the staff member's session; the API's paths stay JSON.
  app.setNotFoundHandler(async (request, reply) => {
    if (isApiPath(request.url.split('?')[0]!)) return sendProblem(reply, notFoundProblem(request));
    const problem = new KeyDeskProblem('not_found', 'There is no such page in KeyDesk. Check the address, or start again from the home page.');
    return sendPage(reply, 404, renderProblemPage(request, reply, problem));
  });

  const searches = perMinute({
    max: () => config.rateLimits.searchesPerMinute,
    key: (request) => `searches:${request.staff?.oid ?? request.ip}`,
    // The home page without a name makes no Graph call; only searches and device pages count.
    counts: (request) => request.url.startsWith('/devices/') || new URL(request.url, 'http://x').searchParams.get('name')?.trim() !== undefined,
  });
  await app.register(signInRoutes, {
    signIn: new StaffSignIn(config, web, options.msal, now),
    web,
    seal: new PendingSignInSeal(web.sessionSecret, now),
    clientId: config.clientId,
    requiredAuthContext: config.requiredAuthContext,
    sessionCookieName,
    signInsPerMinute: config.rateLimits.signInsPerMinute,
    now,
  });
  await app.register(assets);
  await app.register(searchPage, { rateLimit: searches, selfService: config.selfService.enabled });
  await app.register(devicePage, { rateLimit: searches, disabledDeviceCheck: config.policy.disabledDeviceCheck });
  await app.register(revealRoute, { web, disabledDeviceCheck: config.policy.disabledDeviceCheck, clientId: config.clientId, requiredAuthContext: config.requiredAuthContext, staffDisclosuresPerMinute: config.rateLimits.staffDisclosuresPerMinute, now });
  await app.register(myDisclosuresPage);
  await app.register(auditPages, { clientId: config.clientId });
  await app.register(escrowCoveragePage);
  await app.register(rotationPages, { clientId: config.clientId });
  if (config.selfService.enabled) {
    await app.register(selfServicePages, { web, selfService: config.selfService, clientId: config.clientId, disclosuresPerMinute: config.rateLimits.staffDisclosuresPerMinute, now });
  }
}
