import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { KeyDeskProblem } from '../problem/problem.js';
import { hasRole, type AccessTokenVerifier, type AppRole, type VerifiedCaller } from '../auth/access-token.js';

/**
 * Bearer-token authentication for the API: every `/api` request must carry a valid Entra access
 * token, and each route names the app role it needs.
 */

declare module 'fastify' {
  interface FastifyRequest {
    caller: VerifiedCaller | null;
  }
  interface FastifyInstance {
    /** A preHandler that lets the request through only if its caller holds `role`. */
    requireRole(role: AppRole): preHandlerAsyncHookHandler;
  }
}

export interface AuthenticationOptions {
  verifier: AccessTokenVerifier;
}

const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)$/;

async function authentication(app: FastifyInstance, options: AuthenticationOptions): Promise<void> {
  app.decorateRequest('caller', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Unknown routes answer 404 without a token; every real API route needs one.
    if (!request.url.startsWith('/api/') || request.is404) return;
    const header = request.headers.authorization;
    const match = header?.match(BEARER);
    if (!match) {
      throw new KeyDeskProblem('unauthorized', 'Send an Entra access token for KeyDesk\'s API as "Authorization: Bearer <token>".', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    request.caller = await options.verifier.verify(match[1]!);
  });

  app.decorate('requireRole', (role: AppRole): preHandlerAsyncHookHandler => {
    return async (request) => {
      const caller = request.caller;
      if (!caller) throw new KeyDeskProblem('unauthorized', 'An Entra access token is required.', { headers: { 'www-authenticate': 'Bearer' } });
      if (!hasRole(caller, role)) {
        throw new KeyDeskProblem(
          'forbidden',
          `The caller holds no app role that allows this; it needs ${role}. An administrator assigns it under Enterprise applications > KeyDesk > Users and groups (or the app's API permissions for an application).`,
        );
      }
    };
  });
}

export default fp(authentication, { name: 'authentication', fastify: '5.x' });
