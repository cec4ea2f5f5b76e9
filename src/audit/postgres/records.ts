import type { AuditRecord } from '../types.js';

/**
 * A record as a row of `keydesk.audit_records` (see migrations.ts): `line` is the exact bytes the
 * file store writes (less the newline), the rest are the indexed filter columns, lower-cased where
 * `query` compares case-insensitively.
 */

export const RECORD_COLUMNS = [
  'seq',
  'id',
  'time',
  'action',
  'outcome',
  'code',
  'door',
  'disclosure_id',
  'caller_oid',
  'caller_upn',
  'caller_app_id',
  'agent_upn',
  'requester_upn',
  'device_id',
  'device_name',
  'recovery_key_id',
  'ticket',
  'prev_hash',
  'hash',
  'line',
] as const;

export type RecordRow = Record<(typeof RECORD_COLUMNS)[number], string | number | null>;

const lower = (value: string | null | undefined): string | null => (typeof value === 'string' ? value.toLowerCase() : null);

/** The line the file store would write for this record, without its newline. */
export function recordLine(record: AuditRecord): string {
  return JSON.stringify(record);
}

export function recordRow(record: AuditRecord, line: string = recordLine(record)): RecordRow {
  return {
    seq: record.seq,
    id: record.id,
    time: record.time,
    action: record.action,
    outcome: record.outcome,
    code: record.code,
    door: record.door,
    disclosure_id: lower(record.disclosureId),
    caller_oid: lower(record.caller?.oid),
    caller_upn: lower(record.caller?.upn),
    caller_app_id: lower(record.caller?.appId),
    agent_upn: lower(record.agentUpn),
    requester_upn: lower(record.requesterUpn),
    device_id: lower(record.device?.deviceId),
    device_name: lower(record.device?.displayName),
    recovery_key_id: lower(record.recoveryKeyId),
    ticket: record.ticket,
    prev_hash: record.prevHash,
    hash: record.hash,
    line,
  };
}

/** `INSERT` of `count` rows as one statement, with its parameters in `recordRows` order. */
export function insertRecordsSql(count: number): string {
  const width = RECORD_COLUMNS.length;
  const rows = Array.from({ length: count }, (_, row) => `(${RECORD_COLUMNS.map((_, column) => `$${row * width + column + 1}`).join(', ')})`);
  return `INSERT INTO keydesk.audit_records (${RECORD_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`;
}

export function recordParameters(rows: readonly RecordRow[]): (string | number | null)[] {
  return rows.flatMap((row) => RECORD_COLUMNS.map((column) => row[column]));
}
