import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startSimulatedTenant, type SimulatedTenant, type SimulatedTenantOptions } from '../../simulator/index.js';

/**
 * Starts a simulated tenant for a test file and talks to it over real HTTPS. The test process
 * was not started with NODE_EXTRA_CA_CERTS, so requests carry the simulator's CA themselves.
 */

/** Shared by the test files so the CA is made once per machine, as it is for the demo. */
export const SHARED_DATA_DIR = join(tmpdir(), 'keydesk-simulator-tests');

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TestTenant {
  tenant: SimulatedTenant;
  /** GET/POST against the simulator, trusting its CA. */
  http(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; form?: Record<string, string> }): Promise<HttpAnswer>;
  /** A Graph GET under /v1.0 with a fresh KeyDesk token (or the one given). */
  graph(pathAndQuery: string, init?: { token?: string | null; headers?: Record<string, string> }): Promise<HttpAnswer>;
  /** A client credentials token from the token endpoint, for KeyDesk's own app unless told otherwise. */
  graphToken(clientId?: string, clientSecret?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestTenant(options: Partial<SimulatedTenantOptions> = {}): Promise<TestTenant> {
  const tenant = await startSimulatedTenant({ dataDir: SHARED_DATA_DIR, ...options });
  const agent = new Agent({ ca: readFileSync(tenant.caCertPath, 'utf8'), keepAlive: true });

  const http: TestTenant['http'] = (url, init = {}) => {
    const body = init.form ? new URLSearchParams(init.form).toString() : init.body;
    const headers: Record<string, string> = { ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = request(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  };

  const tokenEndpoint = `${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/token`;
  const graphToken: TestTenant['graphToken'] = async (clientId = tenant.keydeskApp.clientId, clientSecret = tenant.keydeskApp.clientSecret) => {
    const answer = await http(tokenEndpoint, {
      form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: `${tenant.graphBaseUrl}/.default` },
    });
    if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${answer.text}`);
    return answer.json<{ access_token: string }>().access_token;
  };

  let cachedToken: string | null = null;
  const graph: TestTenant['graph'] = async (pathAndQuery, init = {}) => {
    const token = init.token === undefined ? (cachedToken ??= await graphToken()) : init.token;
    const headers: Record<string, string> = { 'user-agent': 'KeyDesk-tests/1.0', ...init.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    return http(`${tenant.graphBaseUrl}/v1.0/${pathAndQuery.replace(/^\//, '')}`, { headers });
  };

  return {
    tenant,
    http,
    graph,
    graphToken,
    async close() {
      agent.destroy();
      await tenant.close();
    },
  };
}

/** `?name=value&…` the way KeyDesk builds it: every value percent-encoded, `$` names literal. */
export function query(options: Record<string, string | number>): string {
  return `?${Object.entries(options)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join('&')}`;
}

export function odata(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token);
}
