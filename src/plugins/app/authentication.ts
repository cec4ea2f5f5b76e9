import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeyDeskProblem } from '../../problem/problem.js';
import type { AccessTokenVerifier, VerifiedCaller } from '../../auth/access-token.js';
import { holdsRole, rolesInWords, type RoleRequirement } from '../../auth/roles.js';
import { refusal } from '../../disclosure/wording.js';

/**
 * Bearer-token authentication for the API. A route asks for it by naming the app role it needs in
 * its config (`requiredRole`); the token and the role are checked in onRequest, before the body is
 * read or validated, so an unauthenticated or unauthorised request costs nothing else. The check
 * is tied to the matched route, not to the URL's spelling (`/%61pi/…`, absolute-form URLs).
 *
 * The API is for ticketing systems: it takes application tokens (client credentials) only. A
 * delegated token is a person acting through some client app, which would skip the web UI's
 * re-authentication, step-up and limits; it is refused unless its client is one an administrator
 * listed in API_USER_TOKEN_CLIENTS.
 */

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified caller of an API route. Kind `user` only for a client listed in
     * API_USER_TOKEN_CLIENTS (every other user token is refused here).
     */
    caller: VerifiedCaller | null;
  }
  interface FastifyContextConfig {
    /** The app role a caller needs; a route with it requires a bearer token. */
    requiredRole?: RoleRequirement;
  }
}

export interface AuthenticationOptions {
  verifier: AccessTokenVerifier;
  /** Client IDs whose delegated (user) tokens the API accepts (API_USER_TOKEN_CLIENTS), lower case. */
  userTokenClients: readonly string[];
}

// The scheme name is case-insensitive (RFC 9110); the token's characters are base64url.
const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)$/i;

async function authentication(app: FastifyInstance, options: AuthenticationOptions): Promise<void> {
  app.decorateRequest('caller', null);
  const listed = new Set(options.userTokenClients.map((id) => id.toLowerCase()));

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
    if (caller.kind === 'user' && !listed.has((caller.appId ?? '').toLowerCase())) throw refusal('app_token_required');
    if (!holdsRole(caller.roles, role)) {
      throw new KeyDeskProblem(
        'forbidden',
        `The caller holds no app role that allows this; it needs ${rolesInWords(role)}. An administrator assigns it under Enterprise applications > KeyDesk > Users and groups (or the app's API permissions for an application).`,
      );
    }
  });
}

export default fp(authentication, { name: 'authentication', fastify: '5.x' });
