import { KeyDeskProblem } from '../problem/problem.js';
import { AUDIT_ENTRY_FIELDS } from '../schemas/audit.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditFilter, type AuditPageRequest, type AuditRecord } from './types.js';

/**
 * What every store shares for `query`: reading a stored record in today's shape, matching it
 * against a filter, checking a page request, and the cursor envelope. Stores differ only in how
 * they find candidates and what position a cursor holds.
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
  if (!timeInRange(Date.parse(record.time), filter)) return false;
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

/** `from` inclusive, `to` exclusive; a record with an unreadable time matches neither. */
export function timeInRange(ms: number, filter: Pick<AuditFilter, 'from' | 'to'>): boolean {
  if (filter.from !== undefined && !(ms >= (auditTimeMs(filter.from) ?? Number.NaN))) return false;
  if (filter.to !== undefined && !(ms < (auditTimeMs(filter.to) ?? Number.NaN))) return false;
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
    throw new KeyDeskProblem('invalid_request', `limit (the page size) must be a whole number from 1 to ${MAX_AUDIT_PAGE}; the default is ${DEFAULT_AUDIT_PAGE}.`);
  }
  return limit;
}

/**
 * `from` and `to` must be ISO 8601: a date (midnight UTC), or a date and time with its zone. A time
 * without a zone is refused rather than read in the server's time zone, which the caller cannot see.
 */
export function checkAuditFilter(filter: AuditFilter): void {
  for (const name of ['from', 'to'] as const) {
    const value = filter[name];
    if (value !== undefined && auditTimeMs(value) === null) {
      throw new KeyDeskProblem(
        'invalid_request',
        // The value is not echoed: an error body must never carry what someone pasted by mistake.
        `${name} must be an ISO 8601 date (2026-03-31) or date and time with a zone (2026-03-31T09:30:00Z or 2026-03-31T10:30:00+01:00).`,
      );
    }
  }
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2})))?$/;

/** Milliseconds since the epoch, or null for anything but a real ISO 8601 time (no 30 February). */
export function auditTimeMs(value: string): number | null {
  const match = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  if (match === null) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0, zoneHours = 0, zoneMinutes = 0] = match.slice(1).map((part) => (part === undefined ? undefined : Number(part)));
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  const realDay = calendar.getUTCMonth() === month! - 1 && calendar.getUTCDate() === day;
  if (!realDay || hour > 23 || minute > 59 || second > 59 || zoneHours > 23 || zoneMinutes > 59) return null;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? null : ms;
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * A cursor names the store that issued it and a position in that store, base64url-encoded so
 * callers treat it as opaque. Each store reads its own positions with `decodeCursor`.
 */
export function encodeCursor(store: string, position: readonly (string | number)[]): string {
  return Buffer.from([store, ...position].join(':'), 'utf8').toString('base64url');
}

/** The position parts of a cursor `store` issued; any other string is `foreignCursor()`. */
export function decodeCursor(store: string, cursor: string): string[] {
  if (typeof cursor !== 'string' || !CURSOR_TEXT.test(cursor)) throw foreignCursor();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // base64url decoding skips what it cannot read; only a cursor that round-trips is one we wrote.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw foreignCursor();
  const [name, ...position] = text.split(':');
  if (name !== store || position.length === 0) throw foreignCursor();
  return position;
}

export function foreignCursor(): KeyDeskProblem {
  return new KeyDeskProblem(
    'invalid_request',
    'The cursor was not issued by this audit trail (or the trail has been replaced since); pass back nextCursor exactly as received, or start again without a cursor.',
  );
}
