import type { SimRotations } from './graph-rotation.js';
import type { FaultInjector } from './faults.js';
import type { Delays } from './listener.js';
import type { SimTenantModel } from './registrations.js';
import type { TokenSigner } from './token-signing.js';

/** The simulated tenant's shared state: what the Entra and Graph hosts both read and record. */

/** One Graph request as the simulated Graph received it. */
export interface SimRequestLogEntry {
  /** Epoch ms when it arrived. */
  time: number;
  method: string;
  /** Decoded path, e.g. `/v1.0/devices`; for a request inside a $batch, the path it names. */
  path: string;
  /** Decoded query options, e.g. `{ $filter: "displayName eq 'O''NEIL-PC'" }`. */
  query: Record<string, string>;
  status: number;
  /** The `request-id` the simulated Graph answered with. */
  requestId: string;
  clientRequestId: string | null;
  userAgent: string | null;
  /** `ocp-client-name`, which Microsoft uses to identify the calling application. */
  clientName: string | null;
  /** Client id of the app whose token was presented (null without a valid token). */
  appId: string | null;
  /** Set on a `$batch` envelope: how many requests it carried (each is logged too, with `inBatch`). */
  batchSize?: number;
  /** Set on the requests inside a `$batch`: they are not round trips of their own. */
  inBatch?: true;
  /** Set when a knob answered instead of Graph. */
  fault?: 'throttled' | 'unavailable';
}

/** One request to the token endpoint. */
export interface SimTokenLogEntry {
  time: number;
  /** `v2.0` for /oauth2/v2.0/token, `v1` for /oauth2/token. */
  endpoint: 'v2.0' | 'v1';
  grantType: string | null;
  clientId: string | null;
  /** `scope` (v2.0) or `resource` (v1) as sent. */
  scope: string | null;
  /** How the client authenticated (null when it sent no credential): a secret in the body or a Basic header, or a certificate. */
  clientAuth: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt' | null;
  status: number;
  /** OAuth error code when refused, e.g. `invalid_client`. */
  error?: string;
  /** AADSTS number when refused, e.g. 7000215. */
  aadsts?: number;
}

/** Any request to the simulated Entra host (discovery, keys, token, authorize, logout). */
export interface SimEntraLogEntry {
  time: number;
  method: string;
  path: string;
  status: number;
}

/**
 * What the tenant's Entra audit log records for each read of a recovery password (category
 * KeyManagement). With app-only access it names the app, not the helpdesk person: KeyDesk's own
 * audit must line up with it through the client-request-id.
 */
export interface SimDirectoryAuditEntry {
  /** The directoryAudit's id. */
  id: string;
  activityDateTime: string;
  category: 'KeyManagement';
  activityDisplayName: 'Read BitLocker key';
  result: 'success';
  /** An app-only read names the app; a person's (delegated, or the admin portal) names the user. */
  initiatedBy: {
    appId: string | null;
    servicePrincipalId: string | null;
    userPrincipalName: string | null;
    userId: string | null;
    displayName: string | null;
    ipAddress: string | null;
  };
  keyId: string;
  deviceId: string;
  /** The client-request-id the caller sent; Graph's own request-id is `requestId`. */
  correlationId: string | null;
  requestId: string;
}

export interface SimulatorLogs {
  graph: SimRequestLogEntry[];
  token: SimTokenLogEntry[];
  entra: SimEntraLogEntry[];
  audits: SimDirectoryAuditEntry[];
}

/** Running totals since start or the last clearLogs(), kept even when old log entries are dropped. */
export interface SimulatorCounters {
  /** HTTP requests to Graph: a $batch counts once. */
  graphRoundTrips: number;
  /** Graph requests processed, each one inside a $batch included (the envelope is not). */
  graphRequests: number;
  tokenRequests: number;
  recoveryPasswordReads: number;
}

export interface SimulatorState {
  model: SimTenantModel;
  authorityHost: string;
  graphBaseUrl: string;
  apiTokenVersion: '1.0' | '2.0';
  authTimeClaim: boolean;
  /** Exact redirect URIs of KeyDesk's registration, or null: any loopback URI (Entra ignores the port of localhost ones). */
  redirectUris: string[] | null;
  tokenLifetimeSeconds: number;
  pageSizes: { plain: number; expanded: number };
  signer: TokenSigner;
  /** PEM of the certificate registered on KeyDesk's app registration as a client credential. */
  keydeskCertificate: string;
  faults: FaultInjector;
  delays: Delays;
  /** KeyDesk's granted Graph application permissions; the knob replaces the contents. */
  graphPermissions: Set<string>;
  logs: SimulatorLogs;
  /** Most entries each log keeps; a long benchmark drops the oldest. */
  logLimit: number;
  counters: SimulatorCounters;
  /** Intune's BitLocker rotations: how each device behaves, what it reported (graph-rotation.ts). */
  rotations: SimRotations;
  now(): number;
}

/** `2026-11-25T10:00:00Z`: Entra and Graph write timestamps without milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Appends to a log; past `limit` the oldest quarter goes at once, so a long benchmark stays in memory. */
export function record<T>(log: T[], entry: T, limit: number): void {
  log.push(entry);
  if (log.length > limit) log.splice(0, Math.ceil(limit / 4));
}
