import { AUDIT_ENTRY_FIELDS } from '../../schemas/audit.js';
import { noChecksYet } from '../../schemas/checks.js';
import type { AuditRecord } from '../types.js';

/**
 * Audit records as CSV (RFC 4180: CRLF line ends, every cell quoted when it holds a comma, a
 * quote, CR or LF, quotes doubled). One column per member, nested members as dotted paths, in
 * the order the README documents: seq, id, time, then the entry's members as the stores write
 * them (caller.*, device.*, checks.* expanded in place), then hashAlg, prevHash, hash. `details`
 * is one cell of JSON. A spreadsheet runs a cell beginning with =, +, -, @, TAB or CR as a
 * formula: such a cell is prefixed with ' (OWASP's advice for CSV injection), so a device named
 * `=HYPERLINK(...)` shows as text.
 */

const CALLER_MEMBERS = ['kind', 'appId', 'oid', 'upn', 'name', 'ip', 'userAgent'] as const;
const DEVICE_MEMBERS = ['id', 'deviceId', 'displayName'] as const;
const CHECK_MEMBERS = Object.keys(noChecksYet());

function expanded(field: string): string[] {
  if (field === 'caller') return CALLER_MEMBERS.map((member) => `caller.${member}`);
  if (field === 'device') return DEVICE_MEMBERS.map((member) => `device.${member}`);
  if (field === 'checks') return CHECK_MEMBERS.map((member) => `checks.${member}`);
  return [field];
}

/** The columns, in order. */
export const CSV_COLUMNS: readonly string[] = ['seq', 'id', 'time', ...AUDIT_ENTRY_FIELDS.flatMap(expanded), 'hashAlg', 'prevHash', 'hash'];

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: text as it is, objects as JSON, null as empty; quoted when RFC 4180 needs it. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function valueAt(record: AuditRecord, column: string): unknown {
  let value: unknown = record;
  for (const member of column.split('.')) value = value === null || typeof value !== 'object' ? null : (value as Record<string, unknown>)[member];
  return value;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(record: AuditRecord): string {
  return `${CSV_COLUMNS.map((column) => csvCell(valueAt(record, column))).join(',')}\r\n`;
}
