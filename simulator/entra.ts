import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  appAccessToken,
  clientInfo,
  grantedScopeString,
  idToken,
  issuerV1,
  issuerV2,
  parseDelegatedScopes,
  registeredApps,
  resolveResource,
  userAccessToken,
  type RegisteredApp,
  type Resource,
  type UserGrant,
} from './entra-tokens.js';
import { entraError as entraErrorOf, html, json, type TokenOutcome } from './entra-responses.js';
import { clientAuthMethod, createClientAuthentication } from './entra-client-auth.js';
import { createSignIn } from './entra-sign-in.js';
import { BodyTooLarge, readBody, send, type SimHandler, type SimResponse } from './listener.js';
import { renderMessage } from './sign-in-page.js';
import { record, type SimulatorState } from './state.js';

/**
 * The simulated Entra ID host: the tenant's v1 and v2 OpenID configurations and keys, the v2 token
 * endpoint (client credentials, authorization code with PKCE, refresh token), the v1 token
 * endpoint (client credentials), and the sign-in endpoints of entra-sign-in.ts. Errors carry
 * Entra's shape: `error`, an `AADSTS…` description, `error_codes`.
 */

export interface EntraHost {
  handler: SimHandler;
  /** Mints an app-only token as the client credentials grant would, without the HTTP round trip. */
  mintAppToken(clientId: string, scope: string): Promise<string>;
  /** Mints the delegated token for KeyDesk's API that a client's authorization code flow would give, without the sign-in. */
  mintDelegatedApiToken(request: DelegatedApiTokenRequest): Promise<string>;
}

export interface DelegatedApiTokenRequest {
  /** The signed-in user (any user of the directory; staff carry their KeyDesk app roles). */
  staffUpn: string;
  /** The client app that obtained the token. */
  clientId: string;
  /** Authentication context ids the user satisfied with a step-up (the token then carries `acrs`, and `amr` mfa in v1). */
  acrs?: string[];
  /** The identifier the client asked for (v1 tokens carry it as `aud`). Default: the App ID URI. */
  resource?: string;
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function createEntraHost(state: SimulatorState): EntraHost {
  const { model } = state;
  const tenantId = model.tenantId;
  const apps = registeredApps(state);
  const signIn = createSignIn(state, apps);
  const clientAuthentication = createClientAuthentication(state, apps);
  const { codes, refreshTokens, activeUser } = signIn;

  const isTenant = (segment: string) => segment === tenantId || segment.toLowerCase() === model.directory.domain;
  const base = `${state.authorityHost}/${tenantId}`;
  const entraError = (status: number, error: string, aadsts: number, description: string, correlationId: string): TokenOutcome =>
    entraErrorOf(state, status, error, aadsts, description, correlationId);

  // ---- Discovery -------------------------------------------------------------------------

  function openIdConfigurationV2(): unknown {
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: issuerV2(state),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${state.graphBaseUrl}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'email'],
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(state.authorityHost).hostname,
      msgraph_host: new URL(state.graphBaseUrl).host,
    };
  }

  function openIdConfigurationV1(): unknown {
    return {
      token_endpoint: `${base}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${state.authorityHost}/common/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code'],
      scopes_supported: ['openid'],
      issuer: issuerV1(state),
      microsoft_multi_refresh_token: true,
      // The v1 authorize endpoint is not simulated: MSAL and KeyDesk sign users in through v2.0.
      authorization_endpoint: `${base}/oauth2/authorize`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'nonce', 'email', 'given_name', 'family_name', 'nickname'],
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(state.authorityHost).hostname,
      msgraph_host: new URL(state.graphBaseUrl).host,
    };
  }

  function unknownTenant(segment: string): SimResponse {
    return entraError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      randomUUID(),
    ).answer;
  }

  // ---- Token endpoint --------------------------------------------------------------------

  function clientCredentialsScope(scope: string | null, correlationId: string): Resource | TokenOutcome {
    if (!scope) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.", correlationId);
    const scopes = scope.split(/\s+/).filter((s) => s !== '');
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) {
      return entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        correlationId,
      );
    }
    const identifier = scopes[0]!.slice(0, -'/.default'.length);
    const resource = resolveResource(state, identifier);
    if (resource === null) return unknownResource(identifier, correlationId);
    return resource;
  }

  function unknownResource(identifier: string, correlationId: string): TokenOutcome {
    return entraError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${identifier} was not found in the tenant named ${model.directory.domain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      correlationId,
    );
  }

  async function userTokenResponse(app: RegisteredApp, grant: UserGrant, wantsClientInfo: boolean): Promise<SimResponse> {
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: grantedScopeString(grant),
      expires_in: state.tokenLifetimeSeconds,
      ext_expires_in: state.tokenLifetimeSeconds,
      access_token: await userAccessToken(state, grant),
    };
    if (grant.oidcScopes.includes('offline_access')) {
      const refreshToken = `1.${randomBytes(48).toString('base64url')}`;
      refreshTokens.set(refreshToken, {
        clientId: app.clientId,
        userId: grant.user.id,
        resource: grant.resource,
        resourceScopes: grant.resourceScopes,
        oidcScopes: grant.oidcScopes,
        authTime: grant.authTime,
        acrs: grant.acrs,
        mfa: grant.mfa,
      });
      body.refresh_token = refreshToken;
    }
    if (grant.oidcScopes.includes('openid')) body.id_token = await idToken(state, grant);
    if (wantsClientInfo) body.client_info = clientInfo(state, grant.user);
    return json(200, body);
  }

  async function token(request: IncomingMessage, query: URLSearchParams, endpoint: 'v2.0' | 'v1'): Promise<{ outcome: TokenOutcome; form: URLSearchParams }> {
    const correlationId = query.get('client-request-id') ?? (request.headers['client-request-id'] as string | undefined) ?? randomUUID();
    const form = new URLSearchParams(await readBody(request, 65_536));
    const grantType = form.get('grant_type');
    if (!grantType) return { outcome: entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.", correlationId), form };
    const client = await clientAuthentication.authenticate(request, form, endpoint, correlationId);
    if (!('app' in client)) return { outcome: client, form };
    const { app } = client;

    if (grantType === 'client_credentials') {
      let resource: Resource | TokenOutcome;
      if (endpoint === 'v1') {
        const identifier = form.get('resource');
        if (!identifier) return { outcome: entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'resource'.", correlationId), form };
        resource = resolveResource(state, identifier) ?? unknownResource(identifier, correlationId);
      } else {
        resource = clientCredentialsScope(form.get('scope'), correlationId);
      }
      if ('answer' in resource) return { outcome: resource, form };
      const accessToken = await appAccessToken(state, app, resource);
      if (endpoint === 'v1') {
        // The v1 endpoint writes its numbers as strings.
        const now = Math.floor(state.now() / 1000);
        return {
          outcome: {
            answer: json(200, {
              token_type: 'Bearer',
              expires_in: String(state.tokenLifetimeSeconds),
              ext_expires_in: String(state.tokenLifetimeSeconds),
              expires_on: String(now + state.tokenLifetimeSeconds),
              not_before: String(now),
              resource: form.get('resource'),
              access_token: accessToken,
            }),
          },
          form,
        };
      }
      return {
        outcome: { answer: json(200, { token_type: 'Bearer', expires_in: state.tokenLifetimeSeconds, ext_expires_in: state.tokenLifetimeSeconds, access_token: accessToken }) },
        form,
      };
    }

    if (endpoint === 'v2.0' && grantType === 'authorization_code') {
      const code = form.get('code');
      if (!code) return { outcome: entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.", correlationId), form };
      const issued = codes.get(code);
      if (!issued || issued.request.app.clientId !== app.clientId) {
        return { outcome: entraError(400, 'invalid_grant', 70000, 'The provided value for the code parameter is not valid.', correlationId), form };
      }
      if (issued.redeemed) {
        return {
          outcome: entraError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.', correlationId),
          form,
        };
      }
      if (state.now() > issued.expires) {
        return {
          outcome: entraError(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.', correlationId),
          form,
        };
      }
      if (form.get('redirect_uri') !== issued.request.redirectUri) {
        return { outcome: entraError(400, 'invalid_grant', 500112, 'The reply address does not match the reply address provided when requesting Authorization code.', correlationId), form };
      }
      if (issued.request.codeChallenge !== null) {
        const verifier = form.get('code_verifier');
        if (!verifier) return { outcome: entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code_verifier'.", correlationId), form };
        const computed = issued.request.codeChallengeMethod === 'S256' ? s256(verifier) : verifier;
        if (computed !== issued.request.codeChallenge) {
          return { outcome: entraError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.', correlationId), form };
        }
      }
      const user = activeUser(issued.userId);
      if (!user) return { outcome: entraError(400, 'invalid_grant', 50057, 'The user account is disabled.', correlationId), form };
      issued.redeemed = true;
      const grant: UserGrant = {
        app,
        user,
        resource: issued.request.scope.resource,
        resourceScopes: issued.request.scope.resourceScopes,
        oidcScopes: issued.request.scope.oidcScopes,
        authTime: issued.authTime,
        acrs: issued.acrs,
        mfa: issued.mfa,
        nonce: issued.request.nonce,
      };
      return { outcome: { answer: await userTokenResponse(app, grant, form.get('client_info') === '1' || issued.request.wantsClientInfo) }, form };
    }

    if (endpoint === 'v2.0' && grantType === 'refresh_token') {
      const refreshToken = form.get('refresh_token');
      if (!refreshToken) return { outcome: entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'refresh_token'.", correlationId), form };
      const stored = refreshTokens.get(refreshToken);
      if (!stored) return { outcome: entraError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.', correlationId), form };
      if (stored.clientId !== app.clientId) {
        return { outcome: entraError(400, 'invalid_grant', 70000, 'The refresh token was issued to a different client.', correlationId), form };
      }
      const user = activeUser(stored.userId);
      if (!user) return { outcome: entraError(400, 'invalid_grant', 50057, 'The user account is disabled.', correlationId), form };
      let scope = { resource: stored.resource, resourceScopes: stored.resourceScopes, oidcScopes: stored.oidcScopes };
      const asked = form.get('scope');
      if (asked) {
        // Entra refresh tokens are multi-resource: the same one buys a token for another API.
        const parsed = parseDelegatedScopes(state, asked);
        if (!parsed.ok) return { outcome: entraError(400, parsed.aadsts === 500011 ? 'invalid_resource' : 'invalid_scope', parsed.aadsts, parsed.description, correlationId), form };
        scope = parsed;
      }
      const grant: UserGrant = { app, user, ...scope, authTime: stored.authTime, acrs: stored.acrs, mfa: stored.mfa, nonce: null };
      return { outcome: { answer: await userTokenResponse(app, grant, form.get('client_info') === '1') }, form };
    }

    return { outcome: entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`, correlationId), form };
  }
  // ---- Routing ---------------------------------------------------------------------------

  async function route(request: IncomingMessage, path: string, query: URLSearchParams): Promise<SimResponse> {
    const segments = path.split('/').slice(1).map((s) => decodeURIComponent(s));
    const [tenant = '', ...rest] = segments;
    const tail = rest.join('/');
    const method = request.method ?? 'GET';

    if (path === '/' && method === 'GET') {
      return html(
        200,
        renderMessage('Simulated Entra ID', [
          `Tenant ${tenantId} (${model.directory.domain}).`,
          `OpenID configuration: ${base}/v2.0/.well-known/openid-configuration`,
        ]),
      );
    }
    if (tenant === 'common' && (tail === 'discovery/keys' || tail === 'discovery/v2.0/keys') && method === 'GET') {
      return json(200, await state.signer.jwks(), { 'cache-control': 'max-age=86400, private' });
    }
    if (!isTenant(tenant)) {
      if (tail === '') return html(404, renderMessage('Not found', [`No such page on the simulated Entra ID: ${path}`]));
      return unknownTenant(tenant);
    }

    if (method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') return json(200, openIdConfigurationV2(), { 'cache-control': 'max-age=86400, private' });
    if (method === 'GET' && tail === '.well-known/openid-configuration') return json(200, openIdConfigurationV1(), { 'cache-control': 'max-age=86400, private' });
    if (method === 'GET' && tail === 'discovery/v2.0/keys') return json(200, await state.signer.jwks(issuerV2(state)), { 'cache-control': 'max-age=86400, private' });
    if (method === 'GET' && tail === 'discovery/keys') return json(200, await state.signer.jwks(), { 'cache-control': 'max-age=86400, private' });

    if (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token') {
      const endpoint = tail === 'oauth2/token' ? 'v1' : 'v2.0';
      if (method !== 'POST') return entraError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.', randomUUID()).answer;
      const started = state.now();
      let outcome: TokenOutcome;
      let form = new URLSearchParams();
      try {
        ({ outcome, form } = await token(request, query, endpoint));
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        outcome = entraError(413, 'invalid_request', 90000, 'The request body is too large.', randomUUID());
      }
      await state.delays.wait(state.faults.latencyMs);
      state.counters.tokenRequests++;
      record(state.logs.token, {
        time: started,
        endpoint,
        grantType: form.get('grant_type'),
        clientId: form.get('client_id'),
        scope: endpoint === 'v1' ? form.get('resource') : form.get('scope'),
        clientAuth: clientAuthMethod(request, form),
        status: outcome.answer.status,
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.aadsts ? { aadsts: outcome.aadsts } : {}),
      }, state.logLimit);
      return outcome.answer;
    }

    if (tail === 'oauth2/v2.0/authorize') {
      if (method === 'GET') return signIn.authorize(query, request);
      if (method === 'POST') {
        const form = new URLSearchParams(await readBody(request, 65_536));
        return form.has('ctx') ? signIn.completeSignIn(form, request) : signIn.authorize(form, request);
      }
    }
    if (tail === 'oauth2/v2.0/logout' || tail === 'oauth2/logout') {
      if (method === 'GET') return signIn.logout(query, request);
      if (method === 'POST') return signIn.logout(new URLSearchParams(await readBody(request, 65_536)), request);
    }
    if (tail === 'oauth2/authorize') {
      return signIn.errorPage(400, 900561, 'The v1.0 authorize endpoint is not part of the simulated tenant; sign in through /oauth2/v2.0/authorize.');
    }
    return html(404, renderMessage('Not found', [`No such page on the simulated Entra ID: ${path}`]));
  }

  const handler: SimHandler = (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const time = state.now();
    route(request, path, query)
      .catch((error: unknown) =>
        json(500, { error: 'server_error', error_description: `AADSTS90000: The simulated tenant failed: ${error instanceof Error ? error.message : String(error)}` }),
      )
      .then((answer) => {
        answer.headers['x-ms-request-id'] = randomUUID();
        record(state.logs.entra, { time, method: request.method ?? 'GET', path, status: answer.status }, state.logLimit);
        send(response, answer);
      });
  };

  return {
    handler,
    async mintAppToken(clientId, scope) {
      const app = apps.get(clientId.toLowerCase());
      if (!app) throw new TypeError(`no app registration with client id ${clientId} in the simulated tenant`);
      const resource = clientCredentialsScope(scope, randomUUID());
      if ('answer' in resource) throw new TypeError(`the simulated tenant refuses the scope ${scope} (AADSTS${resource.aadsts})`);
      return appAccessToken(state, app, resource);
    },
    async mintDelegatedApiToken(request) {
      const app = apps.get(request.clientId.toLowerCase());
      if (!app) throw new TypeError(`no app registration with client id ${request.clientId} in the simulated tenant`);
      const found = model.directory.userByUpn(request.staffUpn);
      const user = found ? activeUser(found.id) : undefined;
      if (!user) throw new TypeError(`no enabled user ${request.staffUpn} in the simulated tenant (Entra issues no token to a disabled account)`);
      const resource = resolveResource(state, request.resource ?? model.keydesk.appIdUri);
      if (resource?.kind !== 'keydesk') throw new TypeError(`${request.resource} does not name KeyDesk's API`);
      const acrs = [...(request.acrs ?? [])];
      const authTime = Math.floor(state.now() / 1000);
      const resourceScopes = [...model.keydesk.scopes];
      return userAccessToken(state, { app, user, resource, resourceScopes, oidcScopes: [], authTime, acrs, mfa: acrs.length > 0, nonce: null });
    },
  };
}
