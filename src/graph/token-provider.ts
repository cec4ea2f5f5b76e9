import { AuthError, type ConfidentialClientApplication } from '@azure/msal-node';
import type { AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import type { KeyDeskConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';
import type { GraphLogger } from './graph-call.js';
import { retryAfterSeconds } from './retry.js';
import { isEntraUnreachable, type EntraFailure, type EntraNetwork, type MsalClient } from './msal-client.js';

/** Retry-After KeyDesk suggests when Entra could not be reached and said nothing itself. */
const ENTRA_RETRY_AFTER_MS = 5_000;

export type TokenProviderConfig = Pick<
  KeyDeskConfig,
  'tenantId' | 'clientId' | 'clientCredential' | 'authorityHost' | 'graphBaseUrl' | 'graph'
>;

export interface TokenProviderOptions {
  logger: GraphLogger;
  /** The process's one MSAL client (src/auth/msal.ts). */
  msal: MsalClient;
}

/**
 * App-only Graph tokens from one MSAL ConfidentialClientApplication. MSAL keeps the token in its
 * in-memory cache and serves it until shortly before expiry, so Graph calls cost no token round
 * trip. A cold start with concurrent calls would send one token request each (MSAL does not
 * coalesce client-credential requests), so concurrent callers share one pending acquisition.
 */
/** How long a token MSAL handed out is reused before MSAL is asked again. */
const TOKEN_HOLD_MS = 60_000;
/** MSAL renews a cached token 5 minutes before it expires; with a minute to spare. */
const MSAL_RENEWAL_MARGIN_MS = 6 * 60_000;

export class GraphTokenProvider implements AuthenticationProvider {
  readonly scope: string;
  readonly authority: string;
  private readonly app: ConfidentialClientApplication;
  private readonly network: EntraNetwork;
  private readonly logger: GraphLogger;
  private readonly credentialKind: 'secret' | 'certificate';
  private pending: Promise<string> | null = null;
  private held: { token: string; refreshAt: number; expiresAt: number } | null = null;

  constructor(config: TokenProviderConfig, options: TokenProviderOptions) {
    this.logger = options.logger;
    this.scope = `${config.graphBaseUrl}/.default`;
    this.authority = `${config.authorityHost}/${config.tenantId}`;
    this.credentialKind = config.clientCredential.kind;
    this.network = options.msal.network;
    this.app = options.msal.app;
  }

  getAccessToken(): Promise<string> {
    // MSAL's own cache look-up costs more CPU than the rest of a Graph call's bookkeeping; holding
    // the token here until shortly before MSAL would refresh it keeps that off the hot path.
    // Date.now, not the injected clock: expiresOn comes from MSAL, which reads the real one.
    if (this.held && this.held.refreshAt > Date.now()) return Promise.resolve(this.held.token);
    this.pending ??= this.acquire().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /**
   * Makes sure the token held stays valid for at least `minValidityMs` (readiness: Graph calls
   * then need no token round trip). MSAL serves its cached token until 5 minutes before expiry,
   * so a longer wish needs a forced refresh (`skipCache`, msal-node's name for `forceRefresh`).
   * Rejects with the problems getAccessToken raises.
   */
  async ensureTokenValidFor(minValidityMs: number): Promise<void> {
    const lastsLongEnough = () => this.held !== null && this.held.expiresAt - Date.now() >= minValidityMs;
    if (lastsLongEnough()) return;
    await this.getAccessToken();
    if (lastsLongEnough()) return;
    await this.acquire(true);
    if (!lastsLongEnough()) {
      throw new KeyDeskProblem('graph_error', `Entra ID issued a Graph token that expires within ${Math.ceil(minValidityMs / 1000)} s.`);
    }
  }

  private async acquire(skipCache = false): Promise<string> {
    let result;
    try {
      result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache });
    } catch (error) {
      const problem = this.problemFrom(error);
      this.logger.warn(
        {
          graph: {
            token: 'failed',
            problem: problem.code,
            errorCode: error instanceof AuthError ? error.errorCode : undefined,
            aadsts: aadstsOf(error),
          },
        },
        'Graph token request failed',
      );
      throw problem;
    }
    if (!result?.accessToken) {
      throw new KeyDeskProblem('graph_error', 'Entra ID answered the token request without an access token.');
    }
    if (!result.fromCache) this.logger.debug({ graph: { token: 'acquired', expiresOn: result.expiresOn?.toISOString() } }, 'Graph token acquired');
    const expiresAt = result.expiresOn?.getTime();
    // Held a minute at most, and never into MSAL's own refresh margin (5 minutes before expiry):
    // MSAL stays the one that decides when to renew, it is just asked less often.
    this.held =
      expiresAt === undefined ? null : { token: result.accessToken, refreshAt: Math.min(Date.now() + TOKEN_HOLD_MS, expiresAt - MSAL_RENEWAL_MARGIN_MS), expiresAt };
    return result.accessToken;
  }

  private problemFrom(error: unknown): KeyDeskProblem {
    if (isEntraUnreachable(error)) return unreachableProblem(error.entra, 'the token request');
    if (!(error instanceof AuthError)) {
      return new KeyDeskProblem('graph_error', 'KeyDesk could not obtain a Graph token from Entra ID.', { cause: error });
    }
    const code = error.errorCode;
    const aadsts = aadstsOf(error);
    const named = `${code}${aadsts ? `, ${aadsts}` : ''}`;
    if (code === 'invalid_client') {
      const what =
        this.credentialKind === 'secret'
          ? 'check AZURE_CLIENT_SECRET: it may have expired, or hold the secret\'s ID instead of its value'
          : 'check that the certificate in AZURE_CLIENT_CERTIFICATE_PATH is the one uploaded under "Certificates & secrets" of the app registration, and has not expired';
      return new KeyDeskProblem('graph_permission_missing', `Entra ID rejected KeyDesk's client credential (${named}): ${what}.`);
    }
    if (code === 'unauthorized_client') {
      return new KeyDeskProblem(
        'graph_permission_missing',
        `Entra ID rejected KeyDesk's client credential (${named}): check that AZURE_CLIENT_ID names an app registration (with its secret or certificate) in tenant AZURE_TENANT_ID.`,
      );
    }
    // MSAL reports a failed OpenID discovery as endpoints_resolution_error (wrapping openid_config_error).
    if (code === 'endpoints_resolution_error' || code === 'openid_config_error') {
      const failure = this.network.lastGetFailure;
      if (failure && failure.kind !== 'answered') return unreachableProblem(failure, 'its OpenID configuration');
      return new KeyDeskProblem(
        'graph_error',
        `Entra ID returned no OpenID configuration for ${this.authority}: check AZURE_AUTHORITY_HOST and AZURE_TENANT_ID.`,
      );
    }
    if (code === 'invalid_scope') {
      return new KeyDeskProblem('graph_error', `Entra ID refused the scope ${this.scope} (${named}): check GRAPH_BASE_URL.`);
    }
    if (code === 'network_error') return unreachableProblem({ kind: 'network', retryAfterMs: null }, 'the token request');
    return new KeyDeskProblem('graph_error', `Entra ID refused KeyDesk's token request (${named}).`);
  }
}

/** `AADSTS7000215` from the error number MSAL parsed out of Entra's answer (never its description). */
function aadstsOf(error: unknown): string | undefined {
  const errorNo = (error as { errorNo?: unknown }).errorNo;
  return typeof errorNo === 'number' || (typeof errorNo === 'string' && /^\d+$/.test(errorNo)) ? `AADSTS${errorNo}` : undefined;
}

function unreachableProblem(failure: EntraFailure, what: string): KeyDeskProblem {
  const retryAfter = retryAfterSeconds(failure.retryAfterMs ?? ENTRA_RETRY_AFTER_MS);
  const how =
    failure.kind === 'timeout' ? 'did not answer in time' : failure.kind === 'network' ? 'could not be reached' : `was unavailable (${failure.status})`;
  return new KeyDeskProblem('graph_unavailable', `Entra ID ${how} for ${what}, so KeyDesk has no Graph token. Try again in ${retryAfter} s.`, {
    headers: { 'Retry-After': String(retryAfter) },
    extensions: { graphFailure: failure.kind },
  });
}
