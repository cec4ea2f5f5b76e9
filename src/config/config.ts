import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readAlertConfig, type AlertConfig } from './alert-config.js';
import { readMetricsConfig, type MetricsConfig } from './metrics-config.js';
import { readAuditApiConfig, type AuditApiConfig } from './audit-api-config.js';
import { readReconcileConfig, type ReconcileConfig } from './reconcile-config.js';
import { readKeyIndexConfig, type KeyIndexConfig } from './key-index-config.js';
import { readEscrowConfig, type EscrowConfig } from './escrow-config.js';
import { readRotationConfig, type RotationConfig } from './rotation-config.js';
import { readNotifyConfig, type NotifyConfig } from './notify-config.js';
import { readSiemConfig, type SiemConfig } from './siem-config.js';
import { readSelfServiceConfig, type SelfServiceConfig } from './self-service-config.js';

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

export type DisabledCheck = 'enforce' | 'warn';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface KeyDeskConfig {
  tenantId: string;
  clientId: string;
  clientCredential: ClientCredential;
  /** Without trailing slash, e.g. `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** Without trailing slash, e.g. `https://graph.microsoft.com`. */
  graphBaseUrl: string;
  /**
   * Accepted `aud` values of access tokens presented to the API, as configured (the token
   * verifier also accepts each with or without one trailing slash), plus the bare client ID.
   */
  apiAudiences: string[];
  /** Client IDs (lower case) whose delegated tokens the API accepts besides app-only tokens. */
  apiUserTokenClients: string[];
  /**
   * Conditional Access authentication context (e.g. `c1`) a staff disclosure needs in `acrs`:
   * the web UI's ID token, or the access token of a client in `apiUserTokenClients`.
   */
  requiredAuthContext: string | null;
  host: string;
  port: number;
  logLevel: LogLevel;
  audit: AuditConfig;
  /** PostgreSQL: the audit trail's system of record when `audit.store` is `postgres`; else null. */
  database: DatabaseConfig | null;
  /** Redis: what several instances share (staff sessions, rate limits, form tokens); null keeps them in memory. */
  redis: RedisConfig | null;
  /** Worker processes on this host (node:cluster); more than 1 needs PostgreSQL (and Redis with the web UI). */
  workers: number;
  graph: {
    retryBudgetMs: number;
    requestTimeoutMs: number;
  };
  /** How long device resolution (device, owners, Intune primary user) is remembered; 0 = never. */
  deviceCacheTtlMs: number;
  policy: {
    requesterCheck: RequesterCheck;
    ticketPattern: RegExp;
    /** A disabled device (`accountEnabled: false`): refuse (`device_disabled`) or disclose with a warning. */
    disabledDeviceCheck: DisabledCheck;
    /** A disabled matched owner or primary user: refuse (`requester_disabled`) or disclose with a warning. */
    disabledRequesterCheck: DisabledCheck;
  };
  rateLimits: RateLimits;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** Trust X-Forwarded-For from this many proxy hops (0: use the socket address). */
  trustProxyHops: number;
  /** The helpdesk web UI; null when PUBLIC_BASE_URL is not set (the API alone). */
  web: WebConfig | null;
  /** The alert rules (src/alerts): thresholds, business hours. */
  alerts: AlertConfig;
  /** Prometheus metrics: `/metrics` with METRICS_TOKEN, and the token-free METRICS_PORT listener. */
  metrics: MetricsConfig;
  /** The audit API's background chain verification (src/config/audit-api-config.ts). */
  auditApi: AuditApiConfig;
  /** Reconciliation of KeyDesk's disclosures with Entra's own audit log of key reads. */
  reconcile: ReconcileConfig;
  /** The key-ID index synced from Graph's tenant-wide recovery key list (key-index-config.ts). */
  keyIndex: KeyIndexConfig;
  /** The escrow coverage report's thresholds (escrow-config.ts). */
  escrow: EscrowConfig;
  /** Rotation of a recovery password after its disclosure (rotation-config.ts). */
  rotation: RotationConfig;
  /** Notification channels (webhook, email) and the outbox's retry window (notify-config.ts). */
  notify: NotifyConfig;
  /** SIEM forwarding (syslog, Splunk HEC); each target null while its URL is unset. */
  siem: SiemConfig;
  /** The employees' own door, /self-service/ (self-service-config.ts). */
  selfService: SelfServiceConfig;
}

export type AuditStore = 'file' | 'postgres';

export interface AuditConfig {
  /** `file` (the default: one JSON Lines file, one instance) or `postgres` (any number of instances). */
  store: AuditStore;
  file: string;
  /** When set, the chain is HMAC-SHA-256 under this key instead of plain SHA-256. */
  hmacKey: Buffer | null;
  /** How long a second process waits for the file trail's lock before giving up (exit 78). */
  fileLockWaitSeconds: number;
  /** How often the signed checkpoint of the chain head is written. */
  checkpointSeconds: number;
  /** The Ed25519 key checkpoints are signed with; null: no checkpoints (a start-up warning says so). */
  signingKey: { path: string; pem: string } | null;
  /** Where checkpoints are also sent: an https URL (JSON POST) or an absolute file path (appended); null: nowhere. */
  checkpointTarget: { kind: 'url'; url: string } | { kind: 'file'; path: string } | null;
}

export interface DatabaseConfig {
  /** The runtime role's connection (postgres:// or postgresql://; TLS through sslmode / sslrootcert). */
  url: string;
  /** The schema owner's connection, for migrations; DATABASE_URL when unset. */
  migrationUrl: string;
  poolMax: number;
}

export interface RedisConfig {
  /** redis:// or rediss:// (TLS). */
  url: string;
  keyPrefix: string;
}

/** Requests allowed per fixed one-minute window; 0 turns that limit off. */
export interface RateLimits {
  /** Disclosure requests per calling app (app-only tokens). */
  disclosuresPerMinute: number;
  /** Disclosure attempts per staff member, web UI and listed delegated API clients together. */
  staffDisclosuresPerMinute: number;
  /** Device searches and look-ups per caller (app or staff member). */
  searchesPerMinute: number;
  /** Requests to `/auth/*` per client address. */
  signInsPerMinute: number;
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
  /** How long the key page shows a recovery password. */
  keyDisplaySeconds: number;
}

/** Accepts `INC0012345` (ServiceNow), `SD-1234` (Jira), `12345` (Zendesk) and similar. */
export const DEFAULT_TICKET_PATTERN = '^(?:[A-Za-z][A-Za-z0-9]{1,9}-?\\d{1,12}|\\d{1,12})$';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT_DOMAIN = /^(?=.{3,253}$)[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const REQUESTER_CHECKS: readonly RequesterCheck[] = ['enforce', 'warn', 'off'];
const DISABLED_CHECKS: readonly DisabledCheck[] = ['enforce', 'warn'];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const AUTH_CONTEXT = /^c(?:[1-9]|[1-9][0-9])$/;
const RANDOM_SECRET_HOW = 'use at least 32 random characters, e.g. the output of `openssl rand -base64 48`';

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

/** `a, b or c`, for messages that list the allowed values. */
function orList(values: readonly string[]): string {
  return values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/**
 * Reads variables and collects what is wrong instead of stopping at the first problem, so one
 * failed start-up names every bad variable. Each problem starts with the variable's name.
 */
export class EnvReader {
  readonly problems: string[] = [];
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  /** The trimmed value; undefined when unset or blank. */
  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: string, how: string): string {
    const value = this.text(name);
    if (value === undefined) this.problem(`${name} is missing: ${how}`);
    return value ?? '';
  }

  integer(name: string, fallback: number, min: number, max: number, how: string): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problem(`${name}=${JSON.stringify(raw)} is not valid: ${how} (a whole number from ${min} to ${max})`);
      return fallback;
    }
    return value;
  }

  /** One of `allowed`, case-insensitive; `meaning` says what each does. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, meaning?: string): T {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = allowed.find((candidate) => candidate === raw.toLowerCase());
    if (value === undefined) {
      this.problem(`${name}=${JSON.stringify(raw)} is not valid: use ${orList(allowed)}${meaning ? ` (${meaning})` : ''}`);
      return fallback;
    }
    return value;
  }

  /** An https origin with an optional path, without trailing slashes. */
  httpsUrl(name: string, fallback: string, how: string): string {
    const raw = this.text(name) ?? fallback;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'https:') throw new Error('not https');
      if (url.search || url.hash || url.username) throw new Error('extra parts');
      return url.origin + url.pathname.replace(/\/+$/, '');
    } catch {
      this.problem(`${name}=${JSON.stringify(raw)} is not valid: ${how}`);
      return fallback;
    }
  }

  /** A comma-separated list (spaces around commas allowed), duplicates removed; undefined when unset. */
  list(name: string, how: string): string[] | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const items = raw.split(',').map((item) => item.trim());
    if (items.includes('')) this.problem(`${name}=${JSON.stringify(raw)} has an empty item: ${how}`);
    return [...new Set(items.filter((item) => item !== ''))];
  }
}

export function loadConfig(env: Env = process.env): KeyDeskConfig {
  const reader = new EnvReader(env);
  const registration = readAppRegistration(reader);
  const server = readServer(reader);
  const config: KeyDeskConfig = {
    ...registration,
    ...readClouds(reader),
    apiAudiences: readApiAudiences(reader, registration.clientId),
    apiUserTokenClients: readApiUserTokenClients(reader),
    requiredAuthContext: readRequiredAuthContext(reader),
    ...server,
    audit: readAudit(reader, env),
    ...readSharedState(reader),
    graph: readGraphResilience(reader),
    deviceCacheTtlMs: reader.integer('DEVICE_CACHE_TTL_MS', 30_000, 0, 600_000, 'set how long a resolved device and its owners are remembered, in milliseconds (0 turns the cache off)'),
    policy: readPolicy(reader),
    rateLimits: readRateLimits(reader),
    web: readWebConfig(reader, server.trustProxyHops),
    selfService: readSelfServiceConfig(reader, { webUi: reader.text('PUBLIC_BASE_URL') !== undefined, requiredAuthContext: reader.text('REQUIRE_AUTH_CONTEXT') ?? null }),
    alerts: readAlertConfig(reader),
    metrics: readMetricsConfig(reader, server.port),
    auditApi: readAuditApiConfig(reader),
    reconcile: readReconcileConfig(reader),
    keyIndex: readKeyIndexConfig(reader),
    escrow: readEscrowConfig(reader),
    rotation: readRotationConfig(reader),
    notify: readNotifyConfig(reader),
    siem: readSiemConfig(reader),
  };
  checkScaleOut(reader, config);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}

function readAppRegistration(reader: EnvReader): Pick<KeyDeskConfig, 'tenantId' | 'clientId' | 'clientCredential'> {
  const tenantId = reader.required(
    'AZURE_TENANT_ID',
    'set it to the Directory (tenant) ID shown on the app registration\'s Overview page in the Entra admin center',
  );
  if (tenantId && !GUID.test(tenantId) && !TENANT_DOMAIN.test(tenantId)) {
    reader.problem(`AZURE_TENANT_ID=${JSON.stringify(tenantId)} is not valid: use the tenant's GUID (or its primary domain, e.g. contoso.onmicrosoft.com)`);
  }
  const clientId = reader.required(
    'AZURE_CLIENT_ID',
    'set it to the Application (client) ID of KeyDesk\'s app registration',
  );
  if (clientId && !GUID.test(clientId)) {
    reader.problem(`AZURE_CLIENT_ID=${JSON.stringify(clientId)} is not valid: it must be the application (client) ID, a GUID`);
  }
  return { tenantId, clientId, clientCredential: readClientCredential(reader) };
}

function readClientCredential(reader: EnvReader): ClientCredential {
  const secret = reader.text('AZURE_CLIENT_SECRET');
  const certificatePath = reader.text('AZURE_CLIENT_CERTIFICATE_PATH');
  const none: ClientCredential = { kind: 'secret', secret: '' };
  if (secret && certificatePath) {
    reader.problem('AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are both set: keep only one (a certificate is preferred)');
    return none;
  }
  if (secret) return { kind: 'secret', secret };
  if (certificatePath) {
    const loaded = loadCertificate(certificatePath);
    if (typeof loaded !== 'string') return loaded;
    reader.problem(`AZURE_CLIENT_CERTIFICATE_PATH=${JSON.stringify(certificatePath)} is not usable: ${loaded}`);
    return none;
  }
  reader.problem(
    'AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is missing: add a client secret or upload a certificate under "Certificates & secrets" of the app registration, then set one of them',
  );
  return none;
}

function readClouds(reader: EnvReader): Pick<KeyDeskConfig, 'authorityHost' | 'graphBaseUrl'> {
  return {
    authorityHost: reader.httpsUrl(
      'AZURE_AUTHORITY_HOST',
      'https://login.microsoftonline.com',
      'use the https URL of your cloud\'s Entra authority, e.g. https://login.microsoftonline.com or https://login.microsoftonline.us',
    ),
    graphBaseUrl: reader.httpsUrl(
      'GRAPH_BASE_URL',
      'https://graph.microsoft.com',
      'use the https URL of your cloud\'s Microsoft Graph, e.g. https://graph.microsoft.com or https://graph.microsoft.us',
    ),
  };
}

/**
 * The configured App ID URIs plus the bare client ID (the `aud` of v2 tokens). Trailing slashes
 * are kept: v1 tokens carry the URI exactly as the caller asked for it, and the token verifier
 * accepts each value with or without one.
 */
function readApiAudiences(reader: EnvReader, clientId: string): string[] {
  const how = 'list the App ID URIs callers ask tokens for, separated by commas, e.g. api://keydesk.contoso.com,api://<AZURE_CLIENT_ID>';
  const configured = reader.list('API_AUDIENCE', how) ?? (clientId ? [`api://${clientId}`] : []);
  for (const audience of configured) {
    if (/\s/.test(audience)) reader.problem(`API_AUDIENCE item ${JSON.stringify(audience)} is not valid: an App ID URI has no spaces; ${how}`);
  }
  return [...new Set([...configured, clientId].filter((audience) => audience !== ''))];
}

function readApiUserTokenClients(reader: EnvReader): string[] {
  const how = 'list the Application (client) IDs, GUIDs, of the client apps whose delegated (staff) tokens the API may accept, separated by commas, or leave it unset to accept app-only tokens alone';
  const clients = (reader.list('API_USER_TOKEN_CLIENTS', how) ?? []).map((client) => client.toLowerCase());
  for (const client of clients) {
    if (!GUID.test(client)) reader.problem(`API_USER_TOKEN_CLIENTS item ${JSON.stringify(client)} is not valid: ${how}`);
  }
  return [...new Set(clients)];
}

/** Applies to staff wherever they disclose: the web UI, and delegated tokens of listed clients. */
function readRequiredAuthContext(reader: EnvReader): string | null {
  const value = reader.text('REQUIRE_AUTH_CONTEXT') ?? null;
  if (value !== null && !AUTH_CONTEXT.test(value)) {
    reader.problem(
      `REQUIRE_AUTH_CONTEXT=${JSON.stringify(value)} is not valid: use the ID of a Conditional Access authentication context, c1 to c99 (Entra admin center > Protection > Conditional Access > Authentication contexts)`,
    );
  }
  return value;
}

function readServer(reader: EnvReader): Pick<KeyDeskConfig, 'host' | 'port' | 'logLevel' | 'bodyLimitBytes' | 'trustProxyHops'> {
  return {
    host: reader.text('HOST') ?? '0.0.0.0',
    port: reader.integer('PORT', 8080, 1, 65535, 'set the TCP port to listen on'),
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    bodyLimitBytes: reader.integer('BODY_LIMIT_BYTES', 8_192, 1_024, 1_048_576, 'set the largest accepted request body, in bytes'),
    trustProxyHops: reader.integer('TRUST_PROXY_HOPS', 0, 0, 10, 'set how many reverse proxies in front of KeyDesk may set X-Forwarded-For'),
  };
}

function readAudit(reader: EnvReader, env: Env): AuditConfig {
  const hmac = readAuditHmacKey(env);
  if (typeof hmac === 'string') reader.problem(hmac);
  return {
    store: reader.oneOf('AUDIT_STORE', AUDIT_STORES, 'file', 'file keeps the trail in AUDIT_FILE, for one instance; postgres keeps it in DATABASE_URL, for any number'),
    file: reader.text('AUDIT_FILE') ?? './data/audit.jsonl',
    hmacKey: typeof hmac === 'string' ? null : hmac,
    fileLockWaitSeconds: reader.integer('AUDIT_FILE_LOCK_WAIT_SECONDS', 30, 0, 600, 'set how many seconds KeyDesk waits for another process to release the audit file'),
    checkpointSeconds: reader.integer('AUDIT_CHECKPOINT_SECONDS', 60, 1, 3_600, 'set how often, in seconds, the signed checkpoint of the audit chain is written'),
    signingKey: readSigningKey(reader),
    checkpointTarget: readCheckpointTarget(reader),
  };
}

const AUDIT_STORES: readonly AuditStore[] = ['file', 'postgres'];

/** An Ed25519 private key (PEM, PKCS#8), checked for what it is. */
function readSigningKey(reader: EnvReader): AuditConfig['signingKey'] {
  const path = reader.text('AUDIT_SIGNING_KEY_PATH');
  if (path === undefined) return null;
  const how = 'make one with `openssl genpkey -algorithm ed25519 -out audit-signing-key.pem` and point AUDIT_SIGNING_KEY_PATH at it';
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    reader.problem(`AUDIT_SIGNING_KEY_PATH=${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${how}`);
    return null;
  }
  try {
    if (createPrivateKey(pem).asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  } catch {
    reader.problem(`AUDIT_SIGNING_KEY_PATH=${JSON.stringify(path)} is not an Ed25519 private key in PEM: ${how}`);
    return null;
  }
  return { path, pem };
}

function readCheckpointTarget(reader: EnvReader): AuditConfig['checkpointTarget'] {
  const raw = reader.text('AUDIT_CHECKPOINT_URL');
  if (raw === undefined) return null;
  if (raw.startsWith('/')) return { kind: 'file', path: raw };
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:') throw new Error('not https');
    return { kind: 'url', url: url.toString() };
  } catch {
    reader.problem(`AUDIT_CHECKPOINT_URL=${JSON.stringify(raw)} is not valid: use an https:// URL checkpoints are POSTed to, or an absolute path of a file they are appended to`);
    return null;
  }
}

/** A URL without its password, for messages and logs. */
export function withoutPassword(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<not a URL>';
  }
}

function readUrl(reader: EnvReader, name: string, schemes: readonly string[], how: string): string | undefined {
  const raw = reader.text(name);
  if (raw === undefined) return undefined;
  try {
    if (!schemes.includes(new URL(raw).protocol)) throw new Error('scheme');
    return raw;
  } catch {
    reader.problem(`${name}=${JSON.stringify(withoutPassword(raw))} is not valid: ${how}`);
    return undefined;
  }
}

function readSharedState(reader: EnvReader): Pick<KeyDeskConfig, 'database' | 'redis' | 'workers'> {
  const pgHow = 'use a PostgreSQL connection URL, e.g. postgres://keydesk@db.contoso.com:5432/keydesk?sslmode=verify-full';
  const url = readUrl(reader, 'DATABASE_URL', ['postgres:', 'postgresql:'], pgHow);
  const migrationUrl = readUrl(reader, 'DATABASE_MIGRATION_URL', ['postgres:', 'postgresql:'], pgHow);
  const poolMax = reader.integer('DATABASE_POOL_MAX', 10, 1, 100, 'set how many connections each KeyDesk process keeps to PostgreSQL');
  const redisUrl = readUrl(reader, 'REDIS_URL', ['redis:', 'rediss:'], 'use a Redis URL, e.g. rediss://:password@redis.contoso.com:6380/0 (rediss:// for TLS)');
  const keyPrefix = reader.text('REDIS_KEY_PREFIX') ?? 'keydesk:';
  return {
    database: url === undefined ? null : { url, migrationUrl: migrationUrl ?? url, poolMax },
    redis: redisUrl === undefined ? null : { url: redisUrl, keyPrefix },
    workers: reader.integer('WORKERS', 1, 1, 16, 'set how many worker processes KeyDesk runs on this host'),
  };
}

/** What the store and the process count need of each other. */
function checkScaleOut(reader: EnvReader, config: KeyDeskConfig): void {
  // A DATABASE_URL given but not valid has had its own problem reported.
  if (config.audit.store === 'postgres' && config.database === null && reader.text('DATABASE_URL') === undefined) {
    reader.problem('DATABASE_URL is missing: AUDIT_STORE=postgres keeps the audit trail in PostgreSQL; set DATABASE_URL to its connection URL, e.g. postgres://keydesk@db.contoso.com:5432/keydesk');
  }
  if (config.workers > 1 && config.audit.store !== 'postgres') {
    reader.problem(`WORKERS=${config.workers} needs AUDIT_STORE=postgres: one audit file cannot be written by several processes`);
  }
  if (config.workers > 1 && config.web !== null && config.redis === null) {
    reader.problem(`WORKERS=${config.workers} with the web UI (PUBLIC_BASE_URL) needs REDIS_URL: staff sessions and one-time forms must be shared by the workers`);
  }
}

function readGraphResilience(reader: EnvReader): KeyDeskConfig['graph'] {
  return {
    retryBudgetMs: reader.integer('GRAPH_RETRY_BUDGET_MS', 10_000, 0, 120_000, 'set how long KeyDesk may spend retrying a throttled or failing Graph call, in milliseconds'),
    requestTimeoutMs: reader.integer('GRAPH_TIMEOUT_MS', 5_000, 100, 60_000, 'set the timeout of one Graph request, in milliseconds'),
  };
}

function readPolicy(reader: EnvReader): KeyDeskConfig['policy'] {
  return {
    requesterCheck: reader.oneOf('REQUESTER_CHECK', REQUESTER_CHECKS, 'enforce'),
    ticketPattern: readTicketPattern(reader),
    disabledDeviceCheck: reader.oneOf(
      'DISABLED_DEVICE_CHECK',
      DISABLED_CHECKS,
      'enforce',
      'enforce refuses a disabled device with device_disabled; warn discloses, but records and reports it',
    ),
    disabledRequesterCheck: reader.oneOf(
      'DISABLED_REQUESTER_CHECK',
      DISABLED_CHECKS,
      'enforce',
      'enforce refuses a requester whose account is disabled with requester_disabled; warn discloses, but records and reports it',
    ),
  };
}

function readTicketPattern(reader: EnvReader): RegExp {
  const raw = reader.text('TICKET_PATTERN') ?? DEFAULT_TICKET_PATTERN;
  try {
    return new RegExp(raw);
  } catch (error) {
    reader.problem(`TICKET_PATTERN=${JSON.stringify(raw)} is not a valid regular expression: ${(error as Error).message}`);
    return new RegExp(DEFAULT_TICKET_PATTERN);
  }
}

function readRateLimits(reader: EnvReader): RateLimits {
  const perMinute = (name: string, fallback: number, what: string): number =>
    reader.integer(name, fallback, 0, 100_000, `set how many ${what} per minute (0 turns this limit off)`);
  return {
    disclosuresPerMinute: perMinute('RATE_LIMIT_DISCLOSURES_PER_MINUTE', 60, 'disclosure requests one calling app may make'),
    staffDisclosuresPerMinute: perMinute(
      'RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE',
      5,
      'disclosure attempts one staff member may make, in the web UI and through listed delegated API clients together,',
    ),
    searchesPerMinute: perMinute('RATE_LIMIT_SEARCHES_PER_MINUTE', 120, 'device searches and look-ups one caller may make'),
    signInsPerMinute: perMinute('RATE_LIMIT_SIGN_INS_PER_MINUTE', 30, 'requests to /auth/* one client address may make'),
  };
}

/** The web UI is on when PUBLIC_BASE_URL is set; the API alone needs none of these. */
function readWebConfig(reader: EnvReader, trustProxyHops: number): WebConfig | null {
  const raw = reader.text('PUBLIC_BASE_URL');
  if (raw === undefined) return null;
  const { publicBaseUrl, secureCookies } = readPublicBaseUrl(reader, raw);
  // KeyDesk itself serves plain HTTP: an https address means a TLS-terminating proxy, whose
  // X-Forwarded-Proto must be trusted or KeyDesk never sets its Secure session cookie.
  if (publicBaseUrl.startsWith('https:') && trustProxyHops === 0) {
    reader.problem(
      'TRUST_PROXY_HOPS=0 does not fit an https PUBLIC_BASE_URL: KeyDesk listens on plain HTTP behind a TLS-terminating proxy, so set TRUST_PROXY_HOPS to the number of proxies in front of it (usually 1) so their X-Forwarded-Proto is trusted',
    );
  }
  const sessionSecret = readSessionSecret(reader);
  const idleMinutes = reader.integer('SESSION_IDLE_MINUTES', 15, 1, 480, 'set after how many minutes without a request a staff session ends');
  const maxHours = reader.integer('SESSION_MAX_HOURS', 8, 1, 24, 'set after how many hours a staff session ends, however active');
  return {
    publicBaseUrl,
    sessionSecret,
    secureCookies,
    sessionIdleMs: idleMinutes * 60_000,
    sessionMaxMs: maxHours * 3_600_000,
    reauthMaxAgeSeconds: reader.integer('REAUTH_MAX_AGE', 900, 60, 86_400, 'set, in seconds, how old a sign-in may be for revealing a key before Entra is asked for a fresh one'),
    keyDisplaySeconds: reader.integer('KEY_DISPLAY_SECONDS', 60, 10, 600, 'set how many seconds the key page shows a recovery password'),
  };
}

function readPublicBaseUrl(reader: EnvReader, raw: string): Pick<WebConfig, 'publicBaseUrl' | 'secureCookies'> {
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    if (url.search || url.hash || url.username || url.password || url.pathname.replace(/\/+$/, '') !== '') throw new Error('extra parts');
  } catch {
    reader.problem(`PUBLIC_BASE_URL=${JSON.stringify(raw)} is not valid: use the origin staff browse to, without a path, e.g. https://keydesk.contoso.com`);
    return { publicBaseUrl: '', secureCookies: true };
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    reader.problem(
      `PUBLIC_BASE_URL=${JSON.stringify(raw)} is not valid: use https (plain http is accepted for localhost and 127.0.0.1 only), since session cookies and Entra's redirects must not cross the network in clear`,
    );
  }
  return { publicBaseUrl: url.origin, secureCookies: url.protocol === 'https:' };
}

function readSessionSecret(reader: EnvReader): string {
  const secret = reader.text('SESSION_SECRET') ?? '';
  if (secret === '') {
    reader.problem(`SESSION_SECRET is missing: the web UI (PUBLIC_BASE_URL is set) signs its session cookie with it; ${RANDOM_SECRET_HOW}`);
  } else if (secret.length < 32) {
    reader.problem(`SESSION_SECRET is too short: ${RANDOM_SECRET_HOW}`);
  }
  return secret;
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
