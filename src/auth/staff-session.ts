import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { KeyDeskProblem } from '../problem/problem.js';
import { KEYDESK_ROLES, holdsAnyKeyDeskRole, holdsRole, rolesInWords, type RoleRequirement } from './roles.js';

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

declare module 'fastify' {
  interface Session {
    staff?: StaffUser;
    /** When this staff member signed in (ms); the absolute lifetime counts from here. */
    signedInAt?: number;
    /** The last request of this session (ms); the idle timeout counts from here. */
    lastSeenAt?: number;
    /** Form input kept across a trip through Entra, for the page at `path`, for the staff member `forOid`. */
    draft?: { path: string; fields: Record<string, string>; forOid: string };
  }
  interface FastifyRequest {
    /** The signed-in staff member of a web UI request, or null. */
    staff: StaffUser | null;
  }
  interface FastifyInstance {
    /** A preHandler for a page: signed in (else to sign-in and back), holding a KeyDesk role (or `role`). */
    requireStaff(role?: RoleRequirement): preHandlerAsyncHookHandler;
  }
}

export interface StaffSessionOptions {
  idleMs: number;
  maxMs: number;
  now: () => number;
}

export function staffHasRole(staff: StaffUser, role: RoleRequirement): boolean {
  return holdsRole(staff.roles, role);
}

export function signInPath(returnTo: string): string {
  return `/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`;
}

/** The staff member a request's session names, if the session is neither idle too long nor too old. */
async function currentStaff(request: FastifyRequest, options: StaffSessionOptions): Promise<StaffUser | null> {
  const session = request.session;
  const staff = session.staff;
  if (!staff) return null;
  const now = options.now();
  const idle = now - (session.lastSeenAt ?? 0) > options.idleMs;
  const tooOld = now - (session.signedInAt ?? 0) > options.maxMs;
  if (idle || tooOld) {
    request.log.info({ staff: { oid: staff.oid }, reason: idle ? 'idle' : 'lifetime' }, 'staff session expired');
    await session.destroy();
    return null;
  }
  session.lastSeenAt = now;
  return staff;
}

async function staffSession(app: FastifyInstance, options: StaffSessionOptions): Promise<void> {
  app.decorateRequest('staff', null);
  app.addHook('onRequest', async (request) => {
    request.staff = await currentStaff(request, options);
  });

  app.decorate('requireStaff', (role?: RoleRequirement): preHandlerAsyncHookHandler => {
    return async function requireStaff(request: FastifyRequest, reply: FastifyReply) {
      const staff = request.staff;
      // A form post cannot be replayed after sign-in; its page can.
      if (!staff) return reply.redirect(signInPath(request.method === 'GET' ? request.url : '/'), 302);
      const allowed = role ? staffHasRole(staff, role) : holdsAnyKeyDeskRole(staff.roles);
      if (allowed) return;
      request.log.info({ staff: { oid: staff.oid, roles: staff.roles }, needs: role ? rolesInWords(role) : 'any KeyDesk role' }, 'staff member not allowed');
      const needs = role ? `the app role ${rolesInWords(role)}` : `one of KeyDesk's app roles (${KEYDESK_ROLES.join(', ')})`;
      throw new KeyDeskProblem(
        'forbidden',
        `You are signed in as ${staff.name} (${staff.upn}) but not allowed to use ${role ? 'this part of ' : ''}KeyDesk: it needs ${needs}. Ask an administrator to assign it to you under Enterprise applications > KeyDesk > Users and groups, then sign out and in again.`,
      );
    };
  });
}

export default fp(staffSession, { name: 'staff-session', fastify: '5.x' });
