import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Environment -> typed, validated configuration. The only module that reads `process.env`:
 * everything else receives a `KeyDeskConfig`. A bad start-up lists every bad variable at once,
 * each with what to do about it, so an operator fixes the deployment in one go.
 */

export type RequesterCheck = 'enforce' | 'warn' | 'off';

export type ClientCredential =
  | { kind: 'secret'; secret: string }
  | {
      kind: 'certificate';
      path: string;
      /** PEM of the private key, for MSAL's client assertion. */
      privateKey: string;
      /** SHA-256 thumbprint (hex) of the certificate, as Entra shows it. */
      thumbprintSha256: string;
      /** The certificate chain (PEM), sent as `x5c` for subject-name/issuer authentication. */
      x5c: string;
    };

export interface KeyDeskConfig {
  tenantId: string;
  clientId: string;
  clientCredential: ClientCredential;
  /** Without trailing slash, e.g. `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** Without trailing slash, e.g. `https://graph.microsoft.com`. */
  graphBaseUrl: string;
  /** Accepted `aud` values of access tokens presented to the API. */
  apiAudiences: string[];
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  audit: {
    file: string;
    /** When set, the chain is HMAC-SHA-256 under this key instead of plain SHA-256. */
    hmacKey: Buffer | null;
  };
  graph: {
    retryBudgetMs: number;
    requestTimeoutMs: number;
  };
  /** How long device resolution (device, owners, Intune primary user) is remembered; 0 = never. */
  deviceCacheTtlMs: number;
  policy: {
    requesterCheck: RequesterCheck;
    ticketPattern: RegExp;
  };
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** Trust X-Forwarded-For from this many proxy hops (0: use the socket address). */
  trustProxyHops: number;
  /** The helpdesk web UI; null when PUBLIC_BASE_URL is not set (the API alone). */
  web: WebConfig | null;
}

export interface WebConfig {
  /** Origin staff browse to, without trailing slash, e.g. `https://keydesk.contoso.com`. */
  publicBaseUrl: string;
  /** Signs the session cookie. */
  sessionSecret: string;
  /** True when publicBaseUrl is https: the session cookie is then `Secure`. */
  secureCookies: boolean;
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** A reveal needs a sign-in (Entra `auth_time`) no older than this, in seconds. */
  reauthMaxAgeSeconds: number;
  /** Conditional Access authentication context a reveal needs in the ID token's `acrs`, e.g. `c1`. */
  requiredAuthContext: string | null;
  /** How long the key page shows a recovery password. */
  keyDisplaySeconds: number;
}

/** Accepts `INC0012345` (ServiceNow), `SD-1234` (Jira), `12345` (Zendesk) and similar. */
export const DEFAULT_TICKET_PATTERN = '^(?:[A-Za-z][A-Za-z0-9]{1,9}-?\\d{1,12}|\\d{1,12})$';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT_DOMAIN = /^(?=.{3,253}$)[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `KeyDesk cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSee .env.example and the configuration table in README.md.',
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): KeyDeskConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (name: string, how: string): string => {
    const value = read(name);
    if (value === undefined) problems.push(`${name} is missing: ${how}`);
    return value ?? '';
  };
  const integer = (name: string, fallback: number, min: number, max: number, how: string): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not valid: ${how} (a whole number from ${min} to ${max})`);
      return fallback;
    }
    return value;
  };
  const httpsUrl = (name: string, fallback: string, how: string): string => {
    const raw = read(name) ?? fallback;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'https:') throw new Error('not https');
      if (url.search || url.hash || url.username) throw new Error('extra parts');
      return url.origin + url.pathname.replace(/\/+$/, '');
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)} is not valid: ${how}`);
      return fallback;
    }
  };

  const tenantId = required(
    'AZURE_TENANT_ID',
    'set it to the Directory (tenant) ID shown on the app registration\'s Overview page in the Entra admin center',
  );
  if (tenantId && !GUID.test(tenantId) && !TENANT_DOMAIN.test(tenantId)) {
    problems.push(`AZURE_TENANT_ID=${JSON.stringify(tenantId)} is not valid: use the tenant's GUID (or its primary domain, e.g. contoso.onmicrosoft.com)`);
  }
  const clientId = required(
    'AZURE_CLIENT_ID',
    'set it to the Application (client) ID of KeyDesk\'s app registration',
  );
  if (clientId && !GUID.test(clientId)) {
    problems.push(`AZURE_CLIENT_ID=${JSON.stringify(clientId)} is not valid: it must be the application (client) ID, a GUID`);
  }

  const secret = read('AZURE_CLIENT_SECRET');
  const certificatePath = read('AZURE_CLIENT_CERTIFICATE_PATH');
  let clientCredential: ClientCredential = { kind: 'secret', secret: '' };
  if (secret && certificatePath) {
    problems.push('AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are both set: keep only one (a certificate is preferred)');
  } else if (secret) {
    clientCredential = { kind: 'secret', secret };
  } else if (certificatePath) {
    const loaded = loadCertificate(certificatePath);
    if (typeof loaded === 'string') problems.push(`AZURE_CLIENT_CERTIFICATE_PATH=${JSON.stringify(certificatePath)} is not usable: ${loaded}`);
    else clientCredential = loaded;
  } else {
    problems.push(
      'AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is missing: add a client secret or upload a certificate under "Certificates & secrets" of the app registration, then set one of them',
    );
  }

  const authorityHost = httpsUrl(
    'AZURE_AUTHORITY_HOST',
    'https://login.microsoftonline.com',
    'use the https URL of your cloud\'s Entra authority, e.g. https://login.microsoftonline.com or https://login.microsoftonline.us',
  );
  const graphBaseUrl = httpsUrl(
    'GRAPH_BASE_URL',
    'https://graph.microsoft.com',
    'use the https URL of your cloud\'s Microsoft Graph, e.g. https://graph.microsoft.com or https://graph.microsoft.us',
  );

  const apiAudience = read('API_AUDIENCE') ?? (clientId ? `api://${clientId}` : '');
  const apiAudiences = [...new Set([apiAudience, clientId].filter((a) => a !== ''))];

  const host = read('HOST') ?? '0.0.0.0';
  const port = integer('PORT', 8080, 1, 65535, 'set the TCP port to listen on');

  const logLevel = (read('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} is not valid: use one of ${LOG_LEVELS.join(', ')}`);
  }

  const auditFile = read('AUDIT_FILE') ?? './data/audit.jsonl';
  const hmac = readAuditHmacKey(env);
  if (typeof hmac === 'string') problems.push(hmac);
  const hmacKey = typeof hmac === 'string' ? null : hmac;

  const retryBudgetMs = integer('GRAPH_RETRY_BUDGET_MS', 10_000, 0, 120_000, 'set how long KeyDesk may spend retrying a throttled or failing Graph call, in milliseconds');
  const requestTimeoutMs = integer('GRAPH_TIMEOUT_MS', 5_000, 100, 60_000, 'set the timeout of one Graph request, in milliseconds');
  const deviceCacheTtlMs = integer('DEVICE_CACHE_TTL_MS', 30_000, 0, 600_000, 'set how long a resolved device and its owners are remembered, in milliseconds (0 turns the cache off)');

  const requesterCheck = (read('REQUESTER_CHECK') ?? 'enforce').toLowerCase();
  if (!['enforce', 'warn', 'off'].includes(requesterCheck)) {
    problems.push(`REQUESTER_CHECK=${JSON.stringify(requesterCheck)} is not valid: use enforce, warn or off`);
  }
  const ticketPatternRaw = read('TICKET_PATTERN') ?? DEFAULT_TICKET_PATTERN;
  let ticketPattern = new RegExp(DEFAULT_TICKET_PATTERN);
  try {
    ticketPattern = new RegExp(ticketPatternRaw);
  } catch (error) {
    problems.push(`TICKET_PATTERN=${JSON.stringify(ticketPatternRaw)} is not a valid regular expression: ${(error as Error).message}`);
  }

  const bodyLimitBytes = integer('BODY_LIMIT_BYTES', 8_192, 1_024, 1_048_576, 'set the largest accepted request body, in bytes');
  const trustProxyHops = integer('TRUST_PROXY_HOPS', 0, 0, 10, 'set how many reverse proxies in front of KeyDesk may set X-Forwarded-For');

  const web = readWebConfig(read, integer, problems, trustProxyHops);

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    tenantId,
    clientId,
    clientCredential,
    authorityHost,
    graphBaseUrl,
    apiAudiences,
    host,
    port,
    logLevel: logLevel as KeyDeskConfig['logLevel'],
    audit: { file: auditFile, hmacKey },
    graph: { retryBudgetMs, requestTimeoutMs },
    deviceCacheTtlMs,
    policy: { requesterCheck: requesterCheck as RequesterCheck, ticketPattern },
    bodyLimitBytes,
    trustProxyHops,
    web,
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const AUTH_CONTEXT = /^c(?:[1-9]|[1-9][0-9])$/;

/** The web UI is on when PUBLIC_BASE_URL is set; the API alone needs none of these. */
function readWebConfig(
  read: (name: string) => string | undefined,
  integer: (name: string, fallback: number, min: number, max: number, how: string) => number,
  problems: string[],
  trustProxyHops: number,
): WebConfig | null {
  const raw = read('PUBLIC_BASE_URL');
  if (raw === undefined) return null;
  let publicBaseUrl = '';
  let secureCookies = true;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    if (url.search || url.hash || url.username || url.password || url.pathname.replace(/\/+$/, '') !== '') throw new Error('extra parts');
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      problems.push(
        `PUBLIC_BASE_URL=${JSON.stringify(raw)} is not valid: use https (plain http is accepted for localhost and 127.0.0.1 only), since session cookies and Entra's redirects must not cross the network in clear`,
      );
    }
    publicBaseUrl = url.origin;
    secureCookies = url.protocol === 'https:';
  } catch {
    problems.push(
      `PUBLIC_BASE_URL=${JSON.stringify(raw)} is not valid: use the origin staff browse to, without a path, e.g. https://keydesk.contoso.com`,
    );
  }
  // KeyDesk itself serves plain HTTP: an https address means a TLS-terminating proxy, whose
  // X-Forwarded-Proto must be trusted or KeyDesk never sets its Secure session cookie.
  if (publicBaseUrl.startsWith('https:') && trustProxyHops === 0) {
    problems.push(
      'TRUST_PROXY_HOPS=0 does not fit an https PUBLIC_BASE_URL: KeyDesk listens on plain HTTP behind a TLS-terminating proxy, so set TRUST_PROXY_HOPS to the number of proxies in front of it (usually 1) so their X-Forwarded-Proto is trusted',
    );
  }
  const sessionSecret = read('SESSION_SECRET') ?? '';
  if (sessionSecret === '') {
    problems.push('SESSION_SECRET is missing: the web UI (PUBLIC_BASE_URL is set) signs its session cookie with it; use at least 32 random characters, e.g. the output of `openssl rand -base64 48`');
  } else if (sessionSecret.length < 32) {
    problems.push('SESSION_SECRET is too short: use at least 32 random characters, e.g. the output of `openssl rand -base64 48`');
  }
  const idleMinutes = integer('SESSION_IDLE_MINUTES', 15, 1, 480, 'set after how many minutes without a request a staff session ends');
  const maxHours = integer('SESSION_MAX_HOURS', 8, 1, 24, 'set after how many hours a staff session ends, however active');
  const reauthMaxAgeSeconds = integer('REAUTH_MAX_AGE', 900, 60, 86_400, 'set, in seconds, how old a sign-in may be for revealing a key before Entra is asked for a fresh one');
  const keyDisplaySeconds = integer('KEY_DISPLAY_SECONDS', 60, 10, 600, 'set how many seconds the key page shows a recovery password');
  const requiredAuthContext = read('REQUIRE_AUTH_CONTEXT') ?? null;
  if (requiredAuthContext !== null && !AUTH_CONTEXT.test(requiredAuthContext)) {
    problems.push(
      `REQUIRE_AUTH_CONTEXT=${JSON.stringify(requiredAuthContext)} is not valid: use the ID of a Conditional Access authentication context, c1 to c99 (Entra admin center > Protection > Conditional Access > Authentication contexts)`,
    );
  }
  return {
    publicBaseUrl,
    sessionSecret,
    secureCookies,
    sessionIdleMs: idleMinutes * 60_000,
    sessionMaxMs: maxHours * 3_600_000,
    reauthMaxAgeSeconds,
    requiredAuthContext,
    keyDisplaySeconds,
  };
}

/**
 * AUDIT_HMAC_KEY by the one rule the service and `npm run audit:verify` share, so the verifier
 * keys the HMAC exactly as the service did. A string is the problem to report.
 */
export function readAuditHmacKey(env: Env): Buffer | null | string {
  const raw = env.AUDIT_HMAC_KEY?.trim();
  if (raw === undefined || raw === '') return null;
  if (raw.length < 32) {
    return 'AUDIT_HMAC_KEY is too short: use at least 32 random characters, e.g. the output of `openssl rand -base64 48`';
  }
  return Buffer.from(raw, 'utf8');
}

/** Reads a PEM holding the certificate (chain) and its private key; a string is what is wrong. */
function loadCertificate(path: string): ClientCredential | string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    return `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); mount the PEM file and check the path`;
  }
  const keyMatch = pem.match(/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/);
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!keyMatch) return 'no private key found; the PEM must hold the certificate and its unencrypted private key';
  if (!certs || certs.length === 0) return 'no certificate found; the PEM must hold the certificate and its private key';
  try {
    createPrivateKey(keyMatch[0]);
    const certificate = new X509Certificate(certs[0]!);
    if (!certificate.checkPrivateKey(createPrivateKey(keyMatch[0]))) {
      return 'the private key does not belong to the first certificate in the file';
    }
    const thumbprintSha256 = certificate.fingerprint256.replaceAll(':', '').toLowerCase();
    return { kind: 'certificate', path, privateKey: keyMatch[0], thumbprintSha256, x5c: certs.join('\n') };
  } catch (error) {
    return `cannot parse it (${(error as Error).message}); export the certificate with its private key as unencrypted PEM`;
  }
}

/** The demo and the simulated tenant refuse to run where NODE_ENV says production. */
export function isProductionEnvironment(env: Env = process.env): boolean {
  return env.NODE_ENV?.trim().toLowerCase() === 'production';
}
