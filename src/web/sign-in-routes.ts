import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditEntry } from '../audit/entry.js';
import { auditCallerOf } from '../auth/audit-caller.js';
import { PENDING_SIGN_IN_LIFETIME_MS, type PendingSignInSeal } from '../auth/pending-sign-in.js';
import { safeReturnTo } from '../auth/return-to.js';
import type { RevealSignInVerdict } from '../auth/sign-in-freshness.js';
import type { StaffUser } from '../auth/staff-session.js';
import type { CallbackQuery, SignInOutcome, StaffSignIn } from '../auth/staff-sign-in.js';
import type { WebConfig } from '../config/config.js';
import { anonymousKey, perMinute } from '../plugins/external/rate-limit.js';
import { messagePage, sendPage, viewerOf } from './pages.js';
import { LogOncePerMinute } from './log-once.js';

/**
 * The sign-in routes: /auth/sign-in sends the browser to Entra, /auth/callback takes it back,
 * /auth/sign-out ends both sessions. A sign-in is audited once its ID token is validated
 * (granted, or refused for what the token says); a sign-in whose record cannot be written does
 * not happen. What came before a valid ID token (no or wrong state, an error from Entra) could be
 * anyone's request: it is a log line, at most one per client address a minute, never a record.
 */

export interface SendToEntraOptions {
  /** The page to come back to (made safe: KeyDesk's own pages only). */
  returnTo: string;
  /** Why a signed-in staff member goes back: a sign-in too old, or a missing step-up. */
  verdict?: Exclude<RevealSignInVerdict, 'ok'>;
  /** Form input to hand back to the page returned to (`request.session.draft`). */
  draft?: Record<string, string>;
  /** The authentication context a fresh sign-in asks for, when not REQUIRE_AUTH_CONTEXT (the self-service door's SELF_SERVICE_AUTH_CONTEXT). */
  authContext?: string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Sends the browser through Entra (with max_age and/or an authentication context claims request) and back to `returnTo`. */
    sendToEntra(request: FastifyRequest, reply: FastifyReply, options: SendToEntraOptions): Promise<FastifyReply>;
  }
}

export interface SignInRoutesOptions {
  signIn: StaffSignIn;
  web: WebConfig;
  seal: PendingSignInSeal;
  clientId: string;
  requiredAuthContext: string | null;
  sessionCookieName: string;
  signInsPerMinute: number;
  now: () => number;
}

const callbackParam = { type: 'string', maxLength: 8192 } as const;
const callbackQuery = {
  type: 'object',
  properties: { code: callbackParam, state: callbackParam, error: callbackParam, error_description: callbackParam, client_info: callbackParam, session_state: callbackParam },
} as const;

/** What the sign-in routes share. */
interface SignInContext extends SignInRoutesOptions {
  pendingCookie: string;
  pendingCookieOptions: { path: string; httpOnly: true; sameSite: 'lax'; secure: boolean };
  rateLimit: ReturnType<typeof perMinute>;
  audit(request: FastifyRequest, staff: StaffUser, outcome: 'granted' | 'refused', code: string | null, details?: Record<string, unknown>, action?: 'sign_in' | 'sign_out'): Promise<unknown>;
}

async function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions): Promise<void> {
  const context: SignInContext = {
    ...options,
    // __Secure- makes browsers refuse the cookie unless Secure; Path=/auth keeps it off every page.
    pendingCookie: options.web.secureCookies ? '__Secure-keydesk_sign_in' : 'keydesk_sign_in',
    pendingCookieOptions: { path: '/auth', httpOnly: true, sameSite: 'lax', secure: options.web.secureCookies },
    rateLimit: perMinute({ max: () => options.signInsPerMinute, key: (request) => anonymousKey('sign-ins', request.ip), hook: 'onRequest' }),
    audit: (request, staff, outcome, code, details = {}, action = 'sign_in') =>
      app.auditTrail.append(
        auditEntry({ action, outcome, code, requestId: request.id, callerRequestId: request.callerRequestId, caller: auditCallerOf({ kind: 'user', appId: options.clientId, ...staff }, request), details: action === 'sign_in' ? details : null }),
      ),
  };
  app.decorate('sendToEntra', sendToEntra(context));
  signInRoute(app, context);
  callbackRoute(app, context);
  signOutRoutes(app, context);
}

function sendToEntra(context: SignInContext) {
  const { signIn, web, seal } = context;
  return async (request: FastifyRequest, reply: FastifyReply, sendOptions: SendToEntraOptions) => {
    const staff = request.staff;
    const again = sendOptions.verdict !== undefined && staff !== null;
    const { url, pending } = await signIn.begin({
      returnTo: safeReturnTo(sendOptions.returnTo),
      maxAge: again && sendOptions.verdict === 'reauthenticate' ? web.reauthMaxAgeSeconds : null,
      // A fresh sign-in asks for the authentication context too, or it would come back without it.
      authContext: again ? (sendOptions.authContext !== undefined ? sendOptions.authContext : context.requiredAuthContext) : null,
      staff: again ? staff : null,
    });
    // Kept in the session (the staff member is signed in): it comes back if the same person does.
    if (again && sendOptions.draft) request.session.draft = { path: safeReturnTo(sendOptions.returnTo).split('?')[0]!, fields: sendOptions.draft, forOid: staff.oid };
    reply.setCookie(context.pendingCookie, seal.seal(pending), { ...context.pendingCookieOptions, maxAge: PENDING_SIGN_IN_LIFETIME_MS / 1000 });
    return reply.redirect(url, 302);
  };
}

function signInRoute(app: FastifyInstance, context: SignInContext): void {
  app.get<{ Querystring: { returnTo?: string; reason?: 'reauthenticate' | 'step_up' } }>(
    '/auth/sign-in',
    {
      config: { rateLimit: context.rateLimit },
      schema: { hide: true, querystring: { type: 'object', properties: { returnTo: { type: 'string', maxLength: 2048 }, reason: { type: 'string', enum: ['reauthenticate', 'step_up'] } } } },
    },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo);
      const { reason } = request.query;
      // A signed-in staff member comes here only to confirm a sign-in (a link on a page that needs one).
      if (request.staff && !reason) return reply.redirect(returnTo, 302);
      return app.sendToEntra(request, reply, { returnTo, ...(reason ? { verdict: reason } : {}) });
    },
  );
}

function callbackRoute(app: FastifyInstance, context: SignInContext): void {
  const strayCallbacks = new LogOncePerMinute(context.now);
  app.get<{ Querystring: CallbackQuery }>('/auth/callback', { config: { rateLimit: context.rateLimit }, schema: { hide: true, querystring: callbackQuery } }, async (request, reply) => {
    // One answer per sign-in: the cookie goes whatever the outcome.
    const pending = context.seal.open(request.cookies[context.pendingCookie]);
    reply.clearCookie(context.pendingCookie, context.pendingCookieOptions);
    const outcome = await context.signIn.complete(pending, request.query);
    if (pending === null || (!outcome.ok && outcome.staff === null)) {
      if (!outcome.ok && strayCallbacks.allow(anonymousKey('callbacks', request.ip))) request.log.info({ code: outcome.code }, 'sign-in not completed');
      return sendPage(reply, outcome.ok ? 400 : outcome.status, refusedPage(request, reply, outcome, pending?.returnTo ?? '/'));
    }
    const staff = outcome.ok ? outcome.staff : outcome.staff!;
    try {
      if (outcome.ok) await context.audit(request, staff, 'granted', null, grantedDetails(staff, pending));
      else await context.audit(request, staff, 'refused', outcome.code, { ...outcome.details, returnTo: pending.returnTo });
    } catch (error) {
      request.log.error({ err: error }, 'sign-in could not be audited; not signing in');
      return sendPage(reply, 503, messagePage({ title: 'KeyDesk cannot sign you in now', code: 'audit_unavailable', paragraphs: ['The audit trail cannot be written, and KeyDesk signs nobody in without a record of it. Try again later.'] }));
    }
    if (!outcome.ok) return sendPage(reply, outcome.status, refusedPage(request, reply, outcome, pending.returnTo));
    await startSession(request, staff, context.now);
    request.log.info({ staff: { oid: staff.oid, roles: staff.roles } }, 'staff signed in');
    return reply.redirect(pending.returnTo, 302);
  });
}

function signOutRoutes(app: FastifyInstance, context: SignInContext): void {
  const { web } = context;
  // Every form carries a CSRF token, this one too (SameSite=Lax alone would already keep a
  // cross-site post from signing anyone out).
  app.post('/auth/sign-out', { config: { rateLimit: context.rateLimit }, schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const staff = request.staff;
    if (staff) {
      // Signing out is the safe direction: it goes ahead, and the log says when the record is missing.
      await context.audit(request, staff, 'granted', null, {}, 'sign_out').catch((error: unknown) => request.log.error({ err: error, staff: { oid: staff.oid } }, 'sign-out could not be audited'));
      request.log.info({ staff: { oid: staff.oid } }, 'staff signed out');
    }
    await request.session.destroy();
    reply.clearCookie(context.sessionCookieName, { path: '/', secure: web.secureCookies, httpOnly: true, sameSite: 'lax' });
    return reply.redirect(context.signIn.endSessionUrl(`${web.publicBaseUrl}/auth/signed-out`), 303);
  });

  app.get('/auth/signed-out', { config: { rateLimit: context.rateLimit }, schema: { hide: true } }, async (request, reply) =>
    sendPage(reply, 200, messagePage({ title: 'You signed out of KeyDesk', staff: viewerOf(request, reply), paragraphs: ['Your KeyDesk session and your Entra ID session have ended.'], links: [{ href: '/auth/sign-in', text: 'Sign in again' }] })),
  );
}

function grantedDetails(staff: StaffUser, pending: { maxAge: number | null; authContext: string | null }): Record<string, unknown> {
  return {
    roles: staff.roles,
    authTime: staff.authTime === null ? null : new Date(staff.authTime * 1000).toISOString(),
    acrs: staff.acrs,
    maxAge: pending.maxAge,
    authContext: pending.authContext,
  };
}

/** A new session under a new id (an id planted before sign-in signs nobody in), keeping a form its owner left before going to Entra. */
async function startSession(request: FastifyRequest, staff: StaffUser, now: () => number): Promise<void> {
  // Someone else came back from a re-authentication: the draft was not theirs.
  const carried = request.session.draft;
  const keepDraft = carried !== undefined && carried.forOid === staff.oid;
  await request.session.regenerate();
  const at = now();
  request.session.staff = staff;
  request.session.signedInAt = at;
  request.session.lastSeenAt = at;
  if (keepDraft) request.session.draft = carried;
}

function refusedPage(request: FastifyRequest, reply: FastifyReply, outcome: SignInOutcome, returnTo: string): string {
  if (outcome.ok) return messagePage({ title: 'You are not signed in', code: 'sign_in_state_mismatch', paragraphs: ['Sign in again.'] });
  const links = [{ href: `/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`, text: 'Sign in again' }];
  return messagePage({ title: outcome.code === 'forbidden' ? 'You are signed in to Entra ID but not allowed to use KeyDesk' : 'You are not signed in', code: outcome.code, staff: viewerOf(request, reply), paragraphs: [outcome.detail], links });
}

export default fp(signInRoutes, { name: 'staff-sign-in-routes', fastify: '5.x', dependencies: ['staff-session'] });
