import { createHash, randomBytes } from 'node:crypto';
import type { SimUser } from './organisation.js';
import { KEYDESK_DELEGATED_SCOPE } from './registrations.js';
import { registeredCertificate, type RegisteredCertificate } from './client-assertion.js';
import type { SimulatorState } from './state.js';

/**
 * The tokens the simulated Entra issues, with the claims Entra puts in them and no others: app-only
 * and delegated access tokens for Graph (always v1.0 tokens, as Graph's are) and for KeyDesk's API
 * (v1.0 or v2.0 as its registration's requestedAccessTokenVersion says), and v2.0 ID tokens. A
 * claim a real tenant does not send (amr in v2 ID tokens, auth_time without the optional claim)
 * is never added here, so no KeyDesk code can come to depend on it.
 */

/** Microsoft Graph's application id: a resource can be named by it as well as by its URL. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** OpenID Connect scopes: they ask for an ID token or a refresh token, not for a resource. */
export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Graph delegated permissions the simulated tenant has consented to for KeyDesk's web UI. */
const GRAPH_DELEGATED = new Set([
  'User.Read',
  'User.Read.All',
  'Device.Read.All',
  'Directory.Read.All',
  'DeviceManagementManagedDevices.Read.All',
  'BitlockerKey.ReadBasic.All',
  'BitlockerKey.Read.All',
]);

export type Resource =
  | { kind: 'graph'; audience: string }
  /** `requestedAs` is the identifier the client used: v1.0 tokens carry it as `aud`. */
  | { kind: 'keydesk'; requestedAs: string };

export interface RegisteredApp {
  name: string;
  clientId: string;
  clientSecret: string;
  /** Certificates uploaded under "Certificates & secrets": each authenticates the app as well as its secret. */
  certificates: RegisteredCertificate[];
  servicePrincipalId: string;
  /** KeyDesk API app roles assigned to the app. */
  keydeskRoles: string[];
  isKeyDesk: boolean;
  /** Has a web redirect URI registered, so users can sign in through it (KeyDesk's web UI, the chat bot). */
  signsInUsers: boolean;
}

export function registeredApps(state: SimulatorState): Map<string, RegisteredApp> {
  const { keydesk, ticketingApps, chatBot } = state.model;
  const apps = new Map<string, RegisteredApp>();
  apps.set(keydesk.clientId, {
    name: 'KeyDesk',
    clientId: keydesk.clientId,
    clientSecret: keydesk.clientSecret,
    certificates: [registeredCertificate(state.keydeskCertificate)],
    servicePrincipalId: keydesk.servicePrincipalId,
    keydeskRoles: [],
    isKeyDesk: true,
    signsInUsers: true,
  });
  for (const app of [...ticketingApps, chatBot]) {
    apps.set(app.clientId, {
      name: app.name,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      certificates: [],
      servicePrincipalId: app.servicePrincipalId,
      keydeskRoles: [...app.roles],
      isKeyDesk: false,
      signsInUsers: app === chatBot,
    });
  }
  return apps;
}

/**
 * The resource a scope prefix or v1 `resource` names, or null when the tenant has none by that
 * name. One trailing slash is allowed, and kept in `requestedAs`: Entra's v1 tokens carry exactly
 * the identifier asked for as `aud` (`api://x/.default` gives `api://x`, `api://x//.default` and
 * `resource=api://x/` give `api://x/`).
 */
export function resolveResource(state: SimulatorState, identifier: string): Resource | null {
  const id = identifier.endsWith('/') ? identifier.slice(0, -1) : identifier;
  const { keydesk } = state.model;
  if (id === state.graphBaseUrl || id === GRAPH_APP_ID) return { kind: 'graph', audience: state.graphBaseUrl };
  if (id === keydesk.appIdUri || id === keydesk.clientId) return { kind: 'keydesk', requestedAs: identifier };
  return null;
}

export function issuerV1(state: SimulatorState): string {
  // Public-cloud v1 tokens say https://sts.windows.net/{tid}/, a host the simulator cannot serve;
  // the v1 discovery document names this issuer instead, so verifiers that read it stay correct.
  return `${state.authorityHost}/${state.model.tenantId}/`;
}

export function issuerV2(state: SimulatorState): string {
  return `${state.authorityHost}/${state.model.tenantId}/v2.0`;
}

function lifetime(state: SimulatorState): { iat: number; nbf: number; exp: number } {
  const now = Math.floor(state.now() / 1000);
  return { iat: now, nbf: now, exp: now + state.tokenLifetimeSeconds };
}

/** Entra's `uti`: a per-token id, 22 base64url characters. */
function uti(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** Entra's `sub` is pairwise: the same user has a different, stable `sub` in each app. */
export function pairwiseSubject(oid: string, clientId: string): string {
  return createHash('sha256').update(`${oid}|${clientId}`).digest('base64url').slice(0, 43);
}

function withRoles(claims: Record<string, unknown>, roles: readonly string[]): Record<string, unknown> {
  // Entra leaves the claim out rather than sending an empty list.
  if (roles.length > 0) claims.roles = [...roles];
  return claims;
}

/** The claims of a v1 app-only access token: Graph's tokens are always v1, and so are the API's by default. */
function appTokenV1Claims(state: SimulatorState, app: RegisteredApp, audience: string): Record<string, unknown> {
  return {
    aud: audience,
    iss: issuerV1(state),
    ...lifetime(state),
    appid: app.clientId,
    appidacr: '1',
    idp: issuerV1(state),
    idtyp: 'app',
    oid: app.servicePrincipalId,
    sub: app.servicePrincipalId,
    tid: state.model.tenantId,
    uti: uti(),
    ver: '1.0',
  };
}

/** App-only access token, as the client credentials grant returns it. */
export function appAccessToken(state: SimulatorState, app: RegisteredApp, resource: Resource): Promise<string> {
  if (resource.kind === 'graph') {
    const roles = app.isKeyDesk ? [...state.graphPermissions] : [];
    return state.signer.sign(withRoles({ ...appTokenV1Claims(state, app, resource.audience), app_displayname: app.name }, roles));
  }
  // idtyp is an optional claim; KeyDesk's registration is simulated with it added, as its README asks.
  const claims: Record<string, unknown> =
    state.apiTokenVersion === '2.0'
      ? {
          aud: state.model.keydesk.clientId,
          iss: issuerV2(state),
          ...lifetime(state),
          azp: app.clientId,
          azpacr: '1',
          idtyp: 'app',
          oid: app.servicePrincipalId,
          sub: app.servicePrincipalId,
          tid: state.model.tenantId,
          uti: uti(),
          ver: '2.0',
        }
      : appTokenV1Claims(state, app, resource.requestedAs);
  return state.signer.sign(withRoles(claims, app.keydeskRoles));
}

export interface UserGrant {
  app: RegisteredApp;
  user: SimUser;
  /** Resource scopes as granted (short names for Graph, qualified for KeyDesk's API). */
  resource: Resource;
  resourceScopes: string[];
  oidcScopes: string[];
  /** Epoch seconds of the user's last interactive sign-in. */
  authTime: number;
  /** Authentication contexts satisfied and asked for. */
  acrs: string[];
  /** Step-up done (MFA) at the last sign-in. */
  mfa: boolean;
  nonce: string | null;
}

export type ScopeRequest =
  | { ok: true; resource: Resource; resourceScopes: string[]; oidcScopes: string[] }
  | { ok: false; aadsts: number; description: string };

/**
 * A delegated `scope` parameter split the way Entra does: OIDC scopes, then resource scopes which
 * must all name one resource (a bare name means Graph). Only OIDC scopes: a Graph token for User.Read.
 */
export function parseDelegatedScopes(state: SimulatorState, scope: string): ScopeRequest {
  const requested = scope.split(/\s+/).filter((s) => s !== '');
  const oidcScopes = requested.filter((s) => OIDC_SCOPES.has(s));
  const others = requested.filter((s) => !OIDC_SCOPES.has(s));
  if (others.length === 0) return { ok: true, resource: { kind: 'graph', audience: state.graphBaseUrl }, resourceScopes: ['User.Read'], oidcScopes };
  let resource: Resource | null = null;
  const names: string[] = [];
  for (const item of others) {
    const slash = item.lastIndexOf('/');
    const prefix = slash === -1 ? state.graphBaseUrl : item.slice(0, slash);
    const name = slash === -1 ? item : item.slice(slash + 1);
    const target = resolveResource(state, prefix);
    if (target === null) {
      return {
        ok: false,
        aadsts: 500011,
        description: `The resource principal named ${prefix} was not found in the tenant named ${state.model.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      };
    }
    if (resource !== null && resource.kind !== target.kind) {
      return { ok: false, aadsts: 28000, description: 'Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ' + scope + ' is not valid.' };
    }
    resource = target;
    names.push(name);
  }
  if (resource === null) return { ok: false, aadsts: 70011, description: `The provided value for the input parameter 'scope' is not valid.` };
  const granted: string[] = [];
  for (const name of names) {
    if (resource.kind === 'keydesk') {
      if (name === '.default' || name === KEYDESK_DELEGATED_SCOPE) granted.push(`${state.model.keydesk.appIdUri}/${KEYDESK_DELEGATED_SCOPE}`);
      else return { ok: false, aadsts: 650053, description: `The application asked for scope '${name}' that doesn't exist on the resource '${state.model.keydesk.clientId}'.` };
    } else if (name === '.default') {
      granted.push('User.Read');
    } else if (GRAPH_DELEGATED.has(name)) {
      granted.push(name);
    } else {
      return { ok: false, aadsts: 650053, description: `The application asked for scope '${name}' that doesn't exist on the resource '${GRAPH_APP_ID}'.` };
    }
  }
  return { ok: true, resource, resourceScopes: [...new Set(granted)], oidcScopes };
}

/** The user's app roles on KeyDesk's enterprise app (roles follow the resource, whichever client asked). */
function keydeskRolesOf(state: SimulatorState, user: SimUser): string[] {
  return state.model.staff.find((s) => s.oid === user.id)?.roles ?? [];
}

/** An ID token's roles are those of the client it is issued to: only KeyDesk's sign-in has any. */
function idTokenRoles(state: SimulatorState, grant: UserGrant): string[] {
  return grant.app.isKeyDesk ? keydeskRolesOf(state, grant.user) : [];
}

/** What every delegated token says of the user and its lifetime. */
function userCommonClaims(state: SimulatorState, grant: UserGrant): Record<string, unknown> {
  const { user } = grant;
  return { ...lifetime(state), tid: state.model.tenantId, uti: uti(), oid: user.id, name: user.displayName, ...(grant.acrs.length > 0 ? { acrs: [...grant.acrs] } : {}) };
}

/** v1.0 user claims; v1.0 access tokens say how the user authenticated (amr), v2.0 ones do not. */
function v1UserClaims(grant: UserGrant): Record<string, unknown> {
  const { user, app } = grant;
  return {
    acr: '1',
    amr: grant.mfa ? ['pwd', 'mfa'] : ['pwd'],
    appid: app.clientId,
    appidacr: '1',
    family_name: user.surname,
    given_name: user.givenName,
    unique_name: user.userPrincipalName,
    upn: user.userPrincipalName,
    ver: '1.0',
  };
}

function graphUserToken(state: SimulatorState, grant: UserGrant, audience: string): Promise<string> {
  return state.signer.sign({
    aud: audience,
    iss: issuerV1(state),
    ...userCommonClaims(state, grant),
    ...v1UserClaims(grant),
    app_displayname: grant.app.name,
    // Graph's own registration adds idtyp to user tokens; an API's registration does not by default.
    idtyp: 'user',
    scp: [...grant.resourceScopes, ...grant.oidcScopes.filter((s) => s !== 'offline_access')].join(' '),
    sub: pairwiseSubject(grant.user.id, GRAPH_APP_ID),
  });
}

/**
 * A delegated token for KeyDesk's API, whichever client obtained it: `scp`, the user's app roles,
 * the client in `appid` (v1) or `azp` (v2). No `idtyp`: the optional claim adds it to app-only
 * tokens, and to user tokens only with `include_user_token`, which KeyDesk's registration lacks.
 */
function keydeskUserToken(state: SimulatorState, grant: UserGrant, requestedAs: string): Promise<string> {
  const { user, app } = grant;
  const scp = grant.resourceScopes.map((s) => s.slice(s.lastIndexOf('/') + 1)).join(' ');
  const sub = pairwiseSubject(user.id, state.model.keydesk.clientId);
  const claims =
    state.apiTokenVersion === '2.0'
      ? {
          aud: state.model.keydesk.clientId,
          iss: issuerV2(state),
          ...userCommonClaims(state, grant),
          azp: app.clientId,
          azpacr: '1',
          preferred_username: user.userPrincipalName,
          scp,
          sub,
          ver: '2.0',
        }
      : { aud: requestedAs, iss: issuerV1(state), ...userCommonClaims(state, grant), ...v1UserClaims(grant), scp, sub };
  return state.signer.sign(withRoles(claims, keydeskRolesOf(state, user)));
}

/** Delegated access token for the granted resource. */
export function userAccessToken(state: SimulatorState, grant: UserGrant): Promise<string> {
  const { resource } = grant;
  return resource.kind === 'graph' ? graphUserToken(state, grant, resource.audience) : keydeskUserToken(state, grant, resource.requestedAs);
}

/**
 * v2.0 ID token. No `amr` (v2.0 ID tokens never carry it) and `auth_time` only when the app
 * registration has the optional claim, which KeyDesk's README tells admins to add.
 */
export function idToken(state: SimulatorState, grant: UserGrant): Promise<string> {
  const { user, app } = grant;
  const claims: Record<string, unknown> = {
    aud: app.clientId,
    iss: issuerV2(state),
    ...lifetime(state),
    ...(grant.acrs.length > 0 ? { acrs: [...grant.acrs] } : {}),
    ...(state.authTimeClaim ? { auth_time: grant.authTime } : {}),
    name: user.displayName,
    ...(grant.nonce !== null ? { nonce: grant.nonce } : {}),
    oid: user.id,
    preferred_username: user.userPrincipalName,
    sub: pairwiseSubject(user.id, app.clientId),
    tid: state.model.tenantId,
    uti: uti(),
    ver: '2.0',
  };
  return state.signer.sign(withRoles(claims, idTokenRoles(state, grant)));
}

/** `client_info` (MSAL asks with client_info=1): the home account, base64url JSON. */
export function clientInfo(state: SimulatorState, user: SimUser): string {
  return Buffer.from(JSON.stringify({ uid: user.id, utid: state.model.tenantId })).toString('base64url');
}

/** Space-separated scopes for the token response, as Entra lists what it granted. */
export function grantedScopeString(grant: Pick<UserGrant, 'resourceScopes' | 'oidcScopes'>): string {
  return [...grant.resourceScopes, ...grant.oidcScopes].join(' ');
}
