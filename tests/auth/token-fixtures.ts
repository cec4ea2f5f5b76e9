import nock from 'nock';
import { SignJWT, decodeJwt } from 'jose';
import type { AccessTokenVerifier } from '../../src/auth/access-token.js';
import { isProblem } from '../../src/problem/problem.js';
import { issueAppToken, type SigningKey } from '../helpers/entra.js';

/** Seconds since the epoch, as JWT time claims count. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** An app token of the tenant with some claims changed (`undefined` removes one), signed again by `key`. */
export async function tokenWith(key: SigningKey, changes: Record<string, unknown>): Promise<string> {
  const claims: Record<string, unknown> = { ...decodeJwt(await issueAppToken(key)), ...changes };
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

/** "code: detail" of the refusal, or 'accepted'. */
export async function verdictOn(verifier: AccessTokenVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (error) {
    if (!isProblem(error)) throw error;
    return `${error.code}: ${error.detail}`;
  }
}

/**
 * The path of every HTTP request sent while nock is active: those `scope` answers and those no
 * mock answers. Call `nock.emitter.removeAllListeners('no match')` after the test.
 */
export function requestsSeen(scope: nock.Scope): string[] {
  const seen: string[] = [];
  scope.on('request', (req: { path: string }) => void seen.push(req.path));
  nock.emitter.on('no match', (req: { path?: string; href?: string }) => void seen.push(String(req.path ?? req.href)));
  return seen;
}
