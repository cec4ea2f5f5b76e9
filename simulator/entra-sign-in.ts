import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clientInfo, parseDelegatedScopes, type RegisteredApp, type Resource, type UserGrant } from './entra-tokens.js';
import { entraTimestamp, html, redirect } from './entra-responses.js';
import type { SimResponse } from './listener.js';
import type { SimUser } from './organisation.js';
import { renderFormPost, renderMessage, renderPicker, type Persona } from './sign-in-page.js';
import type { SimulatorState } from './state.js';

/**
 * Staff sign-in on the simulated Entra: the v2 authorize endpoint with a persona picker instead of
 * a password, a single sign-on cookie session (so max_age, prompt and step-up behave as in Entra),
 * authorization codes bound to client, redirect URI, PKCE challenge and nonce, refresh tokens,
 * and logout. The token endpoint redeems what this issues.
 */

const SSO_COOKIE = 'SIMTENANT_SSO';
const CODE_LIFETIME_MS = 10 * 60_000;
const PENDING_SIGN_IN_MS = 30 * 60_000;
const PROMPTS = new Set(['none', 'login', 'select_account', 'consent', 'create']);

interface SsoSession {
  id: string;
  userId: string;
  /** Epoch seconds of the last interactive sign-in: the ID token's auth_time. */
  authTime: number;
  acrs: Set<string>;
  mfa: boolean;
}

export interface AuthorizeRequest {
  app: RegisteredApp;
  redirectUri: string;
  responseMode: 'query' | 'fragment' | 'form_post';
  state: string | null;
  nonce: string | null;
  scope: { resource: Resource; resourceScopes: string[]; oidcScopes: string[] };
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain';
  prompt: string | null;
  maxAge: number | null;
  requestedAcrs: string[];
  loginHint: string | null;
  wantsClientInfo: boolean;
}

export interface IssuedCode {
  request: AuthorizeRequest;
  userId: string;
  authTime: number;
  acrs: string[];
  mfa: boolean;
  expires: number;
  redeemed: boolean;
}

/** What a refresh token stands for: the grant it came from, by the ids of its app and user. */
export interface RefreshGrant extends Pick<UserGrant, 'resource' | 'resourceScopes' | 'oidcScopes' | 'authTime' | 'acrs' | 'mfa'> {
  clientId: string;
  userId: string;
}

function cookies(request: IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return jar;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** acrs values asked for in a `claims` request, from its id_token or access_token member. */
function requestedAcrs(claims: unknown): string[] | null {
  if (typeof claims !== 'object' || claims === null) return null;
  const values = new Set<string>();
  for (const member of ['id_token', 'access_token']) {
    const target = (claims as Record<string, unknown>)[member];
    if (typeof target !== 'object' || target === null) continue;
    const acrs = (target as Record<string, unknown>).acrs;
    if (typeof acrs !== 'object' || acrs === null) continue;
    const { values: list, value } = acrs as { values?: unknown; value?: unknown };
    if (Array.isArray(list)) for (const v of list) if (typeof v === 'string') values.add(v);
    if (typeof value === 'string') values.add(value);
  }
  return [...values];
}

export interface SignIn {
  /** Codes the token endpoint redeems, by code. */
  codes: Map<string, IssuedCode>;
  refreshTokens: Map<string, RefreshGrant>;
  /** The user, unless unknown or disabled (Entra refuses tokens for a disabled account). */
  activeUser(userId: string): SimUser | undefined;
  authorize(params: URLSearchParams, request: IncomingMessage): SimResponse;
  /** The picker's form post. */
  completeSignIn(form: URLSearchParams, request: IncomingMessage): SimResponse;
  logout(params: URLSearchParams, request: IncomingMessage): SimResponse;
  errorPage(status: number, aadsts: number, text: string): SimResponse;
}

export function createSignIn(state: SimulatorState, apps: Map<string, RegisteredApp>): SignIn {
  const { model } = state;
  const tenantId = model.tenantId;
  const sessions = new Map<string, SsoSession>();
  const codes = new Map<string, IssuedCode>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const pendingSignIns = new Map<string, { request: AuthorizeRequest; expires: number }>();

  function activeUser(userId: string): SimUser | undefined {
    const user = model.directory.user(userId);
    return user?.accountEnabled ? user : undefined;
  }

  function redirectAllowed(app: RegisteredApp, uri: string): boolean {
    if (!app.signsInUsers) return false;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return false;
    }
    if (url.hash !== '' || (url.protocol !== 'https:' && url.protocol !== 'http:')) return false;
    // The chat bot's registration is simulated with loopback redirect URIs only, like KeyDesk's default.
    if (state.redirectUris === null || !app.isKeyDesk) return isLoopback(url.hostname);
    return state.redirectUris.some((registered) => {
      if (registered === uri) return true;
      // Entra ignores the port of a loopback redirect URI: native and local apps pick it at run time.
      try {
        const r = new URL(registered);
        return isLoopback(r.hostname) && r.protocol === url.protocol && r.hostname === url.hostname && r.pathname === url.pathname && r.search === url.search;
      } catch {
        return false;
      }
    });
  }

  function deliver(request: AuthorizeRequest, params: Record<string, string>, headers: Record<string, string | string[]> = {}): SimResponse {
    const fields = { ...params, ...(request.state !== null ? { state: request.state } : {}) };
    if (request.responseMode === 'form_post') {
      const origin = new URL(request.redirectUri).origin;
      const response = html(200, renderFormPost(request.redirectUri, fields), headers);
      response.headers['content-security-policy'] = `default-src 'none'; style-src 'unsafe-inline'; form-action ${origin}; frame-ancestors 'none'; base-uri 'none'`;
      return response;
    }
    const url = new URL(request.redirectUri);
    if (request.responseMode === 'fragment') {
      url.hash = new URLSearchParams(fields).toString();
    } else {
      for (const [name, value] of Object.entries(fields)) url.searchParams.set(name, value);
    }
    return redirect(url.toString(), headers);
  }

  function authorizeError(request: AuthorizeRequest, error: string, aadsts: number, description: string): SimResponse {
    const correlationId = randomUUID();
    return deliver(request, {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${correlationId} Timestamp: ${entraTimestamp(state.now())}`,
      error_uri: `${state.authorityHost}/error?code=${aadsts}`,
    });
  }

  function errorPage(status: number, aadsts: number, text: string): SimResponse {
    return html(status, renderMessage('Sorry, but we’re having trouble signing you in.', [`AADSTS${aadsts}: ${text}`, `Tenant: ${tenantId}`]));
  }

  /** Parses and checks an authorize request; a response when it cannot go on. */
  function parseAuthorize(params: URLSearchParams): AuthorizeRequest | SimResponse {
    const clientId = params.get('client_id') ?? '';
    const app = apps.get(clientId.toLowerCase());
    if (!app) {
      return errorPage(400, 700016, `Application with identifier '${clientId}' was not found in the directory '${model.directory.domain}'.`);
    }
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!app.signsInUsers) return errorPage(400, 500113, 'No reply address is registered for the application.');
    if (!redirectAllowed(app, redirectUri)) {
      return errorPage(400, 50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'.`);
    }
    const mode = params.get('response_mode') ?? 'query';
    const partial: AuthorizeRequest = {
      app,
      redirectUri,
      responseMode: mode === 'fragment' || mode === 'form_post' ? mode : 'query',
      state: params.get('state'),
      nonce: params.get('nonce'),
      scope: { resource: { kind: 'graph', audience: state.graphBaseUrl }, resourceScopes: [], oidcScopes: [] },
      codeChallenge: params.get('code_challenge'),
      codeChallengeMethod: params.get('code_challenge_method') === 'S256' ? 'S256' : 'plain',
      prompt: params.get('prompt'),
      maxAge: null,
      requestedAcrs: [],
      loginHint: params.get('login_hint'),
      wantsClientInfo: params.get('client_info') === '1',
    };
    if (mode !== 'query' && mode !== 'fragment' && mode !== 'form_post') {
      return authorizeError(partial, 'invalid_request', 900144, `The provided value for the input parameter 'response_mode' is not valid: ${mode}.`);
    }
    if (params.get('response_type') !== 'code') {
      return authorizeError(partial, 'unsupported_response_type', 700054, `response_type '${params.get('response_type') ?? ''}' is not enabled for the application.`);
    }
    const method = params.get('code_challenge_method');
    if (method !== null && method !== 'S256' && method !== 'plain') {
      return authorizeError(partial, 'invalid_request', 501491, `The code_challenge_method '${method}' is not supported; use S256.`);
    }
    const scope = parseDelegatedScopes(state, params.get('scope') ?? '');
    if (!scope.ok) return authorizeError(partial, scope.aadsts === 500011 ? 'invalid_resource' : 'invalid_scope', scope.aadsts, scope.description);
    partial.scope = scope;
    if (partial.prompt !== null && !PROMPTS.has(partial.prompt)) {
      return authorizeError(partial, 'invalid_request', 90023, `Invalid prompt value: '${partial.prompt}'.`);
    }
    const maxAge = params.get('max_age');
    if (maxAge !== null) {
      if (!/^\d+$/.test(maxAge)) return authorizeError(partial, 'invalid_request', 90014, `The max_age parameter must be a number of seconds, not '${maxAge}'.`);
      partial.maxAge = Number(maxAge);
    }
    const claims = params.get('claims');
    if (claims !== null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(claims);
      } catch {
        return authorizeError(partial, 'invalid_request', 90014, 'The claims parameter is not valid JSON.');
      }
      partial.requestedAcrs = requestedAcrs(parsed) ?? [];
    }
    return partial;
  }

  function issueCode(request: AuthorizeRequest, session: SsoSession, headers: Record<string, string | string[]> = {}): SimResponse {
    const code = `1.${randomBytes(48).toString('base64url')}`;
    const now = state.now();
    if (codes.size > 5_000) for (const [key, value] of codes) if (value.expires < now || value.redeemed) codes.delete(key);
    codes.set(code, {
      request,
      userId: session.userId,
      authTime: session.authTime,
      acrs: request.requestedAcrs.filter((acr) => session.acrs.has(acr)),
      mfa: session.mfa,
      expires: now + CODE_LIFETIME_MS,
      redeemed: false,
    });
    const user = model.directory.user(session.userId);
    const params: Record<string, string> = { code };
    if (request.wantsClientInfo && user) params.client_info = clientInfo(state, user);
    params.session_state = session.id;
    return deliver(request, params, headers);
  }

  function personas(): Persona[] {
    // Staff first (the default choice), then the employees who use self-service.
    return [...model.staff, ...model.employees].map((member) => ({
      upn: member.upn,
      name: member.name,
      jobTitle: model.directory.user(member.oid)?.jobTitle ?? '',
      roles: member.roles,
    }));
  }

  function sessionOf(request: IncomingMessage): SsoSession | undefined {
    const id = cookies(request).get(SSO_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    return session && activeUser(session.userId) ? session : undefined;
  }

  function showPicker(request: AuthorizeRequest, reason: string | null, selectedUpn: string | null): SimResponse {
    const ctx = randomBytes(24).toString('base64url');
    const now = state.now();
    if (pendingSignIns.size > 5_000) for (const [key, value] of pendingSignIns) if (value.expires < now) pendingSignIns.delete(key);
    pendingSignIns.set(ctx, { request, expires: now + PENDING_SIGN_IN_MS });
    const page = renderPicker({
      tenantId,
      domain: model.directory.domain,
      appName: request.app.name,
      action: `/${tenantId}/oauth2/v2.0/authorize`,
      ctx,
      personas: personas(),
      selectedUpn: request.loginHint ?? selectedUpn,
      reason,
      stepUpContexts: request.requestedAcrs,
    });
    const response = html(200, page);
    // Chrome applies form-action to the redirect that follows the form post, too.
    response.headers['content-security-policy'] = `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${new URL(request.redirectUri).origin}; frame-ancestors 'none'; base-uri 'none'`;
    return response;
  }

  function authorize(params: URLSearchParams, httpRequest: IncomingMessage): SimResponse {
    const parsed = parseAuthorize(params);
    if (!('app' in parsed)) return parsed;
    const request = parsed;
    const session = sessionOf(httpRequest);
    const now = Math.floor(state.now() / 1000);
    const sessionUser = session ? model.directory.user(session.userId) : undefined;
    const hintMismatch = request.loginHint !== null && sessionUser !== undefined && sessionUser.userPrincipalName.toLowerCase() !== request.loginHint.toLowerCase();
    // max_age=0 asks for a fresh sign-in every time, like prompt=login.
    const tooOld = session !== undefined && request.maxAge !== null && (request.maxAge === 0 || now - session.authTime > request.maxAge);
    const stepUpMissing = request.requestedAcrs.some((acr) => !session?.acrs.has(acr));
    const forced = request.prompt === 'login' || request.prompt === 'select_account' || request.prompt === 'consent' || request.prompt === 'create';

    if (request.prompt === 'none') {
      if (!session || hintMismatch) return authorizeError(request, 'login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
      if (tooOld) return authorizeError(request, 'login_required', 50058, `The last sign-in is older than max_age (${request.maxAge} s): the user must sign in again.`);
      if (stepUpMissing) {
        return authorizeError(request, 'interaction_required', 50076, 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.');
      }
      return issueCode(request, session);
    }
    if (session && !forced && !tooOld && !stepUpMissing && !hintMismatch) return issueCode(request, session);

    let reason: string | null = null;
    if (tooOld && session) {
      reason = `${request.app.name} asks for a sign-in no older than ${request.maxAge} seconds (max_age); the last one was ${now - session.authTime} seconds ago. Sign in again.`;
    } else if (stepUpMissing && session) {
      reason = `${request.app.name} asks for step-up (authentication context ${request.requestedAcrs.join(', ')}) before it goes on.`;
    } else if (request.prompt === 'login') {
      reason = `${request.app.name} asks for a fresh sign-in (prompt=login).`;
    }
    return showPicker(request, reason, sessionUser?.userPrincipalName ?? null);
  }

  function completeSignIn(form: URLSearchParams, httpRequest: IncomingMessage): SimResponse {
    const ctx = form.get('ctx') ?? '';
    const pending = pendingSignIns.get(ctx);
    if (!pending || pending.expires < state.now()) {
      pendingSignIns.delete(ctx);
      return errorPage(400, 50058, 'This sign-in page has expired or was already used. Go back to the application and sign in again.');
    }
    pendingSignIns.delete(ctx);
    const { request } = pending;
    if (form.get('action') === 'cancel') return authorizeError(request, 'access_denied', 65004, 'User declined to consent to access the app.');
    const upn = form.get('upn') ?? '';
    const user = model.directory.userByUpn(upn);
    if (!user) return errorPage(400, 50034, `The user account ${upn} does not exist in the ${model.directory.domain} directory. To sign into this application, the account must be added to the directory.`);
    if (!user.accountEnabled) return errorPage(400, 50057, 'The user account is disabled.');
    const steppedUp = form.get('stepUp') === 'done';
    if (request.requestedAcrs.length > 0 && !steppedUp) {
      return authorizeError(request, 'access_denied', 53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.');
    }
    const previous = sessionOf(httpRequest);
    const sameUser = previous?.userId === user.id;
    if (previous) sessions.delete(previous.id);
    const session: SsoSession = {
      id: randomUUID(),
      userId: user.id,
      authTime: Math.floor(state.now() / 1000),
      acrs: new Set([...(sameUser ? previous.acrs : []), ...(steppedUp ? request.requestedAcrs : [])]),
      mfa: steppedUp || (sameUser && previous.mfa),
    };
    sessions.set(session.id, session);
    return issueCode(request, session, { 'set-cookie': `${SSO_COOKIE}=${session.id}; Path=/; Secure; HttpOnly; SameSite=Lax` });
  }

  function logout(params: URLSearchParams, httpRequest: IncomingMessage): SimResponse {
    const session = sessionOf(httpRequest);
    if (session) sessions.delete(session.id);
    const clear = { 'set-cookie': `${SSO_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0` };
    const target = params.get('post_logout_redirect_uri');
    if (target && redirectAllowed(apps.get(model.keydesk.clientId)!, target)) {
      const url = new URL(target);
      const returnState = params.get('state');
      if (returnState !== null) url.searchParams.set('state', returnState);
      return redirect(url.toString(), clear);
    }
    return html(200, renderMessage('You signed out', ['You signed out of the simulated tenant. It is a good idea to close all browser windows.']), clear);
  }

  return { codes, refreshTokens, activeUser, authorize, completeSignIn, logout, errorPage };
}
