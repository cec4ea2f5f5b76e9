import session, { type FastifySessionOptions } from '@fastify/session';
import type { WebConfig } from '../../config/config.js';
import type { SessionStore } from '../../auth/session-store.js';

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

export default session;
