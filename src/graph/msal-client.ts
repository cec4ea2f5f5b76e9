import {
  AuthError,
  ConfidentialClientApplication,
  LogLevel,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import type { KeyDeskConfig } from '../config/config.js';
import { parseRetryAfter } from './retry.js';

/**
 * KeyDesk's one MSAL ConfidentialClientApplication per process, as the msal-node samples build it:
 * its registration, authority and credential in one configuration object, shared by the Graph
 * token provider (client credentials) and the staff sign-in (authorization code with PKCE).
 */

export interface MsalClient {
  app: ConfidentialClientApplication;
  /** Its network module: what the last failed Entra request ran into. */
  network: EntraNetwork;
}

export type MsalConfig = Pick<KeyDeskConfig, 'tenantId' | 'clientId' | 'clientCredential' | 'authorityHost' | 'graph'>;

export function createMsalClient(config: MsalConfig, now: () => number = Date.now): MsalClient {
  const network = new EntraNetwork(config.graph.requestTimeoutMs, now);
  return { app: new ConfidentialClientApplication(msalConfiguration(config, network)), network };
}

/** The MSAL error code of a token or discovery request that got no usable answer from Entra. */
export const ENTRA_UNREACHABLE = 'keydesk_entra_unreachable';

export interface EntraFailure {
  kind: 'timeout' | 'network' | 'unavailable';
  status?: number;
  retryAfterMs: number | null;
}

type EntraUnreachableError = AuthError & { entra: EntraFailure };

export function isEntraUnreachable(error: unknown): error is EntraUnreachableError {
  return error instanceof AuthError && error.errorCode === ENTRA_UNREACHABLE && 'entra' in error;
}

/**
 * MSAL's network module, replaced for two reasons. MSAL's own sends the token POST without any
 * timeout, so a hung Entra would hang every Graph call. And on a 429/5xx from the token endpoint
 * MSAL caches a "throttle" and refuses all token requests for 60 s (or Retry-After, up to an hour)
 * without asking Entra again; throwing here instead keeps that decision with KeyDesk, which turns
 * it into a Retry-After for its own caller. An AuthError passes MSAL's error handling unchanged
 * (other errors become a bare network_error); AuthError's constructor resets the prototype, so
 * the failure is tagged with a property, not a subclass.
 */
export class EntraNetwork implements INetworkModule {
  /** Why the last GET (OpenID discovery) failed: MSAL swallows that error and reports endpoints_resolution_error. */
  lastGetFailure: EntraFailure | { kind: 'answered'; status: number } | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(timeout ?? this.timeoutMs, this.timeoutMs));
    const unreachable = (failure: EntraFailure): EntraUnreachableError => {
      if (method === 'GET') this.lastGetFailure = failure;
      return Object.assign(new AuthError(ENTRA_UNREACHABLE, '', `Entra ID could not be reached (${failure.kind})`), { entra: failure });
    };
    try {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: options?.headers ?? {},
          ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
          signal: controller.signal,
        });
      } catch {
        throw unreachable({ kind: controller.signal.aborted ? 'timeout' : 'network', retryAfterMs: null });
      }
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel();
        throw unreachable({ kind: 'unavailable', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.now()) });
      }
      let body: T;
      try {
        body = (await response.json()) as T;
      } catch {
        if (controller.signal.aborted) throw unreachable({ kind: 'timeout', retryAfterMs: null });
        // MSAL reads an empty object as "no token, no error"; an empty error makes it fail clearly.
        body = { error: 'keydesk_unreadable_response' } as T;
      }
      if (method === 'GET') this.lastGetFailure = response.ok ? null : { kind: 'answered', status: response.status };
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { status: response.status, headers, body };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * KeyDesk's MSAL configuration, shared by the Graph token provider and the staff sign-in: its
 * client id and credential, the tenant authority, and a network module with timeouts.
 */
export function msalConfiguration(
  config: Pick<KeyDeskConfig, 'tenantId' | 'clientId' | 'clientCredential' | 'authorityHost'>,
  networkClient: INetworkModule,
): Configuration {
  const credential: Partial<Configuration['auth']> =
    config.clientCredential.kind === 'secret'
      ? { clientSecret: config.clientCredential.secret }
      : {
          clientCertificate: {
            thumbprintSha256: config.clientCredential.thumbprintSha256,
            privateKey: config.clientCredential.privateKey,
            x5c: config.clientCredential.x5c,
          },
        };
  return {
    auth: {
      clientId: config.clientId,
      authority: `${config.authorityHost}/${config.tenantId}`,
      // Trusting the configured host skips MSAL's instance discovery against the public cloud,
      // which would fail for any authority host it does not know (a simulator, a new cloud).
      knownAuthorities: [new URL(config.authorityHost).host],
      ...credential,
    },
    system: {
      networkClient,
      // MSAL's messages are left out: KeyDesk logs its own, and never with PII or secrets.
      loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => undefined },
    },
  };
}
