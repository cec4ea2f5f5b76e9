import session, { type FastifySessionOptions } from '@fastify/session';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { WebConfig } from '../../config/config.js';
import type { SessionStore } from '../../auth/session-store.js';
import { isProblem } from '../../problem/problem.js';

/**
 * Staff sessions (@fastify/session). A session exists only once a sign-in has completed: nothing
 * is stored for a browser that has not signed in (`saveUninitialized: false`, and the pending
 * sign-in lives in its own encrypted cookie). No Max-Age: the browser forgets the cookie when it
 * closes; the idle timeout and absolute lifetime are enforced on the server, where a copied
 * cookie cannot extend them.
 */
export function sessionOptions(web: WebConfig, cookieName: string, store: SessionStore): FastifySessionOptions {
  return {
    secret: web.sessionSecret,
    cookieName,
    store,
    saveUninitialized: false,
    cookie: { path: '/', httpOnly: true, secure: web.secureCookies, sameSite: 'lax' },
  };
}

/**
 * An onError hook: when the session store failed mid-request (Redis gone after the session was
 * read), the page saying so is answered as to a browser without a session, as after
 * `session.destroy()`: no second save that would fail again, and nothing rendered or recorded
 * for a staff member from a session KeyDesk could not keep. A granted key page is lost that way,
 * never sent without its session saved; its record stays (the safe direction). Its Retry-After
 * is set here, whichever error handler (the web UI's or a route's own) renders the page.
 */
export async function dropSessionOnStoreFailure(request: FastifyRequest, reply: FastifyReply, error: FastifyError): Promise<void> {
  if (!isProblem(error) || error.code !== 'session_store_unavailable') return;
  request.staff = null;
  request.session = null as unknown as FastifyRequest['session'];
  reply.headers(error.headers);
}

export default session;
