/**
 * The audit trail's port: append records, query them back. Records are chained and made durable
 * by the store (a file today; PostgreSQL next); nothing here ever holds a recovery password.
 * The record's shape is the schema in `schemas/audit.ts`.
 */
import type { AuditAction, AuditEntry, AuditOutcome, AuditRecord, Door } from '../schemas/audit.js';

export type { AuditAction, AuditCaller, AuditDevice, AuditEntry, AuditOutcome, AuditRecord, Door } from '../schemas/audit.js';

/**
 * What `query` matches. Every member is optional and they combine with AND. Times are ISO 8601:
 * `from` inclusive, `to` exclusive. `caller` matches the caller's object id, UPN or app id.
 * UPNs, device names and GUIDs compare case-insensitively; `deviceName` is an exact name.
 */
export interface AuditFilter {
  from?: string;
  to?: string;
  action?: AuditAction;
  outcome?: AuditOutcome;
  code?: string;
  door?: Door;
  disclosureId?: string;
  caller?: string;
  agentUpn?: string;
  requesterUpn?: string;
  deviceId?: string;
  deviceName?: string;
  recoveryKeyId?: string;
  ticket?: string;
}

export interface AuditPageRequest {
  /** 1 to MAX_AUDIT_PAGE (500); default 50. */
  limit?: number;
  /** `nextCursor` of the previous page; opaque. */
  cursor?: string | null;
}

export interface AuditPage {
  /** Newest first. */
  records: AuditRecord[];
  /** Pass back for the next (older) page; null when there is none. */
  nextCursor: string | null;
}

/** One record of an export, and its stored line: the bytes its hash was computed over. */
export interface ExportedRecord {
  record: AuditRecord;
  line: string;
}

export const MAX_AUDIT_PAGE = 500;
export const DEFAULT_AUDIT_PAGE = 50;
/** The audit API's page size when the caller names none. */
export const DEFAULT_API_AUDIT_PAGE = 100;

export interface AuditTrail {
  /**
   * Appends one record and resolves only once it is durable (fsync, or a committed transaction).
   * Rejects with a `KeyDeskProblem('audit_unavailable')` when it cannot be written: the caller
   * must then refuse to disclose.
   */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /**
   * Records matching `filter`, newest first, a page at a time. Rejects with
   * `KeyDeskProblem('invalid_request')` for a limit out of range, a malformed time or a cursor
   * this store did not issue.
   */
  query(filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage>;
  /** The record with this id (a GUID); null when the trail holds none. */
  findRecord(id: string): Promise<AuditRecord | null>;
  /**
   * Every record matching `filter`, oldest first (ascending seq), each with its line exactly as
   * stored (without the newline): all of them joined with LF is the trail itself. Streamed in
   * bounded memory; only records durable when the export begins are read.
   */
  exportRecords(filter: AuditFilter): AsyncIterable<ExportedRecord>;
  /** True while the store can write; `/readyz` reports it. */
  isWritable(): Promise<boolean>;
  /** Waits for pending appends, then closes. Later appends reject. */
  close(): Promise<void>;
}
