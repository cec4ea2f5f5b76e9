import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditTrail } from '../audit/types.js';
import { auditEntry } from '../audit/entry.js';
import type { WebConfig } from '../config/config.js';
import { messagePage, viewerOf } from './pages.js';
import { safeReturnTo } from './return-to.js';
import type { RevealSignInVerdict } from './sign-in-freshness.js';
import { staffAuditCaller, type StaffUser } from './staff-session.js';
import type { CallbackQuery, StaffSignIn } from './staff-sign-in.js';

/**
 * The sign-in routes: /auth/sign-in sends the browser to Entra, /auth/callback takes it back,
 * /auth/sign-out ends both sessions. Every sign-in and sign-out is audited; a sign-in whose audit
 * record cannot be written does not happen.
 */

export interface SendToEntraOptions {
  /** The page to come back to (made safe: same-origin paths only). */
  returnTo: string;
  /** Why a signed-in staff member goes back: a sign-in too old, or a missing step-up. */
  verdict?: Exclude<RevealSignInVerdict, 'ok'>;
  /** Form input to hand back to the page returned to (`request.session.draft`). */
  draft?: Record<string, string>;
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
  /** Conditional Access authentication context a reveal needs in `acrs` (KeyDeskConfig.requiredAuthContext). */
  requiredAuthContext: string | null;
  audit: AuditTrail;
  clientId: string;
  cookieName: string;
  now: () => number;
}

function htmlPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

async function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions): Promise<void> {
  const { signIn, web, requiredAuthContext, audit, clientId, now } = options;
  const auditSignIn = (request: FastifyRequest, staff: StaffUser | null, outcome: 'granted' | 'refused', code: string | null, details: Record<string, unknown>) =>
    audit.append(auditEntry({ action: 'sign_in', outcome, code, requestId: request.id, caller: staffAuditCaller(request, staff, clientId), details }));

  app.decorate('sendToEntra', async (request: FastifyRequest, reply: FastifyReply, sendOptions: SendToEntraOptions) => {
    const staff = request.staff;
    const again = sendOptions.verdict !== undefined && staff !== null;
    const { url, attempt } = await signIn.begin({
      returnTo: safeReturnTo(sendOptions.returnTo),
      maxAge: again && sendOptions.verdict === 'reauthenticate' ? web.reauthMaxAgeSeconds : null,
      // A fresh sign-in asks for the authentication context too, or it would come back without it.
      authContext: again ? requiredAuthContext : null,
      staff: again ? staff : null,
      draft: sendOptions.draft ?? null,
    });
    request.session.signInAttempt = attempt;
    request.session.createdAt ??= now();
    return reply.redirect(url, 302);
  });

  app.get<{ Querystring: { returnTo?: string; reason?: 'reauthenticate' | 'step_up' } }>(
    '/auth/sign-in',
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { returnTo: { type: 'string', maxLength: 2048 }, reason: { type: 'string', enum: ['reauthenticate', 'step_up'] } },
        },
      },
    },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo);
      const { reason } = request.query;
      // A signed-in staff member comes here only to confirm a sign-in (a link on a page that needs one).
      if (request.staff && !reason) return reply.redirect(returnTo, 302);
      return app.sendToEntra(request, reply, { returnTo, ...(reason ? { verdict: reason } : {}) });
    },
  );

  const callbackParam = { type: 'string', maxLength: 8192 } as const;
  app.get<{ Querystring: CallbackQuery }>(
    '/auth/callback',
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { code: callbackParam, state: callbackParam, error: callbackParam, error_description: callbackParam, client_info: callbackParam, session_state: callbackParam },
        },
      },
    },
    async (request, reply) => {
      const attempt = request.session.signInAttempt;
      // One answer per attempt: a replayed or second callback finds none.
      request.session.signInAttempt = undefined;
      const outcome = await signIn.complete(attempt, request.query);
      const current = request.staff;

      if (!outcome.ok) {
        request.log.info({ code: outcome.code, details: outcome.details }, 'staff sign-in refused');
        // Only a sign-in this browser started is audited: stray callbacks must not fill the audit disk.
        if (attempt) {
          try {
            await auditSignIn(request, outcome.staff ?? current, 'refused', outcome.code, { ...outcome.details, returnTo: attempt.returnTo });
          } catch (error) {
            request.log.error({ err: error }, 'sign-in refusal could not be audited');
            return htmlPage(reply, 503, messagePage({ title: 'KeyDesk cannot record this', code: 'audit_unavailable', staff: viewerOf(request, reply), paragraphs: ['The audit trail cannot be written. Try again later, or call KeyDesk\'s administrators.'] }));
          }
        }
        return htmlPage(
          reply,
          outcome.status,
          messagePage({ title: 'You are not signed in', code: outcome.code, staff: viewerOf(request, reply), paragraphs: [outcome.detail], link: { href: `/auth/sign-in?returnTo=${encodeURIComponent(attempt?.returnTo ?? '/')}`, text: 'Sign in again' } }),
        );
      }

      const { staff } = outcome;
      try {
        await auditSignIn(request, staff, 'granted', null, {
          roles: staff.roles,
          authTime: staff.authTime === null ? null : new Date(staff.authTime * 1000).toISOString(),
          acrs: staff.acrs,
          maxAge: attempt!.maxAge,
          authContext: attempt!.authContext,
        });
      } catch (error) {
        request.log.error({ err: error }, 'sign-in could not be audited; not signing in');
        return htmlPage(reply, 503, messagePage({ title: 'KeyDesk cannot sign you in now', code: 'audit_unavailable', staff: viewerOf(request, reply), paragraphs: ['The audit trail cannot be written, and KeyDesk signs nobody in without a record of it. Try again later.'] }));
      }
      // Someone else came back from a re-authentication: the draft was not theirs.
      const draft = attempt!.draft && (attempt!.expectedOid === null || attempt!.expectedOid === staff.oid) ? { path: attempt!.returnTo.split('?')[0]!, fields: attempt!.draft } : undefined;
      // A new session id at sign-in: an id planted before it (session fixation) signs nobody in.
      await request.session.regenerate();
      const at = now();
      request.session.staff = staff;
      request.session.signedInAt = at;
      request.session.lastSeenAt = at;
      request.session.createdAt = at;
      if (draft) request.session.draft = draft;
      request.log.info({ staff: { oid: staff.oid, roles: staff.roles } }, 'staff signed in');
      return reply.redirect(attempt!.returnTo, 302);
    },
  );

  // Every form carries a CSRF token, this one too (SameSite=Lax alone would already keep a
  // cross-site post from signing anyone out).
  app.post('/auth/sign-out', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const staff = request.staff;
    if (staff) {
      try {
        await audit.append(auditEntry({ action: 'sign_out', outcome: 'granted', code: null, requestId: request.id, caller: staffAuditCaller(request, staff, clientId) }));
      } catch (error) {
        // Signing out is the safe direction: it goes ahead, and the log says the record is missing.
        request.log.error({ err: error, staff: { oid: staff.oid } }, 'sign-out could not be audited');
      }
      request.log.info({ staff: { oid: staff.oid } }, 'staff signed out');
    }
    await request.session.destroy();
    reply.clearCookie(options.cookieName, { path: '/', secure: web.secureCookies, httpOnly: true, sameSite: 'lax' });
    return reply.redirect(signIn.endSessionUrl(`${web.publicBaseUrl}/auth/signed-out`), 303);
  });

  app.get('/auth/signed-out', { schema: { hide: true } }, async (request, reply) =>
    htmlPage(
      reply,
      200,
      messagePage({ title: 'You signed out of KeyDesk', staff: viewerOf(request, reply), paragraphs: ['Your KeyDesk session and your Entra ID session have ended.'], link: { href: '/auth/sign-in', text: 'Sign in again' } }),
    ),
  );
}

export default fp(signInRoutes, { name: 'staff-sign-in-routes', fastify: '5.x', dependencies: ['staff-session'] });
