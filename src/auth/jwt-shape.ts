import { KeyDeskProblem } from '../problem/problem.js';

/**
 * What can be told about a bearer value before any key is fetched. A value that cannot be an
 * Entra access token (not an RS256 JWT, or past its expiry) is refused here, so a client sending
 * garbage or stale tokens never makes KeyDesk ask Entra for its OpenID configuration or keys.
 * Nothing here accepts a token: the signature, issuer and audience are checked afterwards.
 */

/** Clock skew allowed between KeyDesk and Entra, on every time claim. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** Entra's access tokens live 60–90 minutes, up to 28 hours with a token lifetime policy. */
const LONGEST_LIFETIME_SECONDS = 28 * 3600;

const BASE64URL_PART = /^[A-Za-z0-9_-]+$/;

export interface TimeClaims {
  exp: number;
  iat: number;
  nbf?: number;
}

/** A 401 whose detail says which check failed, never what the token holds. */
export function tokenRejected(reason: string, cause?: unknown): KeyDeskProblem {
  return new KeyDeskProblem('unauthorized', `The access token was rejected: ${reason}.`, {
    ...(cause === undefined ? {} : { cause }),
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}

/** Refuses a value that is not a well-formed RS256 JWT with a `kid`, a numeric `exp` and `iat`. */
export function readTimeClaims(token: string): TimeClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL_PART.test(part))) {
    throw tokenRejected('it is not a JWT (three base64url parts)');
  }
  const header = decodePart(parts[0]!, 'header');
  if (header.alg !== 'RS256') throw tokenRejected('it is not signed with RS256');
  if (typeof header.kid !== 'string' || header.kid === '') throw tokenRejected('its header names no signing key ("kid")');
  const payload = decodePart(parts[1]!, 'payload');
  const exp = numericDate(payload, 'exp');
  const iat = numericDate(payload, 'iat');
  if (exp === undefined || iat === undefined) throw tokenRejected('it lacks a numeric "exp" or "iat" claim');
  const nbf = numericDate(payload, 'nbf');
  return nbf === undefined ? { exp, iat } : { exp, iat, nbf };
}

/** Refuses an expired token and one whose time claims no Entra token would carry. */
export function checkTokenLifetime(claims: TimeClaims, nowSeconds: number): void {
  if (claims.exp + CLOCK_TOLERANCE_SECONDS < nowSeconds) throw tokenRejected('the token has expired');
  if (claims.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) throw tokenRejected('its "iat" claim lies more than 60 s in the future');
  if (claims.nbf !== undefined && claims.nbf > claims.exp) throw tokenRejected('its "nbf" claim is after its "exp" claim');
  if (claims.exp - claims.iat > LONGEST_LIFETIME_SECONDS) throw tokenRejected('it is valid for more than 28 hours ("exp" − "iat")');
}

function decodePart(part: string, name: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw tokenRejected(`its ${name} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw tokenRejected(`its ${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** A present claim that is not a finite number makes the token malformed, not merely claim-less. */
function numericDate(payload: Record<string, unknown>, name: 'exp' | 'iat' | 'nbf'): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw tokenRejected(`its "${name}" claim is not a number`);
  return value;
}
