import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, CryptoProvider, ResponseMode, type ConfidentialClientApplication } from '@azure/msal-node';
import type { KeyDeskConfig, WebConfig } from '../config/config.js';
import { PROBLEM_CODES } from '../problem/problem.js';
import { ENTRA_UNREACHABLE, type MsalClient } from '../graph/msal-client.js';
import type { PendingSignIn } from './pending-sign-in.js';
import { KEYDESK_ROLES, holdsAnyKeyDeskRole } from './roles.js';
import { authContextClaimsRequest, isFreshSignIn } from './sign-in-freshness.js';
import type { StaffUser } from './staff-session.js';

/**
 * Staff sign-in through Entra: the authorization code flow with PKCE, `state` and `nonce`, through
 * KeyDesk's one MSAL client. The ID token says who signed in, when (`auth_time`), with which app
 * roles (`roles`) and under which Conditional Access authentication contexts (`acrs`).
 */

/** openid/profile for the ID token; MSAL always adds offline_access, so it is named here too. */
const SIGN_IN_SCOPES = ['openid', 'profile', 'offline_access'];
/** Slack between Entra's clock and KeyDesk's when checking a just-made sign-in against max_age. */
const CLOCK_SKEW_SECONDS = 60;

export interface SignInRequest {
  returnTo: string;
  /** max_age to send (seconds): the sign-in must be at most this old. */
  maxAge?: number | null;
  /** Authentication context to ask Conditional Access for. */
  authContext?: string | null;
  /** The staff member expected back (a re-authentication): pre-fills Entra's account. */
  staff?: StaffUser | null;
}

/** What Entra sent back to the redirect URI. */
export interface CallbackQuery {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
  client_info?: string;
  session_state?: string;
}

export type SignInRefusalCode =
  | 'sign_in_state_mismatch'
  | 'sign_in_refused_by_entra'
  | 'sign_in_code_rejected'
  | 'identity_provider_unavailable'
  | 'sign_in_not_fresh'
  | 'step_up_not_satisfied'
  | 'forbidden';

export type SignInOutcome =
  | { ok: true; staff: StaffUser }
  | {
      ok: false;
      code: SignInRefusalCode;
      status: number;
      detail: string;
      details: Record<string, unknown>;
      /**
       * The ID token was validated: the refusal names a real staff member and is audited. Before
       * that (no or wrong state, an Entra error, a code that could not be redeemed) anyone could
       * have sent the request, and it is only logged.
       */
      staff: StaffUser | null;
    };

function refusal(code: SignInRefusalCode, detail: string, details: Record<string, unknown> = {}, staff: StaffUser | null = null): SignInOutcome {
  return { ok: false, code, status: PROBLEM_CODES[code].status, detail, details, staff };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function stringClaim(claims: Record<string, unknown>, name: string): string | null {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

export class StaffSignIn {
  readonly redirectUri: string;
  private readonly app: ConfidentialClientApplication;
  private readonly crypto = new CryptoProvider();
  private readonly endSessionEndpoint: string;
  /** SELF_SERVICE=on: anyone the tenant signs in may have a session (for /self-service/); every staff page still asks for its role. */
  private readonly withoutRole: boolean;

  constructor(
    config: Pick<KeyDeskConfig, 'tenantId' | 'authorityHost'> & { selfService?: { enabled: boolean } },
    web: Pick<WebConfig, 'publicBaseUrl'>,
    msal: MsalClient,
    private readonly now: () => number,
  ) {
    this.redirectUri = `${web.publicBaseUrl}/auth/callback`;
    // Entra's end_session_endpoint, as its OpenID configuration names it for the tenant.
    this.endSessionEndpoint = `${config.authorityHost}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/logout`;
    this.app = msal.app;
    this.withoutRole = config.selfService?.enabled ?? false;
  }

  /** The authorize URL to send the browser to, and the pending sign-in the browser keeps for the callback. */
  async begin(request: SignInRequest): Promise<{ url: string; pending: PendingSignIn }> {
    const { verifier, challenge } = await this.crypto.generatePkceCodes();
    const pending: PendingSignIn = {
      state: randomBytes(32).toString('base64url'),
      nonce: randomBytes(32).toString('base64url'),
      codeVerifier: verifier,
      returnTo: request.returnTo,
      maxAge: request.maxAge ?? null,
      authContext: request.authContext ?? null,
      startedAt: this.now(),
    };
    const url = await this.app.getAuthCodeUrl({
      scopes: SIGN_IN_SCOPES,
      redirectUri: this.redirectUri,
      // A cross-site form_post would arrive without the SameSite=Lax cookies.
      responseMode: ResponseMode.QUERY,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ...(request.staff ? { loginHint: request.staff.upn } : {}),
      ...(pending.authContext ? { claims: authContextClaimsRequest(pending.authContext) } : {}),
      // MSAL passes max_age through only this way.
      ...(pending.maxAge !== null ? { extraQueryParameters: { max_age: String(pending.maxAge) } } : {}),
    });
    return { url, pending };
  }

  /** Checks Entra's answer against the pending sign-in, redeems the code and reads the ID token. */
  async complete(pending: PendingSignIn | null, query: CallbackQuery): Promise<SignInOutcome> {
    if (!pending || typeof query.state !== 'string' || !sameText(query.state, pending.state)) {
      return refusal('sign_in_state_mismatch', 'This answer from Entra ID does not belong to a sign-in started in this browser in the last 10 minutes. Sign in again.');
    }
    if (typeof query.error === 'string') {
      const aadsts = /AADSTS(\d+)/.exec(query.error_description ?? '')?.[0] ?? null;
      return refusal('sign_in_refused_by_entra', `Entra ID did not sign you in (${query.error.slice(0, 64)}${aadsts ? `, ${aadsts}` : ''}).`, { entraError: query.error.slice(0, 64), aadsts });
    }
    if (typeof query.code !== 'string' || query.code === '') {
      return refusal('sign_in_code_rejected', 'Entra ID sent neither a code nor an error. Sign in again.');
    }
    const redeemed = await this.redeem(pending, { ...query, code: query.code, state: query.state });
    if (!('claims' in redeemed)) return redeemed;
    return this.checkSignIn(pending, staffOf(redeemed.claims));
  }

  private async redeem(pending: PendingSignIn, query: CallbackQuery & { code: string; state: string }): Promise<{ claims: Record<string, unknown> } | SignInOutcome> {
    let claims: Record<string, unknown>;
    try {
      const result = await this.app.acquireTokenByCode(
        // MSAL 7 checks the ID token's nonce against this request's nonce.
        { code: query.code, scopes: SIGN_IN_SCOPES, redirectUri: this.redirectUri, codeVerifier: pending.codeVerifier, state: pending.state, nonce: pending.nonce },
        { code: query.code, state: query.state, ...(query.client_info ? { client_info: query.client_info } : {}) },
      );
      claims = (result.idTokenClaims ?? {}) as Record<string, unknown>;
      // KeyDesk keeps what it needs in the session; MSAL's cache would keep every staff member's
      // tokens (refresh tokens included) for the life of the process.
      if (result.account) await this.app.getTokenCache().removeAccount(result.account);
    } catch (error) {
      const code = error instanceof AuthError ? error.errorCode : 'unknown';
      if (code === ENTRA_UNREACHABLE || code === 'network_error' || code === 'endpoints_resolution_error') {
        return refusal('identity_provider_unavailable', 'Entra ID could not be reached to finish the sign-in. Try again in a moment.', { msalError: code });
      }
      return refusal('sign_in_code_rejected', `Entra ID's answer could not be redeemed (${code}). Sign in again.`, { msalError: code });
    }
    // Checked here as well as by MSAL: an ID token without the nonce sent is someone else's.
    if (claims.nonce !== pending.nonce) return refusal('sign_in_code_rejected', 'The ID token does not carry the nonce of this sign-in. Sign in again.', { msalError: 'nonce_mismatch' });
    if (stringClaim(claims, 'oid') === null) return refusal('sign_in_code_rejected', 'The ID token names no user (no oid claim).');
    return { claims };
  }

  /** The ID token is valid: whether this sign-in is what was asked for, and whether it may use KeyDesk. */
  private checkSignIn(pending: PendingSignIn, staff: StaffUser): SignInOutcome {
    const who = { authTime: staff.authTime, acrs: staff.acrs, roles: staff.roles };
    if (pending.maxAge !== null && !isFreshSignIn(staff.authTime, pending.maxAge + CLOCK_SKEW_SECONDS, this.now())) {
      const detail =
        staff.authTime === null
          ? 'Entra ID did not say when you signed in (the ID token has no auth_time): an administrator must add the optional claim auth_time to KeyDesk\'s app registration (Token configuration > Add optional claim > ID > auth_time).'
          : `Entra ID answered with a sign-in older than ${pending.maxAge} seconds. Sign in again.`;
      return refusal('sign_in_not_fresh', detail, who, staff);
    }
    if (pending.authContext !== null && !staff.acrs.includes(pending.authContext)) {
      const detail = `Entra ID did not apply the authentication context ${pending.authContext} (the ID token's acrs claim lacks it): an administrator must target it with a Conditional Access policy, as KeyDesk's README explains.`;
      return refusal('step_up_not_satisfied', detail, who, staff);
    }
    if (!this.withoutRole && !holdsAnyKeyDeskRole(staff.roles)) {
      const detail = `You signed in to Entra ID as ${staff.name} (${staff.upn}), but you hold none of KeyDesk's app roles (${KEYDESK_ROLES.join(', ')}). Ask an administrator to assign one under Enterprise applications > KeyDesk > Users and groups, then sign in again.`;
      return refusal('forbidden', detail, who, staff);
    }
    return { ok: true, staff };
  }

  /** Entra's logout, which ends the Entra session too and then returns to `postLogoutRedirectUri`. */
  endSessionUrl(postLogoutRedirectUri: string): string {
    return `${this.endSessionEndpoint}?${new URLSearchParams({ post_logout_redirect_uri: postLogoutRedirectUri })}`;
  }
}

function staffOf(claims: Record<string, unknown>): StaffUser {
  const oid = stringClaim(claims, 'oid')!;
  return {
    oid,
    upn: stringClaim(claims, 'preferred_username') ?? stringClaim(claims, 'upn') ?? oid,
    name: stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username') ?? oid,
    roles: stringList(claims.roles),
    authTime: typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time : null,
    acrs: stringList(claims.acrs),
  };
}
