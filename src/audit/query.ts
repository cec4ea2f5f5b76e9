import { KeyDeskProblem } from '../problem/problem.js';
import { AUDIT_ENTRY_FIELDS } from '../schemas/audit.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditFilter, type AuditPageRequest, type AuditRecord } from './types.js';

/**
 * What every store shares for `query`: reading a stored record in today's shape, matching it
 * against a filter, and checking a page request. Stores differ only in how they find candidates.
 */

/** A stored record with every member a newer KeyDesk added and this record lacks set to null. */
export function normaliseAuditRecord(stored: Record<string, unknown>): AuditRecord {
  const record: Record<string, unknown> = { ...stored };
  for (const field of AUDIT_ENTRY_FIELDS) if (record[field] === undefined) record[field] = null;
  if (record.checks !== null && typeof record.checks === 'object') {
    record.checks = { deviceEnabled: null, requesterMatchedAs: null, requesterEnabled: null, ...(record.checks as Record<string, unknown>) };
  }
  return record as unknown as AuditRecord;
}

const same = (a: string | null | undefined, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** Every member of the filter holds for the record. */
export function matchesAuditFilter(record: AuditRecord, filter: AuditFilter): boolean {
  const time = Date.parse(record.time);
  if (filter.from !== undefined && !(time >= Date.parse(filter.from))) return false;
  if (filter.to !== undefined && !(time < Date.parse(filter.to))) return false;
  if (filter.action !== undefined && record.action !== filter.action) return false;
  if (filter.outcome !== undefined && record.outcome !== filter.outcome) return false;
  if (filter.code !== undefined && record.code !== filter.code) return false;
  if (filter.door !== undefined && record.door !== filter.door) return false;
  if (filter.disclosureId !== undefined && !same(record.disclosureId, filter.disclosureId)) return false;
  if (filter.caller !== undefined && !callerIs(record, filter.caller)) return false;
  if (filter.agentUpn !== undefined && !same(record.agentUpn, filter.agentUpn)) return false;
  if (filter.requesterUpn !== undefined && !same(record.requesterUpn, filter.requesterUpn)) return false;
  if (filter.deviceId !== undefined && !same(record.device?.deviceId, filter.deviceId)) return false;
  if (filter.deviceName !== undefined && !same(record.device?.displayName, filter.deviceName)) return false;
  if (filter.recoveryKeyId !== undefined && !same(record.recoveryKeyId, filter.recoveryKeyId)) return false;
  if (filter.ticket !== undefined && record.ticket !== filter.ticket) return false;
  return true;
}

function callerIs(record: AuditRecord, who: string): boolean {
  const caller = record.caller;
  return caller !== null && (same(caller.oid, who) || same(caller.upn, who) || same(caller.appId, who));
}

/** The limit of a page request, checked; the cursor is the store's to read. */
export function pageLimit(page: AuditPageRequest | undefined): number {
  const limit = page?.limit ?? DEFAULT_AUDIT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw new KeyDeskProblem('invalid_request', `The page size must be a whole number from 1 to ${MAX_AUDIT_PAGE}.`);
  }
  return limit;
}

/** `from` and `to` must be ISO 8601 times. */
export function checkAuditFilter(filter: AuditFilter): void {
  for (const name of ['from', 'to'] as const) {
    const value = filter[name];
    if (value !== undefined && (!ISO_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
      throw new KeyDeskProblem('invalid_request', `${name} must be an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z.`);
    }
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Cursors say "records older than this seq"; encoded so callers treat them as opaque. */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

export function decodeSeqCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new KeyDeskProblem('invalid_request', 'The cursor is not one KeyDesk issued; start again without it.');
  return Number(match[1]);
}
