import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { APP_ROLES, type AppRole } from '../auth/access-token.js';
import type { AuditCaller } from '../audit/types.js';
import { messagePage, viewerOf } from './pages.js';

/**
 * Who is signed in to the web UI, for how long, and what they may open. Every request to a page
 * finds its session here: one idle too long or older than its absolute lifetime is ended before
 * any page sees it. Pages ask for a signed-in staff member with `app.requireStaff(role?)`.
 */

export interface StaffUser {
  oid: string;
  upn: string;
  name: string;
  /** App roles from the ID token's `roles` claim (BitLocker.Disclose, .Lookup, .Audit). */
  roles: string[];
  /** Entra's `auth_time` (epoch seconds) of the sign-in; null when the ID token did not say. */
  authTime: number | null;
  /** Conditional Access authentication contexts Entra applied (`acrs`). */
  acrs: string[];
}

/** A sign-in sent to Entra and not yet back: what the callback checks the answer against. */
export interface SignInAttempt {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** max_age sent to Entra (seconds), for a re-authentication; null for an ordinary sign-in. */
  maxAge: number | null;
  /** Authentication context asked for with a claims request; null when none. */
  authContext: string | null;
  /** The staff member a re-authentication or step-up is for. */
  expectedOid: string | null;
  /** Form input to hand back to the page returned to. */
  draft: Record<string, string> | null;
  startedAt: number;
}

declare module 'fastify' {
  interface Session {
    staff?: StaffUser;
    /** When this staff member signed in (ms); the absolute lifetime counts from here. */
    signedInAt?: number;
    /** The last request of this session (ms); the idle timeout counts from here. */
    lastSeenAt?: number;
    createdAt?: number;
    signInAttempt?: SignInAttempt;
    /** Form input kept across a trip through Entra, for the page at `path`. */
    draft?: { path: string; fields: Record<string, string> };
  }
  interface FastifyRequest {
    /** The signed-in staff member of a web UI request, or null. */
    staff: StaffUser | null;
  }
  interface FastifyInstance {
    /** A preHandler for a page: signed in (else to sign-in and back), holding a KeyDesk role (or `role`). */
    requireStaff(role?: AppRole): preHandlerAsyncHookHandler;
  }
}

export interface StaffSessionOptions {
  idleMs: number;
  maxMs: number;
  now: () => number;
  cookieName: string;
}

const KEYDESK_ROLES: readonly string[] = Object.values(APP_ROLES);

/** Disclose includes look-up, as for the API. */
export function staffHasRole(staff: StaffUser, role: AppRole): boolean {
  return staff.roles.includes(role) || (role === APP_ROLES.lookup && staff.roles.includes(APP_ROLES.disclose));
}

export function signInPath(returnTo: string): string {
  return `/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`;
}

/** The audit trail's caller for a request of a signed-in staff member (or of a browser not yet signed in). */
export function staffAuditCaller(request: FastifyRequest, staff: StaffUser | null = request.staff, appId: string | null = null): AuditCaller {
  const userAgent = request.headers['user-agent'];
  return {
    kind: 'user',
    appId,
    oid: staff?.oid ?? null,
    upn: staff?.upn ?? null,
    name: staff?.name ?? null,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
  };
}

async function staffSession(app: FastifyInstance, options: StaffSessionOptions): Promise<void> {
  app.decorateRequest('staff', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const session = request.session;
    const now = options.now();
    const staff = session.staff;
    if (!staff) return;
    const idle = now - (session.lastSeenAt ?? 0) > options.idleMs;
    const tooOld = now - (session.signedInAt ?? 0) > options.maxMs;
    if (idle || tooOld) {
      request.log.info({ staff: { oid: staff.oid }, reason: idle ? 'idle' : 'lifetime' }, 'staff session expired');
      // A new, empty session under a new id; the old one is gone from the store.
      await session.regenerate();
      return;
    }
    session.lastSeenAt = now;
    request.staff = staff;
  });

  app.decorate('requireStaff', (role?: AppRole): preHandlerAsyncHookHandler => {
    return async function requireStaff(request: FastifyRequest, reply: FastifyReply) {
      const staff = request.staff;
      if (!staff) {
        // A form post cannot be replayed after sign-in; its page can.
        return reply.redirect(signInPath(request.method === 'GET' ? request.url : '/'), 302);
      }
      const allowed = role ? staffHasRole(staff, role) : staff.roles.some((r) => KEYDESK_ROLES.includes(r));
      if (!allowed) {
        request.log.info({ staff: { oid: staff.oid, roles: staff.roles }, needs: role ?? 'any KeyDesk role' }, 'staff member not allowed');
        const needs = role ? `the app role ${role}` : `one of KeyDesk's app roles (${KEYDESK_ROLES.join(', ')})`;
        return reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(
            messagePage({
              title: 'You are signed in but not allowed to use this',
              code: 'forbidden',
              staff: viewerOf(request, reply),
              paragraphs: [
                `You are signed in as ${staff.name} (${staff.upn}) but not allowed to use ${role ? 'this part of ' : ''}KeyDesk: it needs ${needs}.`,
                'Ask an administrator to assign it to you under Enterprise applications > KeyDesk > Users and groups, then sign out and in again.',
              ],
            }),
          );
      }
    };
  });
}

export default fp(staffSession, { name: 'staff-session', fastify: '5.x' });
