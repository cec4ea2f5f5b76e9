import type { StaffUser } from './staff-session.js';

/**
 * Whether the signed-in staff member may reveal a key now, or must first go back through Entra.
 * Plain rules: the reveal form asks them, the sign-in routes act on the answer.
 */

export type RevealSignInVerdict = 'ok' | 'reauthenticate' | 'step_up';

export interface RevealSignInPolicy {
  /** REAUTH_MAX_AGE: the oldest sign-in (Entra `auth_time`) a reveal accepts, in seconds. */
  reauthMaxAgeSeconds: number;
  /** REQUIRE_AUTH_CONTEXT: the authentication context the ID token's `acrs` must hold. */
  requiredAuthContext: string | null;
}

/**
 * `reauthenticate` when the sign-in is older than the policy allows, or its age is unknown (the
 * ID token had no `auth_time`: the app registration lacks that optional claim); `step_up` when
 * Conditional Access has not applied the required authentication context. v2 ID tokens carry no
 * `amr`, so `acrs` is the only evidence of a step-up.
 */
export function checkRevealSignIn(staff: Pick<StaffUser, 'authTime' | 'acrs'>, policy: RevealSignInPolicy, nowMs: number): RevealSignInVerdict {
  if (!isFreshSignIn(staff.authTime, policy.reauthMaxAgeSeconds, nowMs)) return 'reauthenticate';
  if (policy.requiredAuthContext !== null && !staff.acrs.includes(policy.requiredAuthContext)) return 'step_up';
  return 'ok';
}

export function isFreshSignIn(authTime: number | null, maxAgeSeconds: number, nowMs: number): boolean {
  return authTime !== null && Math.floor(nowMs / 1000) - authTime <= maxAgeSeconds;
}

/**
 * The OpenID Connect claims request that makes Entra apply a Conditional Access authentication
 * context. Asked for in the ID token (which KeyDesk reads) and in the access token (where Entra's
 * documentation puts it), so either way Entra evaluates the policy and reports it in `acrs`.
 */
export function authContextClaimsRequest(authContext: string): string {
  const acrs = { essential: true, value: authContext };
  return JSON.stringify({ id_token: { acrs }, access_token: { acrs } });
}
