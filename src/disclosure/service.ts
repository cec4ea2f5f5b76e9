import type { Logger } from 'pino';
import type { AuditRecord } from '../audit/types.js';
import type { Device, IntuneRecord, RecoveryKeyWithPassword } from '../graph/types.js';
import { KeyDeskProblem, isProblem } from '../problem/problem.js';
import { disclosuresTotal } from '../metrics/metrics.js';
import type { DisclosureChecks } from '../schemas/checks.js';
import { discloseRecoveryKey, type DisclosureDeps } from './disclose.js';
import { parseDisclosureInput, trustedInput, type InputContract } from './input.js';
import { DisclosureTrail, type DisclosureContext, type ResolvedDevice } from './trail.js';
import type { DisclosureWarning } from './wording.js';

/**
 * The one intake every door uses. `disclose` takes the attempt as the door received it (the API's
 * body, the web form mapped onto the same contract), validates it, runs the rules and records the
 * outcome; `refuse` records an attempt a door's own layer turned away first (CSRF, a rate limit,
 * a used form, a stale sign-in, an unreadable body). Either way one code writes the record, in one
 * shape, with a disclosureId, and the result says what to show: nothing here knows HTTP.
 */

export interface DisclosureAttempt extends DisclosureContext {
  /** The input as the door received it; validated here against the one contract. */
  input: unknown;
  /** Where the input came from, for validation messages: `body` (API) or `form` (web UI). */
  inputLocation: 'body' | 'form';
  /** A device the door named outside the input (the web UI's URL); recorded when the input is not usable. */
  namedDeviceId?: string | null;
  log: Pick<Logger, 'info' | 'error'>;
}

interface Attempted {
  disclosureId: string;
  checks: DisclosureChecks;
  resolved: ResolvedDevice;
}

export interface GrantedDisclosure extends Attempted {
  outcome: 'granted';
  /** The id of the audit record that says the key was disclosed. */
  auditRecordId: string;
  device: Device;
  intune: IntuneRecord | null;
  recoveryKey: RecoveryKeyWithPassword;
  /** Graph's `request-id` of the key read: the entry in the tenant's own audit log. */
  graphRequestId: string | null;
  warnings: DisclosureWarning[];
}

export interface RefusedDisclosure extends Attempted {
  outcome: 'refused' | 'failed';
  /** Null only when the refusal itself could not be recorded (then the problem is audit_unavailable). */
  auditRecordId: string | null;
  /** What to answer, with `disclosureId` and `auditRecordId` among its members. */
  problem: KeyDeskProblem;
}

export type DisclosureResult = GrantedDisclosure | RefusedDisclosure;

export interface DisclosureService {
  disclose(attempt: DisclosureAttempt): Promise<DisclosureResult>;
  refuse(attempt: DisclosureAttempt, problem: KeyDeskProblem): Promise<RefusedDisclosure>;
}

export interface DisclosureServiceDeps extends DisclosureDeps {
  /**
   * Told of each outcome record (granted, refused, failed) once it is durable, for the alert
   * rules. It must return at once and never throw: the answer does not wait for it.
   */
  onOutcome?: (record: AuditRecord) => void;
}

export function createDisclosureService(deps: DisclosureServiceDeps): DisclosureService {
  return {
    async disclose(attempt) {
      const trail = new DisclosureTrail(deps.newId(), attempt, attempt.namedDeviceId ?? null);
      try {
        trail.input = parseDisclosureInput(attempt.input, attempt.inputLocation, contractOf(attempt));
        const read = await discloseRecoveryKey(trail.input, trail, deps);
        const result: GrantedDisclosure = {
          outcome: 'granted',
          disclosureId: trail.disclosureId,
          auditRecordId: read.record.id,
          device: read.device,
          intune: trail.resolved.intune,
          recoveryKey: read.recoveryKey,
          graphRequestId: trail.graphRequestId,
          checks: { ...trail.checks },
          warnings: [...trail.warnings],
          resolved: trail.resolved,
        };
        logOutcome(attempt, trail, 'granted', null);
        outcomeRecorded(deps, read.record, attempt);
        disclosuresTotal.inc({ outcome: 'granted', code: '' });
        return result;
      } catch (error) {
        return recordRefusal(trail, error, deps, attempt);
      }
    },
    async refuse(attempt, problem) {
      const trail = new DisclosureTrail(deps.newId(), attempt, attempt.namedDeviceId ?? null);
      // Kept only if it would have passed the contract: an unread or unvalidated body is not trusted.
      trail.input = trustedInput(attempt.input, contractOf(attempt));
      return recordRefusal(trail, problem, deps, attempt);
    },
  };
}

/** An employee's own request has its own contract (no ticket, no agent); staff doors share the other. */
function contractOf(attempt: DisclosureAttempt): InputContract {
  return attempt.door === 'self_service' ? 'self_service' : 'staff';
}

/**
 * Every refused or failed attempt leaves a record. If even that cannot be written the caller gets
 * `audit_unavailable` rather than the original refusal: an unrecorded attempt must not look normal.
 */
async function recordRefusal(trail: DisclosureTrail, error: unknown, deps: DisclosureServiceDeps, attempt: DisclosureAttempt): Promise<RefusedDisclosure> {
  let problem = isProblem(error) ? error : new KeyDeskProblem('internal_error', 'KeyDesk met an unexpected error. The request id in the logs identifies it.', { cause: error });
  const outcome = problem.status < 500 ? 'refused' : 'failed';
  let auditRecordId: string | null = null;
  // When the store itself failed, trying it again for the refusal record would fail the same way.
  if (!trail.outcomeRecorded && problem.code !== 'audit_unavailable') {
    try {
      const record = await deps.audit.append(trail.entry('disclosure', outcome, problem.code, refusalDetails(problem)));
      auditRecordId = record.id;
      trail.outcomeRecorded = true;
      outcomeRecorded(deps, record, attempt);
    } catch (auditError) {
      attempt.log.error({ err: auditError }, 'the disclosure refusal could not be recorded');
      problem = isProblem(auditError) ? auditError : new KeyDeskProblem('audit_unavailable', 'The refusal could not be recorded in the audit trail.', { cause: auditError });
    }
  }
  logOutcome(attempt, trail, problem.code === 'audit_unavailable' || outcome === 'failed' ? 'failed' : 'refused', problem, error);
  const answered = problem.status < 500 ? 'refused' : 'failed';
  disclosuresTotal.inc({ outcome: answered, code: problem.code });
  return {
    outcome: answered,
    disclosureId: trail.disclosureId,
    auditRecordId,
    problem: problem.withExtensions({ disclosureId: trail.disclosureId, ...(auditRecordId ? { auditRecordId } : {}) }),
    checks: { ...trail.checks },
    resolved: trail.resolved,
  };
}

/** Hands the durable outcome on (the alert rules); whatever happens there, the answer stands. */
function outcomeRecorded(deps: DisclosureServiceDeps, record: AuditRecord, attempt: DisclosureAttempt): void {
  try {
    deps.onOutcome?.(record);
  } catch (error) {
    attempt.log.error({ err: error }, 'the disclosure outcome could not be handed to the alert rules');
  }
}

/**
 * What a refusal record keeps besides its code: for a body that failed the contract, which members
 * and why (the messages never quote a value), since its values themselves are not kept.
 */
function refusalDetails(problem: KeyDeskProblem): Record<string, unknown> | null {
  const errors = problem.extensions.errors;
  return problem.code === 'invalid_request' && Array.isArray(errors) ? { errors } : null;
}

/** One log line per attempt; never the key, never what the caller typed beyond the ticket. */
function logOutcome(attempt: DisclosureAttempt, trail: DisclosureTrail, outcome: string, problem: KeyDeskProblem | null, cause?: unknown): void {
  const fields = {
    disclosure: {
      outcome,
      door: attempt.door,
      disclosureId: trail.disclosureId,
      ticket: trail.input?.ticket ?? null,
      deviceId: trail.resolved.device?.deviceId ?? null,
      recoveryKeyId: trail.resolved.matchedKey?.id ?? null,
      graphRequestId: trail.graphRequestId,
      ...(problem ? { code: problem.code } : { requester: trail.checks.requester }),
    },
  };
  if (problem && problem.status >= 500) attempt.log.error({ ...fields, err: cause }, `disclosure ${outcome}`);
  else attempt.log.info(fields, `disclosure ${outcome}`);
}
