import type { JWTPayload } from 'jose';
import { tokenRejected } from './jwt-shape.js';

/** Who called, as a verified Entra access token says. */
export interface VerifiedCaller {
  /**
   * 'app' for an app-only token (a ticketing system), 'user' for a delegated one (a person acting
   * through some client app). The route layer decides which kinds it serves.
   */
  kind: 'app' | 'user';
  /** Client id of the calling application (`azp` in v2, `appid` in v1). */
  appId: string | null;
  /** Object id of the service principal (app) or user. */
  oid: string | null;
  /** The user's sign-in name; null for an app. */
  upn: string | null;
  name: string | null;
  roles: string[];
  /** Delegated scopes (`scp`); empty for an app. */
  scopes: string[];
  /** Conditional Access authentication contexts the token was issued under (`acrs`). */
  acrs: string[];
  /** The token's `tid`, already checked to be this tenant's. */
  tenantId: string;
  tokenVersion: '1.0' | '2.0';
}

/**
 * An ID token for KeyDesk's own app (audience = its client ID) is signed by the same keys as an
 * access token: it must not open the API. Access tokens name the client they were issued to
 * (`azp` in v2, `appid` in v1) and carry no `nonce`.
 */
export function checkIsAccessToken(payload: JWTPayload): void {
  if (payload.nonce !== undefined || (stringClaim(payload, 'azp') === null && stringClaim(payload, 'appid') === null)) {
    throw tokenRejected('it is not an access token (an ID token cannot call the API)');
  }
}

/**
 * Entra's issuer already names the tenant, but `tid` is what Microsoft documents as the tenant
 * of the token; a token that lacks it, or names another, is not this tenant's.
 */
export function checkTenant(payload: JWTPayload, tenantGuid: string): string {
  const tid = stringClaim(payload, 'tid');
  if (tid === null) throw tokenRejected('it has no "tid" claim');
  if (tid.toLowerCase() !== tenantGuid.toLowerCase()) throw tokenRejected('its "tid" claim names another tenant');
  return tid;
}

/**
 * A v1 token carries whichever App ID URI the caller asked for, trailing slash included, so
 * each configured audience is accepted with and without one trailing slash.
 */
export function acceptedAudiences(configured: readonly string[]): string[] {
  return [...new Set(configured.flatMap((audience) => {
    const bare = audience.replace(/\/+$/, '');
    return [audience, bare, `${bare}/`];
  }))];
}

export function describeCaller(payload: JWTPayload, tenantId: string): VerifiedCaller {
  const scopes = (stringClaim(payload, 'scp') ?? '').split(' ').filter((scope) => scope !== '');
  const userName = stringClaim(payload, 'preferred_username') ?? stringClaim(payload, 'upn') ?? stringClaim(payload, 'unique_name');
  // App-only tokens carry no delegated scopes and no user name; v2 ones also say idtyp=app (an
  // optional claim in v1). A token with a user name but no `scp` is still a person's.
  const isApp = stringClaim(payload, 'idtyp') === 'app' || (scopes.length === 0 && userName === null);
  return {
    kind: isApp ? 'app' : 'user',
    appId: stringClaim(payload, 'azp') ?? stringClaim(payload, 'appid'),
    oid: stringClaim(payload, 'oid'),
    upn: isApp ? null : userName,
    name: stringClaim(payload, 'name'),
    roles: stringList(payload.roles),
    scopes,
    acrs: typeof payload.acrs === 'string' ? [payload.acrs] : stringList(payload.acrs),
    tenantId,
    tokenVersion: stringClaim(payload, 'ver') === '2.0' ? '2.0' : '1.0',
  };
}

function stringClaim(payload: JWTPayload, name: string): string | null {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item !== '') : [];
}
