import cookie from '@fastify/cookie';
import session from '@fastify/session';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { AuditTrail } from '../audit/types.js';
import type { KeyDeskConfig, WebConfig } from '../config/config.js';
import { toProblem } from '../plugins/problem-details.js';
import { messagePage, viewerOf } from './pages.js';
import { createMemorySessionStore, type SessionStore } from './session-store.js';
import staffSession from './staff-session.js';
import signInRoutes from './sign-in-routes.js';
import { StaffSignIn } from './staff-sign-in.js';
import csrfProtection from '@fastify/csrf-protection';
import rateLimit from '@fastify/rate-limit';
import { KeyDeskProblem } from '../problem/problem.js';
import assets from './assets.js';
import searchPage from './search-page.js';
import devicePages from './device-pages.js';
import myDisclosuresPage from './my-disclosures-page.js';

/**
 * The helpdesk web UI: staff sessions, sign-in through Entra, and the pages. Registered only when
 * PUBLIC_BASE_URL is set, and encapsulated: cookies, sessions and form bodies exist for these
 * routes alone, so the API never sets or reads a session cookie.
 */

export interface WebUiOptions {
  config: KeyDeskConfig;
  web: WebConfig;
  audit: AuditTrail;
  now: () => number;
  /** Defaults to the in-memory store (one instance only). */
  sessionStore?: SessionStore;
  /** Defaults to sign-in through the configured Entra tenant. */
  signIn?: StaffSignIn;
}

export default async function webUi(app: FastifyInstance, options: WebUiOptions): Promise<void> {
  const { config, web, now } = options;
  // The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and host-only.
  const cookieName = web.secureCookies ? '__Host-keydesk_session' : 'keydesk_session';
  let store = options.sessionStore;
  if (!store) {
    app.log.warn(
      'staff sessions are kept in memory: this suits one KeyDesk instance only, and a restart signs every staff member out. Several instances need a shared session store.',
    );
    store = createMemorySessionStore({ idleMs: web.sessionIdleMs, now });
  }

  await app.register(cookie);
  await app.register(session, {
    secret: web.sessionSecret,
    cookieName,
    store,
    saveUninitialized: false,
    // No Max-Age: the browser forgets the cookie when it closes; the idle timeout and absolute
    // lifetime are enforced on the server, where a copied cookie cannot extend them.
    cookie: { path: '/', httpOnly: true, secure: web.secureCookies, sameSite: 'lax' },
  });
  await app.register(formbody, { bodyLimit: config.bodyLimitBytes });
  await app.register(staffSession, { idleMs: web.sessionIdleMs, maxMs: web.sessionMaxMs, now, cookieName });
  await app.register(csrfProtection, { sessionPlugin: '@fastify/session' });
  // Only the routes that ask for it (the reveal) are limited; pages and sign-in are not.
  await app.register(rateLimit, { global: false });

  // Pages get their own CSP (the API keeps the global one): the stylesheet and the key page's
  // script come from KeyDesk itself; forms post to KeyDesk, which may redirect them to Entra.
  const contentSecurityPolicy = [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    `form-action 'self' ${new URL(config.authorityHost).origin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy);
  });

  // A page's error is a page, with the same stable code the API would give.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const problem = error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET'
      ? new KeyDeskProblem('forbidden', 'This form did not come from a KeyDesk page open in this browser, or it has expired. Open the page again and resend the form.')
      : toProblem(error);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'page failed');
    else request.log.info({ code: problem.code }, 'page refused');
    for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
    return reply
      .code(problem.status)
      .type('text/html; charset=utf-8')
      .send(messagePage({ title: problem.title, code: problem.code, staff: viewerOf(request, reply), paragraphs: [problem.detail] }));
  });

  await app.register(signInRoutes, {
    signIn: options.signIn ?? new StaffSignIn(config, web, now),
    web,
    audit: options.audit,
    clientId: config.clientId,
    cookieName,
    now,
  });
  await app.register(assets);
  await app.register(searchPage);
  await app.register(devicePages, { web, now, revealsPerMinute: 5 });
  await app.register(myDisclosuresPage, { audit: options.audit, limit: 50 });
}
