import { X509Certificate } from 'node:crypto';
import { ensureSimulatorCertificates } from './certificates.js';
import { createEntraHost, type DelegatedApiTokenRequest } from './entra.js';
import { FaultInjector, type FailOptions, type SlowOptions, type ThrottleOptions } from './faults.js';
import { createGraphHost } from './graph.js';
import { plantEscrowGaps, withoutDevice, type SimEscrowGaps } from './escrow-gaps.js';
import { recordPortalRead, type PortalRead } from './graph-audit-log.js';
import { Delays, startListener, type Listener, type SimHandler } from './listener.js';
import type { SimDirectory } from './organisation.js';
import { KEYDESK_GRAPH_PERMISSIONS, SELF_SERVICE_GROUP_ID, buildTenantModel, type SimApp, type SimStaffMember, type SimTenantModel } from './registrations.js';
import type { SimDirectoryAuditEntry, SimEntraLogEntry, SimRequestLogEntry, SimTokenLogEntry, SimulatorCounters, SimulatorState } from './state.js';
import { TokenSigner } from './token-signing.js';
import { newSimRotations, withRotatedKey, type SimRotationBehaviour } from './graph-rotation.js';
import type { SimRecoveryKey } from './organisation.js';

/**
 * The simulated tenant: a loopback stand-in for Entra ID and Microsoft Graph that speaks their
 * wire formats, over HTTPS with a local CA, for the demo, the integration tests and the benchmark.
 * KeyDesk runs against it unchanged (MSAL, the Graph client, the audit log, the routes): only the
 * tenant is simulated. Test and demo tooling only; production code never imports it.
 */

export type { SimDevice, SimDirectory, SimManagedDevice, SimNotableDevices, SimRecoveryKey, SimUser, SimVolumeType } from './organisation.js';
export type { SimApp, SimStaffMember } from './registrations.js';
export type { SimDirectoryAuditEntry, SimEntraLogEntry, SimRequestLogEntry, SimTokenLogEntry, SimulatorCounters } from './state.js';
export type { FailOptions, SlowOptions, ThrottleOptions } from './faults.js';
export type { PortalRead } from './graph-audit-log.js';
export type { SimEscrowGaps } from './escrow-gaps.js';
export type { SimRotationBehaviour } from './graph-rotation.js';
export { KEYDESK_APP_ROLES, KEYDESK_GRAPH_PERMISSIONS } from './registrations.js';
export { createClientCertificateFile, ensureSimulatorCertificates, type ClientCertificateFile, type SimulatorCertificates } from './certificates.js';
export type { DelegatedApiTokenRequest } from './entra.js';
export { SimulatedBrowser, type SignInResult } from './browser.js';

export interface SimulatedTenantOptions {
  /** Folder where the CA (ca.crt/ca.key) and server cert are kept and reused across runs; created if missing. */
  dataDir: string;
  /** 0 = pick free ports. Two listeners: Entra and Graph, on different ports (real Entra and Graph are different hosts). */
  entraPort?: number;
  graphPort?: number;
  /** Seed for the deterministic fictional organisation. */
  seed?: number;
  /** Access token version the KeyDesk API app registration asks for ('1.0' default, like Entra). */
  apiTokenVersion?: '1.0' | '2.0';
  /** Whether KeyDesk's registration has the optional `auth_time` ID token claim (its README asks admins to add it). Default true. */
  authTimeClaim?: boolean;
  /** KeyDesk's registered redirect URIs. Default: any http(s) loopback URI (Entra ignores the port of localhost ones). */
  redirectUris?: string[];
  /** KeyDesk's Graph application permissions at start (and after `knobs.reset()`). Default: the ones KeyDesk's README asks for (KEYDESK_GRAPH_PERMISSIONS). */
  graphPermissions?: string[];
  /** Lifetime of issued tokens, seconds. Default 3599, as Entra's client credentials answers say. */
  tokenLifetimeSeconds?: number;
  /** Most objects per Graph page: plain lists, and lists with $expand (Graph ends those sooner). Default 100 and 25. */
  pageSizes?: { plain?: number; expanded?: number };
  /** "Today" for the organisation's dates (sign-ins, syncs, key escrow). Default: today, 00:00 UTC. */
  referenceDate?: Date;
  /** Most entries each request log keeps; beyond it the oldest quarter is dropped (the counters keep counting). Default 200,000. */
  maxLogEntries?: number;
  /** How long after `rotateBitLockerKeys` a managed device escrows its new key, ms (knobs.setRotation changes one device). Default 2000. */
  rotationEscrowAfterMs?: number;
  /** Extra managed devices with one recovery key each (named BULK-000000…), for a large tenant: the benchmark's key-index sync. Default 0. */
  bulkKeys?: number;
}

export interface SimulatedTenant {
  tenantId: string;
  /** e.g. https://localhost:PORT — use as AZURE_AUTHORITY_HOST */
  authorityHost: string;
  /** e.g. https://127.0.0.1:PORT — use as GRAPH_BASE_URL (a different host name from the authority, as in real life) */
  graphBaseUrl: string;
  /** PEM path of the local CA; and a bundle (this CA + the file named by the current NODE_EXTRA_CA_CERTS, if any) to pass as NODE_EXTRA_CA_CERTS to a process that must trust the simulator. */
  caCertPath: string;
  caBundlePath: string;
  /** KeyDesk's own app registration: run KeyDesk with AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH set to these. Its Graph application permissions are the ones KeyDesk needs, by default. */
  keydeskApp: SimKeyDeskRegistration;
  /** Ticketing apps that call KeyDesk's API with client credentials (scope `${appIdUri}/.default`): one with BitLocker.Disclose, one with BitLocker.Lookup only, one with no role. */
  ticketingApps: SimApp[];
  /** "Helpdesk chat bot": a client app with delegated access to KeyDesk's API (access_as_user) and no app role; staff sign in through it (loopback redirect URIs) and its tokens carry their roles. */
  chatBotApp: SimApp;
  /** Helpdesk staff personas (for the web UI sign-in): with BitLocker.Disclose, Lookup, Audit, and one with no role. */
  staff: SimStaffMember[];
  /** Employees with no KeyDesk role (O'Neil, Müller, Díaz), each the owner of a notable device: the self-service personas. */
  employees: SimStaffMember[];
  /** The object id of the "BitLocker self-service" group (O'Neil directly, Müller through a nested group): SELF_SERVICE_GROUP_ID. */
  selfServiceGroupId: string;
  /** The seeded organisation, read-only, so tests can pick devices (with their owners, primary user, keys incl. passwords). */
  directory: SimDirectory;
  /** The devices planted for the key index and the escrow coverage report (also in `directory`). */
  escrowGaps: SimEscrowGaps;
  knobs: {
    /** Deletes a device from Entra (by Entra device ID): it, its Intune records and its recovery keys are gone from Graph, and from `directory`. */
    deleteDevice(deviceId: string): void;
    /** Added latency for every Graph (and token) response, ms. */
    setLatency(ms: number): void;
    /** Next `requests` Graph requests (or all within `forMs`) answer 429 with Retry-After: retryAfterSeconds. */
    throttle(options: ThrottleOptions): void;
    /** Next `requests` Graph requests answer 503 (or 504 if given). */
    failNext(options: FailOptions): void;
    /** Next `requests` Graph requests are delayed by `delayMs` (to exercise timeouts). */
    slowNext(options: SlowOptions): void;
    /** Replace KeyDesk's granted Graph application permissions (e.g. drop User.Read.All). Takes effect for tokens issued afterwards AND is checked on each request by the token's roles. */
    setGraphPermissions(permissions: string[]): void;
    /**
     * What a managed device (by Entra device ID) does when Intune asks it to rotate its BitLocker
     * keys: escrow a new key after `escrowAfterMs`, never ('never'), or report it cannot ('notSupported').
     */
    setRotation(deviceId: string, behaviour: SimRotationBehaviour): void;
    /** Clears every fault and restores the starting Graph permissions. */
    reset(): void;
  };
  /**
   * Every Graph request received, in order. A `$batch` is one entry with `batchSize` plus one
   * entry per request inside it (`inBatch: true`): round trips are the entries without `inBatch`.
   */
  graphRequests: SimRequestLogEntry[];
  /** Every `rotateBitLockerKeys` Intune accepted, in order. */
  rotationRequests: Array<{ managedDeviceId: string; deviceId: string; at: string }>;
  /** Every request to the token endpoints. */
  tokenRequests: SimTokenLogEntry[];
  /** Every request to the Entra host (discovery, keys, token, authorize, logout). */
  entraRequests: SimEntraLogEntry[];
  /** The tenant's audit log entries for recovery password reads (Entra's KeyManagement category), served at `/v1.0/auditLogs/directoryAudits`. */
  directoryAudits: SimDirectoryAuditEntry[];
  /**
   * Records a read of a recovery key that did not come through KeyDesk (someone pressing "Show
   * recovery key" in the admin portal): a "Read BitLocker key" entry initiated by a user. Also
   * `POST {graphBaseUrl}/_simulator/portal-reads` with `{ "keyId": "…" }`, for a shell.
   */
  recordPortalRead(read: PortalRead): SimDirectoryAuditEntry;
  /** Totals since start or the last clearLogs(), for a benchmark that outlives `maxLogEntries`. */
  counters(): SimulatorCounters;
  /** Empties all four logs and `rotationRequests` (the arrays stay the same objects) and zeroes the counters. */
  clearLogs(): void;
  /** Mint a token as Entra would for a ticketing app (same as calling the token endpoint) — convenience for tests. Default scope: KeyDesk's API. */
  issueAppToken(clientId: string, scope?: string): Promise<string>;
  /**
   * Mint a staff member's delegated access token for KeyDesk's API as Entra would issue it to the
   * client `clientId` (default: the chat bot) after an authorization code sign-in: `scp`
   * access_as_user, the user's app roles, `appid`/`azp`, `upn` or `preferred_username`, `oid`,
   * `tid`, `acrs` when given; v1 or v2 as `apiTokenVersion` says. Signed with the tenant's key,
   * through the same code the token endpoint uses.
   */
  issueDelegatedApiToken(request: Omit<DelegatedApiTokenRequest, 'clientId'> & { clientId?: string }): Promise<string>;
  /**
   * The environment variables that point a KeyDesk process at this tenant (incl. NODE_EXTRA_CA_CERTS).
   * `credential: 'certificate'` hands out AZURE_CLIENT_CERTIFICATE_PATH instead of AZURE_CLIENT_SECRET;
   * the other variable is set to "" (unset for KeyDesk), so the result can be spread over another environment.
   */
  keydeskEnvironment(options?: { credential?: 'secret' | 'certificate' }): Record<string, string>;
  close(): Promise<void>;
}

export interface SimKeyDeskRegistration {
  clientId: string;
  clientSecret: string;
  /** The PEM (certificate and its unencrypted private key, 0600) registered as KeyDesk's certificate credential: AZURE_CLIENT_CERTIFICATE_PATH. */
  certificatePath: string;
  /** Its SHA-256 thumbprint, lower-case hex, as the Entra admin center shows it. */
  certificateThumbprintSha256: string;
  appIdUri: string;
  servicePrincipalId: string;
  scopes: string[];
}

function startOfTodayUtc(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  return value;
}

export async function startSimulatedTenant(options: SimulatedTenantOptions): Promise<SimulatedTenant> {
  const seed = options.seed ?? 1;
  const certificates = await ensureSimulatorCertificates(options.dataDir);
  const referenceDate = options.referenceDate ?? startOfTodayUtc();
  const drawn = buildTenantModel(seed, referenceDate);
  const planted = plantEscrowGaps(drawn.directory, seed, referenceDate, options.bulkKeys ?? 0);
  const model = { ...drawn, directory: planted.directory };
  const initialPermissions = [...(options.graphPermissions ?? KEYDESK_GRAPH_PERMISSIONS)];
  const tls = { key: certificates.serverKey, cert: certificates.serverCert };

  // The URLs embed the ports, and the hosts embed the URLs: listen first, attach the hosts after.
  let entraHandler: SimHandler | null = null;
  let graphHandler: SimHandler | null = null;
  const listeners: Listener[] = [];
  try {
    listeners.push(await startListener(tls, ['127.0.0.1', '::1'], options.entraPort ?? 0, (req, res) => entraHandler?.(req, res)));
    listeners.push(await startListener(tls, ['127.0.0.1'], options.graphPort ?? 0, (req, res) => graphHandler?.(req, res)));
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  const [entraListener, graphListener] = listeners as [Listener, Listener];

  const logs = { graph: [] as SimRequestLogEntry[], token: [] as SimTokenLogEntry[], entra: [] as SimEntraLogEntry[], audits: [] as SimDirectoryAuditEntry[] };
  const now = () => Date.now();
  const state: SimulatorState = {
    model,
    // Entra and Graph on different host names, as login.microsoftonline.com and graph.microsoft.com are.
    authorityHost: `https://localhost:${entraListener.port}`,
    graphBaseUrl: `https://127.0.0.1:${graphListener.port}`,
    apiTokenVersion: options.apiTokenVersion ?? '1.0',
    authTimeClaim: options.authTimeClaim ?? true,
    redirectUris: options.redirectUris ?? null,
    tokenLifetimeSeconds: positive('tokenLifetimeSeconds', options.tokenLifetimeSeconds ?? 3599),
    pageSizes: {
      plain: positive('pageSizes.plain', options.pageSizes?.plain ?? 100),
      expanded: positive('pageSizes.expanded', options.pageSizes?.expanded ?? 25),
    },
    signer: new TokenSigner(certificates.signingKey, certificates.signingCert),
    keydeskCertificate: certificates.keydeskCertificate,
    faults: new FaultInjector(now),
    delays: new Delays(),
    graphPermissions: new Set(initialPermissions),
    logs,
    logLimit: positive('maxLogEntries', options.maxLogEntries ?? 200_000),
    counters: { graphRoundTrips: 0, graphRequests: 0, tokenRequests: 0, recoveryPasswordReads: 0 },
    rotations: newSimRotations(options.rotationEscrowAfterMs ?? 2_000),
    now,
  };
  const entra = createEntraHost(state);
  entraHandler = entra.handler;
  // The Graph host indexes the directory once; a key escrowed by a rotation builds it anew.
  const escrowKey = (key: SimRecoveryKey) => {
    state.model = { ...state.model, directory: withRotatedKey(state.model.directory, key) };
    graphHandler = createGraphHost(state, escrowKey).handler;
  };
  graphHandler = createGraphHost(state, escrowKey).handler;

  const keydeskApp: SimKeyDeskRegistration = {
    ...model.keydesk,
    certificatePath: certificates.keydeskCertificatePath,
    certificateThumbprintSha256: new X509Certificate(certificates.keydeskCertificate).fingerprint256.replaceAll(':', '').toLowerCase(),
    scopes: [...model.keydesk.scopes],
  };
  return {
    tenantId: model.tenantId,
    authorityHost: state.authorityHost,
    graphBaseUrl: state.graphBaseUrl,
    caCertPath: certificates.caCertPath,
    caBundlePath: certificates.caBundlePath,
    keydeskApp,
    ticketingApps: model.ticketingApps.map((app) => ({ ...app, roles: [...app.roles] })),
    chatBotApp: { ...model.chatBot, roles: [...model.chatBot.roles] },
    staff: model.staff.map((member) => ({ ...member, roles: [...member.roles] })),
    employees: model.employees.map((member) => ({ ...member, roles: [] })),
    selfServiceGroupId: SELF_SERVICE_GROUP_ID,
    get directory() {
      return state.model.directory;
    },
    escrowGaps: planted.gaps,
    knobs: {
      ...knobsOf(state, initialPermissions),
      deleteDevice(deviceId) {
        // The Graph host indexes the directory once; a deletion builds it anew on the smaller directory.
        state.model = { ...state.model, directory: withoutDevice(state.model.directory, deviceId) };
        graphHandler = createGraphHost(state, escrowKey).handler;
      },
      setRotation(deviceId, behaviour) {
        state.rotations.behaviours.set(deviceId.toLowerCase(), behaviour);
      },
    },
    graphRequests: logs.graph,
    rotationRequests: state.rotations.requested,
    tokenRequests: logs.token,
    entraRequests: logs.entra,
    directoryAudits: logs.audits,
    recordPortalRead: (read) => recordPortalRead(state, read),
    counters: () => ({ ...state.counters }),
    clearLogs() {
      state.counters = { graphRoundTrips: 0, graphRequests: 0, tokenRequests: 0, recoveryPasswordReads: 0 };
      logs.graph.length = 0;
      logs.token.length = 0;
      logs.entra.length = 0;
      logs.audits.length = 0;
      state.rotations.requested.length = 0;
    },
    issueAppToken: (clientId, scope) => entra.mintAppToken(clientId, scope ?? `${model.keydesk.appIdUri}/.default`),
    issueDelegatedApiToken: (request) => entra.mintDelegatedApiToken({ ...request, clientId: request.clientId ?? model.chatBot.clientId }),
    keydeskEnvironment: (environmentOptions) => keydeskEnvironmentOf(state, keydeskApp, certificates.caBundlePath, environmentOptions?.credential ?? 'secret'),
    async close() {
      state.delays.clear();
      for (const timer of state.rotations.timers) clearTimeout(timer);
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}

function knobsOf(state: SimulatorState, initialPermissions: readonly string[]): Omit<SimulatedTenant['knobs'], 'deleteDevice' | 'setRotation'> {
  const grant = (permissions: readonly string[]) => {
    state.graphPermissions.clear();
    for (const permission of permissions) state.graphPermissions.add(permission);
  };
  return {
    setLatency: (ms) => state.faults.setLatency(ms),
    throttle: (throttle) => state.faults.throttle(throttle),
    failNext: (fail) => state.faults.failNext(fail),
    slowNext: (slow) => state.faults.slowNext(slow),
    setGraphPermissions: grant,
    reset() {
      state.faults.reset();
      grant(initialPermissions);
    },
  };
}

function keydeskEnvironmentOf(state: SimulatorState, keydesk: SimKeyDeskRegistration, caBundlePath: string, credential: 'secret' | 'certificate'): Record<string, string> {
  const model: SimTenantModel = state.model;
  return {
    AZURE_TENANT_ID: model.tenantId,
    AZURE_CLIENT_ID: keydesk.clientId,
    // KeyDesk refuses both at once; "" reads as unset, so spreading this over another environment cannot leave both.
    AZURE_CLIENT_SECRET: credential === 'secret' ? keydesk.clientSecret : '',
    AZURE_CLIENT_CERTIFICATE_PATH: credential === 'certificate' ? keydesk.certificatePath : '',
    AZURE_AUTHORITY_HOST: state.authorityHost,
    GRAPH_BASE_URL: state.graphBaseUrl,
    API_AUDIENCE: keydesk.appIdUri,
    NODE_EXTRA_CA_CERTS: caBundlePath,
  };
}
