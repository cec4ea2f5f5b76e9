import { readChainLink } from '../chain.js';
import {
  checkAuditFilter,
  decodeCursor,
  encodeCursor,
  foreignCursor,
  matchesAuditFilter,
  normaliseAuditRecord,
  pageLimit,
  timeInRange,
} from '../query.js';
import type { AuditFilter, AuditPage, AuditPageRequest, AuditRecord } from '../types.js';
import { readAt, type AuditFileHandle } from './file-system.js';
import { idNeedle, lineNeedles } from './line-filter.js';
import { scanBackwards, type ScannedLine } from './scan.js';

/**
 * `query` over the trail file, newest first. A cursor holds where the last record shown starts in
 * the file, with its seq and part of its hash: the next page reads on from there, so records
 * appended meanwhile (always after it) never shift it, and it is checked against the file before
 * use, so a cursor of another trail or of a replaced file is refused rather than misread.
 */

const STORE = 'file';
const CURSOR_POSITION = /^(\d{1,15})$/;
const CURSOR_HASH = /^[0-9a-f]{16}$/;

interface Found {
  record: AuditRecord;
  offset: number;
}

/** Reads only the first `size` bytes: the records known durable when the query began. */
export async function queryAuditFile(handle: AuditFileHandle, size: number, filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage> {
  checkAuditFilter(filter);
  const limit = pageLimit(page);
  const end = page?.cursor ? await cursorEnd(handle, size, page.cursor) : size;
  const found: Found[] = [];
  // One more than the page, so that a page that is the last one says so.
  for await (const line of scanBackwards(handle, end, lineNeedles(filter))) {
    const record = candidateRecord(line, filter);
    if (record !== null) found.push({ record, offset: line.offset });
    if (found.length > limit) break;
  }
  const shown = found.slice(0, limit);
  const last = shown.at(-1);
  const nextCursor = found.length > limit && last !== undefined ? cursorAt(last) : null;
  return { records: shown.map(({ record }) => record), nextCursor };
}

/** The record with this id, searched from the file's end (where an auditor's record usually is). */
export async function findAuditFileRecord(handle: AuditFileHandle, size: number, id: string): Promise<AuditRecord | null> {
  for await (const line of scanBackwards(handle, size, idNeedle(id))) {
    const record = candidateRecord(line, {});
    if (record !== null && record.id.toLowerCase() === id.toLowerCase()) return record;
  }
  return null;
}

/**
 * The record on a line that passed the byte test, when it matches. A line that is not a record
 * (damage) is passed over: this is a view of the trail, `audit:verify` is the check of it.
 */
export function candidateRecord(line: Pick<ScannedLine, 'bytes'>, filter: AuditFilter): AuditRecord | null {
  if ((filter.from !== undefined || filter.to !== undefined) && !storedTimeMayMatch(line.bytes, filter)) return null;
  let value: unknown;
  try {
    value = JSON.parse(line.bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (readChainLink(value) === null) return null;
  const record = normaliseAuditRecord(value as Record<string, unknown>);
  return matchesAuditFilter(record, filter) ? record : null;
}

/** `time` is the third member KeyDesk writes; reading it alone spares parsing lines out of range. */
function storedTimeMayMatch(bytes: Buffer, filter: AuditFilter): boolean {
  const time = /"time":"([^"]{1,40})"/.exec(bytes.toString('latin1', 0, Math.min(bytes.length, 256)));
  return time === null || timeInRange(Date.parse(time[1]!), filter);
}

function cursorAt({ record, offset }: Found): string {
  return encodeCursor(STORE, [record.seq, offset, record.hash.slice(0, 16)]);
}

/** Where the next page ends: the start of the line of the last record shown, once checked. */
async function cursorEnd(handle: AuditFileHandle, size: number, cursor: string): Promise<number> {
  const [seqText = '', offsetText = '', hash = '', ...extra] = decodeCursor(STORE, cursor);
  if (extra.length > 0 || !CURSOR_POSITION.test(seqText) || !CURSOR_POSITION.test(offsetText) || !CURSOR_HASH.test(hash)) throw foreignCursor();
  const offset = Number(offsetText);
  const link = offset < size ? readChainLink(await lineAt(handle, offset, size)) : null;
  if (link === null || link.seq !== Number(seqText) || !link.hash.startsWith(hash)) throw foreignCursor();
  return offset;
}

/** The parsed line starting at `offset`; undefined when no line starts there. */
async function lineAt(handle: AuditFileHandle, offset: number, size: number): Promise<unknown> {
  if (offset > 0 && (await readAt(handle, offset - 1, 1))[0] !== 0x0a) return undefined;
  for (let length = 64 * 1024; ; length *= 4) {
    const bytes = await readAt(handle, offset, Math.min(length, size - offset));
    const end = bytes.indexOf(0x0a);
    if (end === -1 && offset + bytes.length < size) continue;
    try {
      return JSON.parse(bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8'));
    } catch {
      return undefined;
    }
  }
}
