/**
 * The audit trail's port. Records are appended, chained and made durable by the sink; nothing
 * here ever holds a recovery password (only the key ID of the key concerned).
 */

export type AuditAction =
  /** Written and made durable before a recovery password is read from Graph. */
  | 'disclosure_intent'
  /** The outcome of one disclosure attempt: granted, refused or failed. */
  | 'disclosure'
  /** The sink found a torn last line at start-up, moved it aside and continued the chain. */
  | 'chain_recovered'
  /** A staff member's sign-in to the web UI through Entra: granted, or refused with a code. */
  | 'sign_in'
  /** A staff member signed out of the web UI. */
  | 'sign_out';

export type AuditOutcome = 'pending' | 'granted' | 'refused' | 'failed' | 'recovered';

export interface AuditCaller {
  kind: 'app' | 'user';
  /** Application (client) id of the calling app: `azp` (v2) or `appid` (v1). */
  appId: string | null;
  /** Object id of the service principal or user. */
  oid: string | null;
  upn: string | null;
  name: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditDevice {
  id: string | null;
  deviceId: string | null;
  displayName: string | null;
}

/** Which disclosure checks passed (true), failed (false), or were not reached/applicable (null). */
export interface AuditChecks {
  ticket: boolean | null;
  reason: boolean | null;
  deviceResolved: boolean | null;
  keyIdMatched: boolean | null;
  /** 'passed' | 'failed' | 'warned' (REQUESTER_CHECK=warn let a mismatch through) | 'skipped' (off). */
  requester: 'passed' | 'failed' | 'warned' | 'skipped' | null;
}

/** What the caller of `append` supplies; the sink adds seq, id, time, prevHash, hash. */
export interface AuditEntry {
  action: AuditAction;
  outcome: AuditOutcome;
  /** The problem code of a refusal or failure; null when granted or pending. */
  code: string | null;
  /** Links the intent and the outcome of one disclosure; also returned to the caller. */
  disclosureId: string | null;
  requestId: string | null;
  caller: AuditCaller | null;
  agentUpn: string | null;
  requesterUpn: string | null;
  ticket: string | null;
  reason: string | null;
  comment: string | null;
  device: AuditDevice | null;
  /** Full key ID (GUID) of the recovery key concerned, once known. */
  recoveryKeyId: string | null;
  /** What the caller typed as key ID (from the recovery screen); never a password. */
  keyIdInput: string | null;
  checks: AuditChecks | null;
  /** `client-request-id` KeyDesk sent to Graph for the key read. */
  graphClientRequestId: string | null;
  /** Graph's `request-id` for the key read. */
  graphRequestId: string | null;
  /** Free-form details for non-disclosure records (e.g. chain recovery); never secrets. */
  details: Record<string, unknown> | null;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  id: string;
  time: string;
  /** 'sha256' or 'hmac-sha256' (keyed with AUDIT_HMAC_KEY). */
  hashAlg: 'sha256' | 'hmac-sha256';
  prevHash: string;
  hash: string;
}

export interface AuditSink {
  /**
   * Appends one record and resolves only once it is durable (fsync). Rejects with a
   * `KeyDeskProblem('audit_unavailable')` when it cannot be written: the caller must then
   * refuse to disclose.
   */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** True while the sink can write; `/readyz` reports it. */
  isWritable(): Promise<boolean>;
  /** Waits for pending appends, then closes the file. Later appends reject. */
  close(): Promise<void>;
}
