import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { pino, type Logger } from 'pino';
import { createGraphGateway, type GraphGatewayOptions } from '../../src/graph/graph-gateway.js';
import { GraphTokenProvider, type TokenProviderConfig } from '../../src/graph/token-provider.js';
import { createMsalClient } from '../../src/graph/msal-client.js';

/**
 * Entra and Graph as nock serves them to the Graph gateway tests, in the shapes of
 * /work/shared/graph-shapes.md, plus a recording clock and logger so tests assert attempts,
 * waits and log lines instead of wall time.
 */

export { TENANT_ID as TENANT, CLIENT_ID as APP_CLIENT_ID, AUTHORITY as LOGIN } from './entra.js';
import { TENANT_ID as TENANT, CLIENT_ID as APP_CLIENT_ID, AUTHORITY as LOGIN, openIdConfigurationV2 } from './entra.js';
export const GRAPH = 'https://graph.microsoft.com';
export const CLIENT_SECRET = 'kd~test-secret-value-0123456789';

export type GatewayTestConfig = TokenProviderConfig;

export function graphConfig(overrides: Partial<GatewayTestConfig> = {}): GatewayTestConfig {
  return {
    tenantId: TENANT,
    clientId: APP_CLIENT_ID,
    clientCredential: { kind: 'secret', secret: CLIENT_SECRET },
    authorityHost: LOGIN,
    graphBaseUrl: GRAPH,
    graph: { retryBudgetMs: 1_000, requestTimeoutMs: 1_000 },
    ...overrides,
  };
}

/** The Graph token provider as production builds it: KeyDesk's one MSAL client, under this configuration. */
export function tokenProviderFor(config: GatewayTestConfig, logger: Logger): GraphTokenProvider {
  return new GraphTokenProvider(config, { logger, msal: createMsalClient(config) });
}

/** The Graph gateway as production builds it (MSAL tokens, KeyDesk's middleware chain), for nock to answer. */
export function gatewayFor(config: GatewayTestConfig, options: Omit<GraphGatewayOptions, 'tokenProvider'>) {
  return createGraphGateway(config, { ...options, tokenProvider: tokenProviderFor(config, options.logger as Logger) });
}

export interface TokenRequest {
  form: URLSearchParams;
}

/**
 * The v2 token endpoint answering client-credential requests `times` times. MSAL adds its own
 * `?client-request-id=…` to the URL, hence `.query(true)`.
 */
export function mockTokenEndpoint(
  options: { authority?: string; tenant?: string; accessToken?: string; times?: number; requests?: TokenRequest[]; expiresIn?: number } = {},
): nock.Scope {
  const { authority = LOGIN, tenant = TENANT, accessToken = 'graph-access-token', times = 1, requests = [], expiresIn = 3599 } = options;
  return nock(authority)
    .post(`/${tenant}/oauth2/v2.0/token`)
    .query(true)
    .times(times)
    .reply((_uri, body) => {
      requests.push({ form: new URLSearchParams(String(body)) });
      return [200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken }];
    });
}

/** `{authority}/{tenant}/v2.0/.well-known/openid-configuration`, which MSAL fetches for hosts it has no built-in metadata for. */
export function mockOpenIdConfiguration(authority: string, tenant = TENANT): nock.Scope {
  return nock(authority).get(`/${tenant}/v2.0/.well-known/openid-configuration`).reply(200, openIdConfigurationV2(authority, tenant));
}

/** A Graph error body, as any Graph endpoint sends it. */
export function graphError(code: string, message: string, requestId = randomUUID()): object {
  return { error: { code, message, innerError: { date: '2026-11-25T10:00:00', 'request-id': requestId, 'client-request-id': randomUUID() } } };
}

/** A device as `/devices?$select=…&$expand=registeredOwners(…)` returns it. */
export function graphDevice(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(),
    deviceId: randomUUID(),
    displayName: 'LAPTOP-BOB',
    operatingSystem: 'Windows',
    operatingSystemVersion: '10.0.22631.4460',
    approximateLastSignInDateTime: '2026-11-20T08:15:00Z',
    trustType: 'AzureAd',
    isManaged: true,
    accountEnabled: true,
    registeredOwners: [
      { '@odata.type': '#microsoft.graph.user', id: randomUUID(), userPrincipalName: 'bob@contoso.com', displayName: 'Bob' },
    ],
    ...overrides,
  };
}

/** The query Graph received, decoded the way Graph decodes it. */
export function receivedQuery(uri: string): URLSearchParams {
  return new URL(uri, GRAPH).searchParams;
}

/** A clock that only moves when the gateway sleeps, and a record of every wait it asked for. */
export function fakeTime(start = Date.parse('2026-11-25T10:00:00Z')): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  waits: number[];
} {
  let current = start;
  const waits: number[] = [];
  return {
    now: () => current,
    sleep: async (ms) => {
      waits.push(ms);
      current += ms;
    },
    waits,
  };
}

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  records: () => Array<Record<string, unknown>>;
}

/** A real pino logger at debug level whose output the test can read. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** One device's key list, as the recovery keys list call returns it (no `key`). */
export const DEVICE_ID = '6d2e8f0a-3b1c-4d5e-9f7a-1b2c3d4e5f60';
export const KEYS_PATH = '/v1.0/informationProtection/bitlocker/recoveryKeys';
export const KEYS = { value: [{ id: 'k-1', volumeType: '1', deviceId: DEVICE_ID, createdDateTime: '2026-01-11T10:00:00Z' }] };
