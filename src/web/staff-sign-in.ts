import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, ConfidentialClientApplication, CryptoProvider, ResponseMode } from '@azure/msal-node';
import type { KeyDeskConfig, WebConfig } from '../config/config.js';
import { EntraNetwork, msalConfiguration } from '../graph/token-provider.js';
import { authContextClaimsRequest, isFreshSignIn } from './sign-in-freshness.js';
import type { SignInAttempt, StaffUser } from './staff-session.js';

/**
 * Staff sign-in through Entra: the authorization code flow with PKCE, `state` and `nonce`, with its
 * own MSAL ConfidentialClientApplication (KeyDesk's registration, authority and credential, as the
 * Graph token provider has them). The ID token says who signed in, when (`auth_time`), with which
 * app roles (`roles`) and under which Conditional Access authentication contexts (`acrs`).
 */

/** openid/profile for the ID token; MSAL always adds offline_access, so it is named here too. */
const SIGN_IN_SCOPES = ['openid', 'profile', 'offline_access'];
/** Slack between Entra's clock and KeyDesk's when checking a just-made sign-in against max_age. */
const CLOCK_SKEW_SECONDS = 60;
/** A sign-in left at Entra's page longer than this is not accepted back. */
const ATTEMPT_LIFETIME_MS = 30 * 60_000;

export interface SignInRequest {
  returnTo: string;
  /** max_age to send (seconds): the sign-in must be at most this old. */
  maxAge?: number | null;
  /** Authentication context to ask Conditional Access for. */
  authContext?: string | null;
  /** The staff member expected back (a re-authentication): pre-fills Entra's account. */
  staff?: StaffUser | null;
  draft?: Record<string, string> | null;
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

export type SignInOutcome =
  | { ok: true; staff: StaffUser }
  | { ok: false; code: SignInRefusalCode; status: number; detail: string; details: Record<string, unknown>; staff: StaffUser | null };

export type SignInRefusalCode =
  | 'sign_in_state_mismatch'
  | 'sign_in_expired'
  | 'sign_in_refused_by_entra'
  | 'sign_in_code_rejected'
  | 'sign_in_not_fresh'
  | 'step_up_not_satisfied'
  | 'identity_provider_unavailable';

function refusal(code: SignInRefusalCode, status: number, detail: string, details: Record<string, unknown> = {}, staff: StaffUser | null = null): SignInOutcome {
  return { ok: false, code, status, detail, details, staff };
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

  constructor(
    config: Pick<KeyDeskConfig, 'tenantId' | 'clientId' | 'clientCredential' | 'authorityHost' | 'graph'>,
    web: Pick<WebConfig, 'publicBaseUrl'>,
    private readonly now: () => number,
  ) {
    this.redirectUri = `${web.publicBaseUrl}/auth/callback`;
    // Entra's end_session_endpoint, as its OpenID configuration names it for the tenant.
    this.endSessionEndpoint = `${config.authorityHost}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/logout`;
    this.app = new ConfidentialClientApplication(msalConfiguration(config, new EntraNetwork(config.graph.requestTimeoutMs, now)));
  }

  /** The authorize URL to send the browser to, and the attempt the session keeps for the callback. */
  async begin(request: SignInRequest): Promise<{ url: string; attempt: SignInAttempt }> {
    const { verifier, challenge } = await this.crypto.generatePkceCodes();
    const attempt: SignInAttempt = {
      state: randomBytes(32).toString('base64url'),
      nonce: randomBytes(32).toString('base64url'),
      codeVerifier: verifier,
      returnTo: request.returnTo,
      maxAge: request.maxAge ?? null,
      authContext: request.authContext ?? null,
      expectedOid: request.staff?.oid ?? null,
      draft: request.draft ?? null,
      startedAt: this.now(),
    };
    const url = await this.app.getAuthCodeUrl({
      scopes: SIGN_IN_SCOPES,
      redirectUri: this.redirectUri,
      // A cross-site form_post would arrive without the SameSite=Lax session cookie.
      responseMode: ResponseMode.QUERY,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: attempt.state,
      nonce: attempt.nonce,
      ...(request.staff ? { loginHint: request.staff.upn } : {}),
      ...(attempt.authContext ? { claims: authContextClaimsRequest(attempt.authContext) } : {}),
      // MSAL passes max_age through only this way.
      ...(attempt.maxAge !== null ? { extraQueryParameters: { max_age: String(attempt.maxAge) } } : {}),
    });
    return { url, attempt };
  }

  /** Checks Entra's answer against the attempt, redeems the code and reads the ID token. */
  async complete(attempt: SignInAttempt | undefined, query: CallbackQuery): Promise<SignInOutcome> {
    if (!attempt || typeof query.state !== 'string' || !sameText(query.state, attempt.state)) {
      return refusal('sign_in_state_mismatch', 400, 'This answer from Entra ID does not belong to a sign-in started in this browser. Sign in again.');
    }
    if (this.now() - attempt.startedAt > ATTEMPT_LIFETIME_MS) {
      return refusal('sign_in_expired', 400, 'The sign-in took too long to come back from Entra ID. Sign in again.');
    }
    if (typeof query.error === 'string') {
      const aadsts = /AADSTS(\d+)/.exec(query.error_description ?? '')?.[0] ?? null;
      return refusal('sign_in_refused_by_entra', 401, `Entra ID did not sign you in (${query.error}${aadsts ? `, ${aadsts}` : ''}).`, { entraError: query.error.slice(0, 64), aadsts });
    }
    if (typeof query.code !== 'string' || query.code === '') {
      return refusal('sign_in_code_rejected', 400, 'Entra ID sent neither a code nor an error. Sign in again.');
    }

    let claims: Record<string, unknown>;
    try {
      const result = await this.app.acquireTokenByCode(
        // MSAL 7 checks the ID token's nonce against this request's nonce.
        { code: query.code, scopes: SIGN_IN_SCOPES, redirectUri: this.redirectUri, codeVerifier: attempt.codeVerifier, state: attempt.state, nonce: attempt.nonce },
        { code: query.code, state: query.state, ...(query.client_info ? { client_info: query.client_info } : {}) },
      );
      claims = (result.idTokenClaims ?? {}) as Record<string, unknown>;
      // KeyDesk keeps what it needs in the session; MSAL's cache would keep every staff member's
      // tokens (refresh tokens included) for the life of the process.
      if (result.account) await this.app.getTokenCache().removeAccount(result.account);
    } catch (error) {
      const code = error instanceof AuthError ? error.errorCode : 'unknown';
      if (code === 'keydesk_entra_unreachable' || code === 'network_error' || code === 'endpoints_resolution_error') {
        return refusal('identity_provider_unavailable', 503, 'Entra ID could not be reached to finish the sign-in. Try again in a moment.', { msalError: code });
      }
      return refusal('sign_in_code_rejected', 401, `Entra ID's answer could not be redeemed (${code}). Sign in again.`, { msalError: code });
    }
    // Checked here as well as by MSAL: an ID token without the nonce sent is someone else's.
    if (claims.nonce !== attempt.nonce) return refusal('sign_in_code_rejected', 401, 'The ID token does not carry the nonce of this sign-in. Sign in again.', { msalError: 'nonce_mismatch' });

    const oid = stringClaim(claims, 'oid');
    if (oid === null) return refusal('sign_in_code_rejected', 401, 'The ID token names no user (no oid claim).');
    const authTime = typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time : null;
    const staff: StaffUser = {
      oid,
      upn: stringClaim(claims, 'preferred_username') ?? stringClaim(claims, 'upn') ?? oid,
      name: stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username') ?? oid,
      roles: stringList(claims.roles),
      authTime,
      acrs: stringList(claims.acrs),
    };
    const who = { authTime, acrs: staff.acrs };
    if (attempt.maxAge !== null && !isFreshSignIn(authTime, attempt.maxAge + CLOCK_SKEW_SECONDS, this.now())) {
      return refusal(
        'sign_in_not_fresh',
        401,
        authTime === null
          ? 'Entra ID did not say when you signed in (the ID token has no auth_time): an administrator must add the optional claim auth_time to KeyDesk\'s app registration (Token configuration > Add optional claim > ID > auth_time).'
          : `Entra ID answered with a sign-in older than ${attempt.maxAge} seconds. Sign in again.`,
        who,
        staff,
      );
    }
    if (attempt.authContext !== null && !staff.acrs.includes(attempt.authContext)) {
      return refusal(
        'step_up_not_satisfied',
        403,
        `Entra ID did not apply the authentication context ${attempt.authContext} (the ID token's acrs claim lacks it): an administrator must target it with a Conditional Access policy, as KeyDesk's README explains.`,
        who,
        staff,
      );
    }
    return { ok: true, staff };
  }

  /** Entra's logout, which ends the Entra session too and then returns to `postLogoutRedirectUri`. */
  endSessionUrl(postLogoutRedirectUri: string): string {
    return `${this.endSessionEndpoint}?${new URLSearchParams({ post_logout_redirect_uri: postLogoutRedirectUri })}`;
  }
}
