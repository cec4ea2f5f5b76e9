import type { AuditCaller, AuditEntry, Door } from '../audit/types.js';
import type { Device, DirectoryUser, IntuneRecord, RecoveryKeyMetadata } from '../graph/types.js';
import { noChecksYet, type DisclosureChecks } from '../schemas/checks.js';
import type { DisclosureInput } from './input.js';
import type { DisclosureWarning } from './wording.js';

/**
 * Everything the audit records of one disclosure attempt share, filled in as the attempt goes:
 * one shape for every record of every door, whatever stopped the attempt.
 */

/** Who is asking, through which door, in which request. */
export interface DisclosureContext {
  door: Door;
  caller: AuditCaller;
  requestId: string;
  /** The caller's own x-request-id, when it looked like one. */
  callerRequestId: string | null;
}

/** What the attempt had resolved when it ended: a refusal page shows it without asking Graph again. */
export interface ResolvedDevice {
  device: Device | null;
  intune: IntuneRecord | null;
  recoveryKeys: RecoveryKeyMetadata[] | null;
  /** The key the key ID matched, once it did. */
  matchedKey: RecoveryKeyMetadata | null;
  requester: DirectoryUser | null;
}

export class DisclosureTrail {
  input: DisclosureInput | null = null;
  readonly resolved: ResolvedDevice = { device: null, intune: null, recoveryKeys: null, matchedKey: null, requester: null };
  readonly checks: DisclosureChecks = noChecksYet();
  readonly warnings: DisclosureWarning[] = [];
  graphClientRequestId: string | null = null;
  graphRequestId: string | null = null;
  /** Set once the outcome of this attempt is durably recorded. */
  outcomeRecorded = false;

  constructor(
    readonly disclosureId: string,
    readonly context: DisclosureContext,
    /** A device the door named outside the input (the web UI's URL), recorded if the input is not usable. */
    private readonly namedDeviceId: string | null = null,
  ) {}

  entry(action: AuditEntry['action'], outcome: AuditEntry['outcome'], code: string | null, details: AuditEntry['details'] = null): AuditEntry {
    const input = this.input;
    return {
      action,
      outcome,
      code,
      door: this.context.door,
      disclosureId: this.disclosureId,
      requestId: this.context.requestId,
      callerRequestId: this.context.callerRequestId,
      caller: this.context.caller,
      agentUpn: input?.agentUpn ?? null,
      requesterUpn: input?.requesterUpn ?? null,
      ticket: input?.ticket ?? null,
      reason: input?.reason ?? null,
      comment: input?.comment ?? null,
      device: this.#device(),
      recoveryKeyId: this.resolved.matchedKey?.id ?? null,
      keyIdInput: input?.keyId ?? null,
      checks: { ...this.checks },
      graphClientRequestId: this.graphClientRequestId,
      graphRequestId: this.graphRequestId,
      details,
    };
  }

  #device(): AuditEntry['device'] {
    const device = this.resolved.device;
    if (device) return { id: device.id, deviceId: device.deviceId, displayName: device.displayName };
    const deviceId = this.input?.deviceId ?? this.namedDeviceId;
    const displayName = this.input?.deviceName ?? null;
    return deviceId === null && displayName === null ? null : { id: null, deviceId: deviceId ?? null, displayName };
  }
}
