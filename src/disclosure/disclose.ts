import { KeyDeskProblem, isProblem } from '../problem/problem.js';
import type { RequesterCheck } from '../config/config.js';
import type { AuditCaller, AuditEntry, AuditRecord, AuditTrail } from '../audit/types.js';
import { noChecksYet, type DisclosureChecks } from '../schemas/checks.js';
import type { Device, GraphGateway, IntuneRecord, RecoveryKeyMetadata, RecoveryKeyWithPassword } from '../graph/types.js';
import {
  checkDeviceSelector,
  checkKeyIdFormat,
  checkReason,
  checkRequester,
  checkTicket,
  matchKeyId,
  pickDevice,
  type DisclosureReason,
  type RequesterCheckResult,
} from './rules.js';

/**
 * One disclosure, start to finish: the checks, the audit records and the single key read, in the
 * order that guarantees "no audit record, no key". Knows nothing of HTTP: routes and pages pass
 * what the caller asked and who the caller is, and turn the result or the problem into a response.
 */

export interface DisclosureRequest {
  deviceName?: string;
  deviceId?: string;
  keyId: string;
  ticket: string;
  reason: DisclosureReason;
  requesterUpn: string;
  agentUpn?: string;
  comment?: string;
}

export interface DisclosureContext {
  caller: AuditCaller;
  requestId: string;
}

export interface DisclosurePolicy {
  requesterCheck: RequesterCheck;
  ticketPattern: RegExp;
}

export interface DisclosureDeps {
  graph: GraphGateway;
  audit: AuditTrail;
  policy: DisclosurePolicy;
  newId: () => string;
}

export interface GrantedDisclosure {
  disclosureId: string;
  /** The id of the audit record that says the key was disclosed. */
  auditRecordId: string;
  device: Device;
  intune: IntuneRecord | null;
  recoveryKey: RecoveryKeyWithPassword;
  /** Graph's `request-id` of the key read: the entry in the tenant's own audit log. */
  graphRequestId: string | null;
  checks: DisclosureChecks;
  requester: RequesterCheckResult;
}

/** Everything the audit records of one disclosure share, filled in as the checks progress. */
class DisclosureTrail {
  device: Device | null = null;
  key: RecoveryKeyMetadata | null = null;
  checks: DisclosureChecks = noChecksYet();
  graphClientRequestId: string | null = null;
  graphRequestId: string | null = null;
  /** Set once the outcome of this disclosure is durably recorded. */
  outcomeRecorded = false;

  constructor(
    readonly disclosureId: string,
    private readonly request: DisclosureRequest,
    private readonly context: DisclosureContext,
  ) {}

  entry(action: AuditEntry['action'], outcome: AuditEntry['outcome'], code: string | null): AuditEntry {
    return {
      action,
      outcome,
      code,
      door: null,
      callerRequestId: null,
      disclosureId: this.disclosureId,
      requestId: this.context.requestId,
      caller: this.context.caller,
      agentUpn: this.request.agentUpn ?? null,
      requesterUpn: this.request.requesterUpn,
      ticket: this.request.ticket,
      reason: this.request.reason,
      comment: this.request.comment ?? null,
      device: this.device
        ? { id: this.device.id, deviceId: this.device.deviceId, displayName: this.device.displayName }
        : { id: null, deviceId: this.request.deviceId ?? null, displayName: this.request.deviceName ?? null },
      recoveryKeyId: this.key?.id ?? null,
      keyIdInput: this.request.keyId,
      checks: { ...this.checks },
      graphClientRequestId: this.graphClientRequestId,
      graphRequestId: this.graphRequestId,
      details: null,
    };
  }
}

export async function discloseRecoveryKey(
  request: DisclosureRequest,
  context: DisclosureContext,
  deps: DisclosureDeps,
): Promise<GrantedDisclosure> {
  const trail = new DisclosureTrail(deps.newId(), request, context);
  try {
    return await runChecksAndRead(request, trail, deps);
  } catch (error) {
    if (!trail.outcomeRecorded) await recordRefusal(trail, error, deps.audit);
    throw error;
  }
}

async function runChecksAndRead(
  request: DisclosureRequest,
  trail: DisclosureTrail,
  deps: DisclosureDeps,
): Promise<GrantedDisclosure> {
  const { graph, audit, policy } = deps;

  // The checks that need no Graph call come first: a malformed request costs nothing upstream.
  checkDeviceSelector(request);
  checkKeyIdFormat(request.keyId);
  trail.checks.ticket = false;
  checkTicket(request.ticket, policy.ticketPattern);
  trail.checks.ticket = true;
  trail.checks.reason = false;
  checkReason(request.reason, request.comment);
  trail.checks.reason = true;

  trail.checks.deviceResolved = false;
  const candidates =
    request.deviceId !== undefined
      ? await graph.getDevice(request.deviceId).then((device) => (device ? [device] : []))
      : (await graph.findDevicesByName(request.deviceName ?? '')).devices;
  const device = pickDevice(candidates, request);
  trail.device = device;
  trail.checks.deviceResolved = true;

  // Independent reads: one round trip of wall time for both.
  const [keys, intune] = await Promise.all([graph.listRecoveryKeys(device.deviceId), graph.getIntuneRecord(device.deviceId)]);

  trail.checks.keyIdMatched = false;
  const key = matchKeyId(keys, request.keyId, device);
  trail.key = key;
  trail.checks.keyIdMatched = true;

  trail.checks.requester = 'failed';
  const requester = checkRequester(device, intune, request.requesterUpn, policy.requesterCheck);
  trail.checks.requester = requester.verdict;

  // Intent first, durably: Entra logs the read below, and our trail must have it even if we die.
  trail.graphClientRequestId = deps.newId();
  await audit.append(trail.entry('disclosure_intent', 'pending', null));

  const read = await graph.readRecoveryPassword(key.id, trail.graphClientRequestId);
  trail.graphRequestId = read.graphRequestId;

  const record: AuditRecord = await audit.append(trail.entry('disclosure', 'granted', null));
  trail.outcomeRecorded = true;

  return {
    disclosureId: trail.disclosureId,
    auditRecordId: record.id,
    device,
    intune,
    recoveryKey: read.recoveryKey,
    graphRequestId: read.graphRequestId,
    checks: { ...trail.checks },
    requester,
  };
}

/**
 * Every refused or failed attempt leaves a record. If even that cannot be written the caller gets
 * `audit_unavailable` rather than the original refusal: an unrecorded attempt must not look normal.
 */
async function recordRefusal(trail: DisclosureTrail, error: unknown, audit: AuditTrail): Promise<void> {
  if (isProblem(error) && error.code === 'audit_unavailable') {
    // The sink itself failed; trying it again for the refusal record would fail the same way.
    return;
  }
  const code = isProblem(error) ? error.code : 'internal_error';
  const outcome = isProblem(error) && error.status < 500 ? 'refused' : 'failed';
  try {
    await audit.append(trail.entry('disclosure', outcome, code));
    trail.outcomeRecorded = true;
  } catch (auditError) {
    throw isProblem(auditError)
      ? auditError
      : new KeyDeskProblem('audit_unavailable', 'The refusal could not be recorded in the audit trail.', { cause: auditError });
  }
}
