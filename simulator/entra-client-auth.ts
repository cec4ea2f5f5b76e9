import type { IncomingMessage } from 'node:http';
import { JWT_BEARER, createAssertionChecker } from './client-assertion.js';
import type { RegisteredApp } from './entra-tokens.js';
import { entraError, type TokenOutcome } from './entra-responses.js';
import type { SimTokenLogEntry, SimulatorState } from './state.js';

/**
 * How a client proves who it is at the token endpoints, as Entra takes it: a client secret in the
 * body (`client_secret_post`) or in a Basic header (`client_secret_basic`), or a certificate
 * (`private_key_jwt`: `client_assertion_type` jwt-bearer and a signed `client_assertion`), each
 * refused with Entra's error and AADSTS code.
 */

export type TokenEndpoint = 'v2.0' | 'v1';

export interface ClientAuthentication {
  /** The authenticated app, or the token endpoint's refusal. */
  authenticate(request: IncomingMessage, form: URLSearchParams, endpoint: TokenEndpoint, correlationId: string): Promise<{ app: RegisteredApp } | TokenOutcome>;
}

interface Presented {
  clientId: string | null;
  secret: string | null;
}

/** The client id and secret from the form, or from a Basic header when the form lacks them. */
function presented(request: IncomingMessage, form: URLSearchParams): Presented {
  let clientId = form.get('client_id');
  let secret = form.get('client_secret');
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      clientId ??= decodeURIComponent(decoded.slice(0, colon));
      secret ??= decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  return { clientId, secret };
}

/** For the token log: which method the request used, whether or not it succeeded. */
export function clientAuthMethod(request: IncomingMessage, form: URLSearchParams): SimTokenLogEntry['clientAuth'] {
  if (form.has('client_assertion')) return 'private_key_jwt';
  if (form.has('client_secret')) return 'client_secret_post';
  return request.headers.authorization?.startsWith('Basic ') ? 'client_secret_basic' : null;
}

export function createClientAuthentication(state: SimulatorState, apps: Map<string, RegisteredApp>): ClientAuthentication {
  const { model } = state;
  const assertions = createAssertionChecker(state.now);
  const error = (status: number, code: string, aadsts: number, description: string, correlationId: string): TokenOutcome =>
    entraError(state, status, code, aadsts, description, correlationId);
  const missing = (name: string, correlationId: string) =>
    error(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`, correlationId);

  /** The URLs a client assertion may name as `aud`: the endpoint it is posted to, under the tenant's id or its domain. */
  function audiences(endpoint: TokenEndpoint): string[] {
    const path = endpoint === 'v1' ? 'oauth2/token' : 'oauth2/v2.0/token';
    return [model.tenantId, model.directory.domain].map((tenant) => `${state.authorityHost}/${tenant}/${path}`);
  }

  async function byCertificate(app: RegisteredApp, form: URLSearchParams, secret: string | null, endpoint: TokenEndpoint, correlationId: string): Promise<{ app: RegisteredApp } | TokenOutcome> {
    if (secret !== null) {
      return error(400, 'invalid_request', 9002313, 'Invalid request. Request is malformed or invalid. [Reason - Send either client_secret or client_assertion, not both.]', correlationId);
    }
    const type = form.get('client_assertion_type');
    if (!type) return missing('client_assertion_type', correlationId);
    if (type !== JWT_BEARER) {
      return error(400, 'invalid_request', 9002313, `Invalid request. Request is malformed or invalid. [Reason - client_assertion_type must be ${JWT_BEARER}.]`, correlationId);
    }
    const assertion = form.get('client_assertion');
    if (!assertion) return missing('client_assertion', correlationId);
    const refusal = await assertions.check(assertion, app, audiences(endpoint));
    return refusal === null ? { app } : error(refusal.status, refusal.error, refusal.aadsts, refusal.description, correlationId);
  }

  function bySecret(app: RegisteredApp, secret: string | null, correlationId: string): { app: RegisteredApp } | TokenOutcome {
    if (!secret) return error(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", correlationId);
    if (secret === app.clientSecret) return { app };
    return error(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      correlationId,
    );
  }

  async function authenticate(request: IncomingMessage, form: URLSearchParams, endpoint: TokenEndpoint, correlationId: string): Promise<{ app: RegisteredApp } | TokenOutcome> {
    const { clientId, secret } = presented(request, form);
    if (!clientId) return missing('client_id', correlationId);
    const app = apps.get(clientId.toLowerCase());
    if (!app) {
      return error(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${model.directory.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        correlationId,
      );
    }
    if (form.has('client_assertion') || form.has('client_assertion_type')) return byCertificate(app, form, secret, endpoint, correlationId);
    return bySecret(app, secret, correlationId);
  }

  return { authenticate };
}
