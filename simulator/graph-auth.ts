import { errors as joseErrors } from 'jose';
import { GRAPH_APP_ID, issuerV1, issuerV2 } from './entra-tokens.js';
import type { GraphService } from './graph-query.js';
import { GraphFailure, type Ids } from './graph-wire.js';
import type { SimulatorState } from './state.js';

/**
 * Who calls the simulated Graph and what they may do: the bearer token is verified as Graph
 * verifies it (signature, audience, issuer, lifetime) and each endpoint's permission is checked
 * against the token's roles (application) or scp (delegated), with each service's own 403 body.
 */

const VERIFIED_CACHE_LIMIT = 10_000;
const NO_GRANTS: ReadonlySet<string> = new Set();

export interface Caller {
  appId: string | null;
  servicePrincipalId: string | null;
  userId: string | null;
  upn: string | null;
  delegated: boolean;
  permissions: Set<string>;
  /** Epoch ms. */
  expires: number;
}

export interface GraphAuthorization {
  /** The caller of a bearer token; verification is cached per token string until it expires. */
  authenticate(authorization: string | undefined): Promise<Caller>;
  allowed(caller: Caller, anyOf: readonly string[]): boolean;
  /** Throws the service's 403 unless the caller holds one of `anyOf`. */
  requirePermission(caller: Caller, anyOf: readonly string[], service: GraphService, ids: Ids, url: string): void;
  unauthorized(message: string): GraphFailure;
}

export function createGraphAuthorization(state: SimulatorState): GraphAuthorization {
  const verified = new Map<string, Caller>();
  const root = state.graphBaseUrl;
  const audiences = [root, `${root}/`, GRAPH_APP_ID];
  const issuers = [issuerV1(state), issuerV2(state)];

  function unauthorized(message: string): GraphFailure {
    return new GraphFailure(401, 'InvalidAuthenticationToken', message, {
      'www-authenticate': `Bearer realm="", authorization_uri="${state.authorityHost}/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`,
    });
  }

  async function authenticate(authorization: string | undefined): Promise<Caller> {
    if (!authorization || !/^bearer /i.test(authorization)) throw unauthorized('Access token is empty.');
    const token = authorization.slice(7).trim();
    const cached = verified.get(token);
    const now = state.now();
    if (cached !== undefined) {
      if (cached.expires > now) return cached;
      verified.delete(token);
      throw unauthorized('Lifetime validation failed, the token is expired.');
    }
    let payload;
    try {
      payload = await state.signer.verify(token, { audience: audiences, issuer: issuers });
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('Lifetime validation failed, the token is expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') throw unauthorized('Access token validation failure. Invalid audience.');
      if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
        throw unauthorized('IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.');
      }
      throw unauthorized('Access token validation failure.');
    }
    const scp = typeof payload.scp === 'string' ? payload.scp : null;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
    const appId = typeof payload.appid === 'string' ? payload.appid : typeof payload.azp === 'string' ? payload.azp : null;
    const delegated = scp !== null;
    const caller: Caller = {
      appId,
      servicePrincipalId: !delegated && typeof payload.oid === 'string' ? payload.oid : null,
      userId: delegated && typeof payload.oid === 'string' ? payload.oid : null,
      upn: typeof payload.upn === 'string' ? payload.upn : null,
      delegated,
      permissions: new Set(delegated ? scp.split(' ') : roles),
      expires: (payload.exp ?? 0) * 1000 + 300_000,
    };
    if (verified.size >= VERIFIED_CACHE_LIMIT) verified.clear();
    verified.set(token, caller);
    return caller;
  }

  /**
   * Graph authorizes by the token's roles (scp for delegated tokens). The simulator also drops
   * what the permissions knob has revoked since, so a test need not wait an hour for the token
   * to expire; a grant added later needs a new token, as in Entra.
   */
  function allowed(caller: Caller, anyOf: readonly string[]): boolean {
    const granted = caller.delegated ? null : caller.appId === state.model.keydesk.clientId ? state.graphPermissions : NO_GRANTS;
    return anyOf.some((p) => caller.permissions.has(p) && (granted === null || granted.has(p)));
  }

  function requirePermission(caller: Caller, anyOf: readonly string[], service: GraphService, ids: Ids, url: string): void {
    if (allowed(caller, anyOf)) return;
    if (service === 'bitlocker') throw new GraphFailure(403, 'authorization_error', "Failed to authorize, token doesn't have the required permissions.");
    if (service === 'intune') {
      throw new GraphFailure(
        403,
        'Forbidden',
        `Application is not authorized to perform this operation. Application must have one of the following scopes: ${anyOf.join(', ')} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: ${ids.requestId} - Url: ${url} - CustomApiErrorPhrase: `,
      );
    }
    throw new GraphFailure(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }

  return { authenticate, allowed, requirePermission, unauthorized };
}
