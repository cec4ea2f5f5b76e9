import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeyDeskProblem } from '../problem/problem.js';
import { hasRole, type AccessTokenVerifier, type AppRole, type VerifiedCaller } from '../auth/access-token.js';

/**
 * Bearer-token authentication for the API. A route asks for it by naming the app role it needs in
 * its config (`requiredRole`); the token and the role are checked in onRequest, before the body is
 * read or validated, so an unauthenticated or unauthorised request costs nothing else. The check
 * is tied to the matched route, not to the URL's spelling (`/%61pi/…`, absolute-form URLs).
 */

declare module 'fastify' {
  interface FastifyRequest {
    caller: VerifiedCaller | null;
  }
  interface FastifyContextConfig {
    /** The app role a caller needs; a route with it requires a bearer token. */
    requiredRole?: AppRole;
  }
}

export interface AuthenticationOptions {
  verifier: AccessTokenVerifier;
}

const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)$/;

async function authentication(app: FastifyInstance, options: AuthenticationOptions): Promise<void> {
  app.decorateRequest('caller', null);

  // An API route that forgot to name its role would be open to anyone: refuse to start instead.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/') && !route.config?.requiredRole) {
      throw new Error(`API route ${route.method} ${route.url} names no requiredRole`);
    }
  });

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const role = request.routeOptions.config.requiredRole;
    if (!role) return;
    const match = request.headers.authorization?.match(BEARER);
    if (!match) {
      throw new KeyDeskProblem('unauthorized', 'Send an Entra access token for KeyDesk\'s API as "Authorization: Bearer <token>".', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const caller = await options.verifier.verify(match[1]!);
    request.caller = caller;
    if (!hasRole(caller, role)) {
      throw new KeyDeskProblem(
        'forbidden',
        `The caller holds no app role that allows this; it needs ${role}. An administrator assigns it under Enterprise applications > KeyDesk > Users and groups (or the app's API permissions for an application).`,
      );
    }
  });
}

export default fp(authentication, { name: 'authentication', fastify: '5.x' });
