import { randomUUID } from 'node:crypto';
import type { Caller, GraphAuthorization } from './graph-auth.js';
import type { Listing } from './graph-listing.js';
import { GraphQueryError, parseTop } from './graph-query.js';
import type { Json } from './graph-resources.js';
import type { GraphRequest, Ids } from './graph-wire.js';
import { isoSeconds, record, type SimDirectoryAuditEntry, type SimulatorState } from './state.js';

/**
 * `/v1.0/auditLogs/directoryAudits` for the tenant's "Read BitLocker key" entries (category
 * KeyManagement), newest first as Entra lists them, with `AuditLog.Read.All`. `$filter` takes
 * clauses joined by `and`: `activityDisplayName eq '…'`, `category eq '…'`, `correlationId eq
 * '…'`, `activityDateTime ge|le <instant>` (an unquoted DateTimeOffset literal, as OData writes it).
 */

export const AUDIT_LOG_READ = ['AuditLog.Read.All'];

const CLAUSE = /^(activityDisplayName|category|correlationId|activityDateTime)\s+(eq|ge|le)\s+(.+)$/i;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$/;

type Predicate = (entry: SimDirectoryAuditEntry) => boolean;

function unsupported(message: string): GraphQueryError {
  return new GraphQueryError(400, 'Request_UnsupportedQuery', message);
}

/** Splits on ` and ` outside string literals. */
function clausesOf(filter: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === "'") quoted = !quoted;
    else if (!quoted && /^\sand\s/i.test(filter.slice(i, i + 5))) {
      parts.push(filter.slice(start, i).trim());
      start = i + 5;
      i += 4;
    }
  }
  parts.push(filter.slice(start).trim());
  return parts;
}

function stringLiteral(text: string): string {
  if (!/^'(?:[^']|'')*'$/.test(text)) throw unsupported(`Invalid filter clause: ${text} is not a string literal.`);
  return text.slice(1, -1).replaceAll("''", "'");
}

function predicateOf(clause: string): Predicate {
  const match = CLAUSE.exec(clause);
  if (!match) throw unsupported(`Invalid filter clause: '${clause}' is not supported by the simulated directoryAudits.`);
  const [, rawProperty, rawOperator, value] = match as unknown as [string, string, string, string];
  const property = rawProperty.toLowerCase();
  const operator = rawOperator.toLowerCase();
  if (property === 'activitydatetime') {
    if (!INSTANT.test(value)) throw unsupported(`Invalid filter clause: ${value} is not a DateTimeOffset literal.`);
    const bound = Date.parse(value);
    if (operator === 'eq') return (entry) => Date.parse(entry.activityDateTime) === bound;
    return operator === 'ge' ? (entry) => Date.parse(entry.activityDateTime) >= bound : (entry) => Date.parse(entry.activityDateTime) <= bound;
  }
  if (operator !== 'eq') throw unsupported(`Invalid filter clause: ${rawProperty} supports eq only.`);
  const wanted = stringLiteral(value);
  if (property === 'activitydisplayname') return (entry) => entry.activityDisplayName === wanted;
  if (property === 'category') return (entry) => entry.category === wanted;
  return (entry) => (entry.correlationId ?? '').toLowerCase() === wanted.toLowerCase();
}

export function directoryAuditJson(entry: SimDirectoryAuditEntry): Json {
  const by = entry.initiatedBy;
  return {
    id: entry.id,
    category: entry.category,
    correlationId: entry.correlationId,
    result: entry.result,
    resultReason: '',
    activityDisplayName: entry.activityDisplayName,
    activityDateTime: entry.activityDateTime,
    loggedByService: 'Core Directory',
    operationType: 'Read',
    initiatedBy: {
      app: by.userPrincipalName === null ? { appId: by.appId, displayName: by.displayName, servicePrincipalId: by.servicePrincipalId, servicePrincipalName: null } : null,
      user: by.userPrincipalName === null ? null : { id: by.userId, displayName: by.displayName, userPrincipalName: by.userPrincipalName, ipAddress: by.ipAddress, userType: 'Member' },
    },
    targetResources: [{ id: entry.deviceId, displayName: entry.keyId, type: 'Other', userPrincipalName: null, groupType: null, modifiedProperties: [] }],
    additionalDetails: [],
  };
}

export function createAuditLogEndpoint(options: { entries: readonly SimDirectoryAuditEntry[]; listing: Listing; authorization: GraphAuthorization; pageSize: number }) {
  const { listing, authorization } = options;
  return function listDirectoryAudits(request: GraphRequest, caller: Caller, ids: Ids): Json {
    authorization.requirePermission(caller, AUDIT_LOG_READ, 'directory', ids, request.path);
    listing.only(request.query, ['$filter', '$top', '$skiptoken'], 'directory');
    const filter = listing.option(request.query, '$filter');
    const predicates = filter === null ? [] : clausesOf(filter).map(predicateOf);
    const top = parseTop(listing.option(request.query, '$top'), 'directory');
    const found = options.entries.filter((entry) => predicates.every((matches) => matches(entry))).sort((a, b) => b.activityDateTime.localeCompare(a.activityDateTime) || a.id.localeCompare(b.id));
    return listing.page(request, found, Math.min(top ?? 100, options.pageSize), 'directory', listing.contextUrl('auditLogs/directoryAudits', null), directoryAuditJson);
  };
}

export interface PortalRead {
  /** The recovery key's full ID. */
  keyId: string;
  /** Who "opened" the key in the admin portal; default: the organisation's first user. */
  userPrincipalName?: string;
  /** When; default now. */
  at?: Date;
}

/**
 * Records a read of a recovery key that did not come through KeyDesk, as Entra logs a person's
 * "Show recovery key" in the Entra or Intune admin center: initiated by the user, from an address.
 */
export function recordPortalRead(state: SimulatorState, read: PortalRead): SimDirectoryAuditEntry {
  const key = state.model.directory.recoveryKeys.find((candidate) => candidate.id.toLowerCase() === read.keyId.toLowerCase());
  if (!key) throw new RangeError(`the simulated tenant has no recovery key ${read.keyId}`);
  const upn = read.userPrincipalName ?? state.model.directory.users[0]!.userPrincipalName;
  const user = state.model.directory.users.find((candidate) => candidate.userPrincipalName.toLowerCase() === upn.toLowerCase());
  const entry: SimDirectoryAuditEntry = {
    id: `Directory_${randomUUID()}`,
    activityDateTime: isoSeconds((read.at ?? new Date(state.now())).getTime()),
    category: 'KeyManagement',
    activityDisplayName: 'Read BitLocker key',
    result: 'success',
    initiatedBy: { appId: null, servicePrincipalId: null, userPrincipalName: upn, userId: user?.id ?? null, displayName: user?.displayName ?? null, ipAddress: '203.0.113.7' },
    keyId: key.id,
    deviceId: key.deviceId,
    correlationId: randomUUID(),
    requestId: randomUUID(),
  };
  record(state.logs.audits, entry, state.logLimit);
  return entry;
}

/** The control endpoint `POST /_simulator/portal-reads` (`{ "keyId": "…", "userPrincipalName": "…" }`), for the demo's shell. */
export function portalReadAnswer(state: SimulatorState, body: string): { status: number; body: Json } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { status: 400, body: { error: 'the body must be JSON: { "keyId": "<recovery key id>", "userPrincipalName": "<optional>" }' } };
  }
  const input = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof input.keyId !== 'string') return { status: 400, body: { error: 'keyId (the recovery key ID) is required' } };
  try {
    const entry = recordPortalRead(state, { keyId: input.keyId, ...(typeof input.userPrincipalName === 'string' ? { userPrincipalName: input.userPrincipalName } : {}) });
    return { status: 201, body: directoryAuditJson(entry) };
  } catch (error) {
    return { status: 404, body: { error: (error as Error).message } };
  }
}
