import type { AuditAction, AuditCaller, AuditDevice, AuditOutcome, AuditRecord } from '../audit/types.js';
import { passwordShapedPaths } from '../disclosure/password-shaped.js';
import { PROBLEM_CODES } from '../problem/problem.js';
import { KEYDESK_VERSION } from '../version.js';

/**
 * Audit records as OCSF events, the one shape every SIEM channel sends (docs/events.md describes
 * each). Built from the record alone, so a retry sends the same event. The record never holds a
 * recovery password; the mapper still replaces any value shaped like one, so a mistake upstream
 * cannot reach a SIEM.
 */

export const OCSF_VERSION = '1.8.0';

export const OCSF_CLASSES = {
  entity_management: { class_uid: 3004, class_name: 'Entity Management', category_uid: 3, category_name: 'Identity & Access Management' },
  authentication: { class_uid: 3002, class_name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' },
  detection_finding: { class_uid: 2004, class_name: 'Detection Finding', category_uid: 2, category_name: 'Findings' },
  api_activity: { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' },
  application_error: { class_uid: 6008, class_name: 'Application Error', category_uid: 6, category_name: 'Application Activity' },
} as const;

export type OcsfClassName = keyof typeof OCSF_CLASSES;

/** Each audit action's class and activity; a new action does not compile until it has one. */
export const OCSF_ACTIVITIES: Record<AuditAction, { class: OcsfClassName; activity_id: number; activity_name: string }> = {
  disclosure_intent: { class: 'entity_management', activity_id: 2, activity_name: 'Read' },
  disclosure: { class: 'entity_management', activity_id: 2, activity_name: 'Read' },
  sign_in: { class: 'authentication', activity_id: 1, activity_name: 'Logon' },
  sign_out: { class: 'authentication', activity_id: 2, activity_name: 'Logoff' },
  audit_query: { class: 'api_activity', activity_id: 2, activity_name: 'Read' },
  audit_export: { class: 'api_activity', activity_id: 2, activity_name: 'Read' },
  alert: { class: 'detection_finding', activity_id: 1, activity_name: 'Create' },
  out_of_band_read: { class: 'detection_finding', activity_id: 1, activity_name: 'Create' },
  chain_recovered: { class: 'application_error', activity_id: 1, activity_name: 'General Error' },
  key_index_sync: { class: 'api_activity', activity_id: 1, activity_name: 'Create' },
  rotation: { class: 'entity_management', activity_id: 3, activity_name: 'Update' },
};

export const OCSF_SEVERITIES = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High' } as const;
export type OcsfSeverityId = keyof typeof OCSF_SEVERITIES;

export interface OcsfEvent {
  activity_id: number;
  activity_name: string;
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  severity_id: OcsfSeverityId;
  severity: string;
  message: string;
  metadata: Record<string, unknown>;
  unmapped: Record<string, unknown>;
  [attribute: string]: unknown;
}

export interface OcsfOptions {
  /** `metadata.product.version`; KeyDesk's own by default. */
  productVersion?: string;
  /** `metadata.tenant_uid`: the Entra tenant KeyDesk serves. */
  tenantUid?: string;
}

export const PASSWORD_SHAPED_REPLACEMENT = '[removed: shaped like a recovery password]';

export function toOcsf(record: AuditRecord, options: OcsfOptions = {}): OcsfEvent {
  const activity = OCSF_ACTIVITIES[record.action];
  const ocsfClass = OCSF_CLASSES[activity.class];
  const severityId = severityOf(record);
  const event: OcsfEvent = {
    ...ocsfClass,
    activity_id: activity.activity_id,
    activity_name: activity.activity_name,
    type_uid: ocsfClass.class_uid * 100 + activity.activity_id,
    type_name: `${ocsfClass.class_name}: ${activity.activity_name}`,
    time: Date.parse(record.time),
    timezone_offset: 0,
    severity_id: severityId,
    severity: OCSF_SEVERITIES[severityId],
    ...statusOf(record, activity.class),
    message: messageOf(record),
    metadata: metadataOf(record, options),
    ...CLASS_ATTRIBUTES[activity.class](record),
    unmapped: unmappedOf(record),
  };
  const scrubbed = withoutPasswordShapedValues(event);
  // The chain's own hashes are hex digests KeyDesk computed, never input: the first record's
  // prevHash (64 zeros) would otherwise read as digits shaped like a password, and break the chain a SIEM rebuilds.
  const digests = Object.fromEntries((['hash', 'prevHash'] as const).filter((name) => HEX_DIGEST.test(record[name])).map((name) => [name, record[name]]));
  return { ...scrubbed, unmapped: { ...scrubbed.unmapped, ...digests } };
}

const HEX_DIGEST = /^[0-9a-f]{64}$/;

const CLASS_ATTRIBUTES: Record<OcsfClassName, (record: AuditRecord) => Record<string, unknown>> = {
  entity_management: (record) =>
    compact({ actor: actorOf(record), src_endpoint: srcEndpointOf(record.caller), http_request: httpRequestOf(record.caller), entity: recoveryKeyEntityOf(record), comment: record.comment }),
  authentication: (record) =>
    compact({
      actor: actorOf(record),
      user: record.caller === null ? { name: record.agentUpn ?? 'unknown', type_id: 1, type: 'User' } : userOf(record.caller),
      src_endpoint: srcEndpointOf(record.caller),
      http_request: httpRequestOf(record.caller),
      auth_protocol_id: 4,
      auth_protocol: 'OpenID',
      service: { name: 'KeyDesk web UI' },
    }),
  detection_finding: findingAttributes,
  api_activity: (record) =>
    compact({
      actor: actorOf(record) ?? { app_name: 'KeyDesk' },
      api: compact({ operation: record.action, service: { name: record.action === 'key_index_sync' ? 'KeyDesk key index' : 'KeyDesk audit' }, request: record.requestId === null ? undefined : { uid: record.requestId } }),
      src_endpoint: srcEndpointOf(record.caller),
      http_request: httpRequestOf(record.caller),
      resources: [record.action === 'key_index_sync' ? { type: 'KeyDesk key index', name: 'recovery key metadata' } : { type: 'KeyDesk audit trail', name: 'audit records' }],
    }),
  application_error: () => ({}),
};

function findingAttributes(record: AuditRecord): Record<string, unknown> {
  const rule = detailText(record, 'rule') ?? record.action;
  const evidence = compact({ actor: actorOf(record), src_endpoint: srcEndpointOf(record.caller) });
  return compact({
    finding_info: compact({
      uid: record.id,
      uid_alt: detailText(record, 'entraEventId'),
      title: detailText(record, 'summary') ?? FINDING_TITLES[rule] ?? `KeyDesk alert: ${rule}`,
      types: [rule],
      analytic: { name: rule, uid: rule, type_id: 1, type: 'Rule' },
      created_time: Date.parse(record.time),
    }),
    is_alert: true,
    device: record.device === null ? undefined : deviceOf(record.device),
    resources: record.recoveryKeyId === null ? undefined : [{ type: RECOVERY_KEY_TYPE, uid: record.recoveryKeyId, name: record.recoveryKeyId }],
    evidences: Object.keys(evidence).length === 0 ? undefined : [evidence],
  });
}

const FINDING_TITLES: Record<string, string> = {
  out_of_band_read: "A recovery key was read outside KeyDesk (Entra's audit log holds a read no KeyDesk disclosure accounts for)",
};

const RECOVERY_KEY_TYPE = 'BitLocker recovery key';

/** The recovery key as the managed entity: its key ID (as Entra names it in its own log), never the password. */
function recoveryKeyEntityOf(record: AuditRecord): Record<string, unknown> {
  return compact({
    uid: record.recoveryKeyId,
    name: record.recoveryKeyId ?? (record.device === null ? 'not identified' : undefined),
    type: RECOVERY_KEY_TYPE,
    type_id: 99,
    device: record.device === null ? undefined : deviceOf(record.device),
  });
}

/** Entra's device ID (the one Entra's log and Intune show) as `uid`, the directory object id as `uid_alt`. */
function deviceOf(device: AuditDevice): Record<string, unknown> {
  return compact({ uid: device.deviceId, uid_alt: device.id, name: device.displayName, hostname: device.displayName, type_id: 0, type: 'Unknown' });
}

/**
 * A staff member (web UI, delegated token) as the user; an app-only caller as the app, with the
 * agent it named as the user (or its service principal when it named none).
 */
function actorOf(record: AuditRecord): Record<string, unknown> | undefined {
  const caller = record.caller;
  const agent = record.agentUpn === null ? undefined : { name: record.agentUpn, type_id: 1, type: 'User' };
  if (caller === null) return agent === undefined ? undefined : { user: agent };
  if (caller.kind === 'user') return compact({ user: userOf(caller), app_uid: caller.appId });
  const servicePrincipal = compact({ uid: caller.oid, name: caller.name, type_id: 4, type: 'Service' });
  return compact({ user: agent ?? servicePrincipal, app_uid: caller.appId, app_name: caller.name });
}

function userOf(caller: AuditCaller): Record<string, unknown> {
  return compact({ uid: caller.oid, name: caller.upn ?? caller.name ?? 'unknown', full_name: caller.upn === null ? undefined : caller.name, type_id: 1, type: 'User' });
}

function srcEndpointOf(caller: AuditCaller | null): Record<string, unknown> | undefined {
  return caller?.ip ? { ip: caller.ip } : undefined;
}

function httpRequestOf(caller: AuditCaller | null): Record<string, unknown> | undefined {
  return caller?.userAgent ? { user_agent: caller.userAgent } : undefined;
}

function metadataOf(record: AuditRecord, options: OcsfOptions): Record<string, unknown> {
  return compact({
    version: OCSF_VERSION,
    product: { name: 'KeyDesk', vendor_name: 'KeyDesk', version: options.productVersion ?? KEYDESK_VERSION },
    uid: record.id,
    sequence: record.seq,
    correlation_uid: record.disclosureId,
    event_code: record.action,
    log_name: 'audit',
    original_time: record.time,
    tenant_uid: options.tenantUid,
  });
}

/** What OCSF has no attribute for, under KeyDesk's own names: the chain links first. */
function unmappedOf(record: AuditRecord): Record<string, unknown> {
  return compact({
    hash: record.hash,
    prevHash: record.prevHash,
    hashAlg: record.hashAlg,
    outcome: record.outcome,
    door: record.door,
    ticket: record.ticket,
    reason: record.reason,
    requesterUpn: record.requesterUpn,
    keyIdInput: record.keyIdInput,
    checks: record.checks,
    requestId: record.requestId,
    callerRequestId: record.callerRequestId,
    graphClientRequestId: record.graphClientRequestId,
    graphRequestId: record.graphRequestId,
    details: record.details,
  });
}

const SEVERITIES: Record<AuditAction, Partial<Record<AuditOutcome, OcsfSeverityId>> & { default: OcsfSeverityId }> = {
  disclosure_intent: { default: 1 },
  disclosure: { default: 2, refused: 3 },
  sign_in: { default: 1, refused: 3 },
  sign_out: { default: 1 },
  audit_query: { default: 1 },
  audit_export: { default: 2 },
  alert: { default: 4 },
  out_of_band_read: { default: 4 },
  chain_recovered: { default: 3 },
  key_index_sync: { default: 1 },
  rotation: { default: 1, failed: 3, overdue: 3, not_supported: 2 },
};

function severityOf(record: AuditRecord): OcsfSeverityId {
  const table = SEVERITIES[record.action];
  return table[record.outcome] ?? table.default;
}

const STATUSES: Record<AuditOutcome, { status_id: number; status: string }> = {
  granted: { status_id: 1, status: 'Success' },
  recovered: { status_id: 1, status: 'Success' },
  refused: { status_id: 2, status: 'Failure' },
  failed: { status_id: 2, status: 'Failure' },
  pending: { status_id: 99, status: 'Pending' },
  raised: { status_id: 1, status: 'New' },
  observed: { status_id: 1, status: 'New' },
  requested: { status_id: 99, status: 'Pending' },
  done: { status_id: 1, status: 'Success' },
  not_supported: { status_id: 2, status: 'Failure' },
  overdue: { status_id: 2, status: 'Failure' },
};

/** The event's outcome; a finding's status is the finding's own (New), as OCSF defines it for findings. */
function statusOf(record: AuditRecord, ocsfClass: OcsfClassName): Record<string, unknown> {
  const status = ocsfClass === 'detection_finding' ? { status_id: 1, status: 'New' } : STATUSES[record.outcome];
  const title = record.code !== null && record.code in PROBLEM_CODES ? PROBLEM_CODES[record.code as keyof typeof PROBLEM_CODES].title : undefined;
  const pending = record.outcome === 'pending' ? 'Recorded before the key read; the outcome follows as a disclosure event with the same metadata.correlation_uid' : undefined;
  return compact({ ...status, status_code: record.code, status_detail: title ?? pending });
}

function messageOf(record: AuditRecord): string {
  const who = record.agentUpn ?? record.caller?.upn ?? record.caller?.name ?? record.caller?.appId ?? 'someone';
  const device = record.device?.displayName ?? record.device?.deviceId ?? 'a device';
  const refusal = record.code === null ? '' : `: ${record.code}`;
  switch (record.action) {
    case 'disclosure_intent':
      return `${who} asked for the recovery key of ${device}${record.ticket === null ? '' : ` under ticket ${record.ticket}`}`;
    case 'disclosure':
      return record.outcome === 'granted'
        ? `${who} was given the recovery key ${record.recoveryKeyId ?? ''} of ${device}${record.requesterUpn === null ? '' : ` for ${record.requesterUpn}`}${record.ticket === null ? '' : ` under ticket ${record.ticket}`}`
        : `${who} was ${record.outcome === 'refused' ? 'refused' : 'not given (KeyDesk failed)'} the recovery key of ${device}${refusal}`;
    case 'sign_in':
      return record.outcome === 'granted' ? `${who} signed in to the KeyDesk web UI` : `${who} was refused sign-in to the KeyDesk web UI${refusal}`;
    case 'sign_out':
      return `${who} signed out of the KeyDesk web UI`;
    case 'audit_query':
    case 'audit_export':
      return `${who} ${record.action === 'audit_query' ? 'queried' : 'exported'} the audit trail${rowCount(record)}`;
    case 'alert':
    case 'out_of_band_read':
      return detailText(record, 'summary') ?? FINDING_TITLES[record.action] ?? `KeyDesk alert: ${detailText(record, 'rule') ?? 'unknown rule'}`;
    case 'key_index_sync':
      return `${who} started a sync of the recovery key index (${detailText(record, 'status') ?? 'started'})`;
    case 'rotation':
      return `The rotation of the disclosed recovery key ${record.recoveryKeyId ?? ''} of ${device} is ${record.outcome.replace('_', ' ')}${refusal}`;
    case 'chain_recovered':
      return `The audit file ended in a torn write: ${String(record.details?.tornBytes ?? '?')} bytes were moved to ${String(record.details?.tornFile ?? '?')}; the chain continues after seq ${String(record.details?.lastGoodSeq ?? '?')}`;
  }
}

function rowCount(record: AuditRecord): string {
  const count = record.details?.rowCount ?? record.details?.rows ?? record.details?.count;
  return typeof count === 'number' ? ` (${count} records)` : '';
}

function detailText(record: AuditRecord, name: string): string | undefined {
  const value = record.details?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The members that hold a value: OCSF leaves out what is unknown rather than sending null. */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== null && member !== undefined)) as T;
}

function withoutPasswordShapedValues<T>(value: T): T {
  if (typeof value === 'string') return (passwordShapedPaths(value).length === 0 ? value : PASSWORD_SHAPED_REPLACEMENT) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => withoutPasswordShapedValues(item)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([name, member]) => [passwordShapedPaths(name).length === 0 ? name : PASSWORD_SHAPED_REPLACEMENT, withoutPasswordShapedValues(member)]),
  ) as T;
}
