import { auditTimeMs, checkAuditFilter, decodeCursor, encodeCursor, foreignCursor, normaliseAuditRecord, pageLimit } from '../query.js';
import type { AuditFilter, AuditPage, AuditPageRequest, AuditRecord, ExportedRecord } from '../types.js';

/**
 * `query` over `keydesk.audit_records`, newest first, served by the indexes on the filter columns
 * (see migrations.ts). The semantics are the file store's (query.ts): exact `action`, `outcome`,
 * `code`, `door` and `ticket`; the other members case-insensitive, compared with the columns
 * records.ts lower-cases (the parameter is lower-cased here the same way, in JavaScript, so the
 * database's locale plays no part). A cursor holds the seq and part of the hash of the last
 * record shown; it is checked against the table before use, so a cursor of another trail (or of
 * the file store) is refused rather than misread.
 */

const STORE = 'postgres';
const CURSOR_SEQ = /^[1-9]\d{0,15}$/;
const CURSOR_HASH = /^[0-9a-f]{16}$/;

/** Runs one read-only statement (bounded by the caller) and returns its rows. */
export type ReadRows = <R extends object>(sql: string, values: readonly unknown[], timeoutMs?: number) => Promise<R[]>;

interface Where {
  clauses: string[];
  values: (string | number)[];
}

const EXACT = { action: 'action', outcome: 'outcome', code: 'code', door: 'door', ticket: 'ticket' } as const;
const LOWER_CASED = {
  disclosureId: 'disclosure_id',
  agentUpn: 'agent_upn',
  requesterUpn: 'requester_upn',
  deviceId: 'device_id',
  deviceName: 'device_name',
  recoveryKeyId: 'recovery_key_id',
} as const;

function whereOf(filter: AuditFilter): Where {
  const where: Where = { clauses: [], values: [] };
  const add = (clause: (parameter: string) => string, value: string | number) => {
    where.values.push(value);
    where.clauses.push(clause(`$${where.values.length}`));
  };
  // Milliseconds, as the file store compares; a date alone is midnight UTC whatever the session's time zone.
  if (filter.from !== undefined) add((p) => `time >= ${p}::timestamptz`, new Date(auditTimeMs(filter.from)!).toISOString());
  if (filter.to !== undefined) add((p) => `time < ${p}::timestamptz`, new Date(auditTimeMs(filter.to)!).toISOString());
  for (const [member, column] of Object.entries(EXACT)) {
    const value = filter[member as keyof typeof EXACT];
    if (value !== undefined) add((p) => `${column} = ${p}`, value);
  }
  for (const [member, column] of Object.entries(LOWER_CASED)) {
    const value = filter[member as keyof typeof LOWER_CASED];
    if (value !== undefined) add((p) => `${column} = ${p}`, value.toLowerCase());
  }
  if (filter.caller !== undefined) add((p) => `(caller_oid = ${p} OR caller_upn = ${p} OR caller_app_id = ${p})`, filter.caller.toLowerCase());
  return where;
}

/** Records matching `filter` below the cursor's seq, newest first. */
export async function queryAuditTable(read: ReadRows, filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage> {
  checkAuditFilter(filter);
  const limit = pageLimit(page);
  const where = whereOf(filter);
  if (page?.cursor) {
    where.values.push(await cursorSeq(read, page.cursor));
    where.clauses.push(`seq < $${where.values.length}`);
  }
  where.values.push(limit + 1);
  const sql = `SELECT seq, hash, line FROM keydesk.audit_records${where.clauses.length > 0 ? ` WHERE ${where.clauses.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${where.values.length}`;
  const rows = await read<{ seq: string; hash: string; line: string }>(sql, where.values);
  // One more than the page, so that a page that is the last one says so.
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    records: shown.map((row) => normaliseAuditRecord(JSON.parse(row.line) as Record<string, unknown>) as AuditRecord),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(STORE, [last.seq, last.hash.slice(0, 16)]) : null,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The record with this id; null for none (and for a string that is no GUID, which the uuid column could not hold). */
export async function findAuditTableRecord(read: ReadRows, id: string): Promise<AuditRecord | null> {
  if (!GUID.test(id)) return null;
  const rows = await read<{ line: string }>('SELECT line FROM keydesk.audit_records WHERE id = $1', [id]);
  return rows[0] === undefined ? null : normaliseAuditRecord(JSON.parse(rows[0].line) as Record<string, unknown>);
}

const EXPORT_PAGE_ROWS = 1000;

/**
 * Records matching `filter` up to the chain head as the export begins, oldest first, a page at a
 * time by seq (keyset, never OFFSET): memory stays at one page however many records match.
 */
export async function* exportAuditTable(read: ReadRows, filter: AuditFilter): AsyncGenerator<ExportedRecord> {
  checkAuditFilter(filter);
  const head = await read<{ seq: string }>('SELECT seq FROM keydesk.chain_head WHERE singleton', []);
  const last = head[0]?.seq ?? '0';
  for (let after = '0'; ; ) {
    const where = whereOf(filter);
    where.values.push(after, last);
    where.clauses.push(`seq > $${where.values.length - 1}`, `seq <= $${where.values.length}`);
    const sql = `SELECT seq, line FROM keydesk.audit_records WHERE ${where.clauses.join(' AND ')} ORDER BY seq LIMIT ${EXPORT_PAGE_ROWS}`;
    const rows = await read<{ seq: string; line: string }>(sql, where.values);
    for (const row of rows) yield { record: normaliseAuditRecord(JSON.parse(row.line) as Record<string, unknown>), line: row.line };
    if (rows.length < EXPORT_PAGE_ROWS) return;
    after = rows.at(-1)!.seq;
  }
}

async function cursorSeq(read: ReadRows, cursor: string): Promise<number> {
  const [seqText = '', hash = '', ...extra] = decodeCursor(STORE, cursor);
  if (extra.length > 0 || !CURSOR_SEQ.test(seqText) || !CURSOR_HASH.test(hash)) throw foreignCursor();
  const rows = await read<{ hash: string }>('SELECT hash FROM keydesk.audit_records WHERE seq = $1', [seqText]);
  if (rows[0] === undefined || !rows[0].hash.startsWith(hash)) throw foreignCursor();
  return Number(seqText);
}
