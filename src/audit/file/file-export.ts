import { checkAuditFilter } from '../query.js';
import type { AuditFilter, ExportedRecord } from '../types.js';
import { candidateRecord } from './file-query.js';
import { readAt, type AuditFileHandle } from './file-system.js';
import { lineNeedles, type LineNeedle } from './line-filter.js';
import { trailShrunk } from './scan.js';

/**
 * `exportRecords` over the trail file: the first `size` bytes read forwards a window at a time,
 * each matching line handed over as stored. Memory holds one window and one line, however long
 * the trail; the consumer's pace sets the reading's (an async generator reads on only when asked).
 */

const WINDOW_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

export async function* exportAuditFile(handle: AuditFileHandle, size: number, filter: AuditFilter): AsyncGenerator<ExportedRecord> {
  checkAuditFilter(filter);
  const needles = lineNeedles(filter);
  let position = 0;
  let carry: Buffer = Buffer.alloc(0);
  while (position < size) {
    const chunk = await readAt(handle, position, Math.min(WINDOW_BYTES, size - position));
    if (chunk.length === 0) throw trailShrunk();
    position += chunk.length;
    const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      const found = exportedLine(bytes.subarray(start, end), filter, needles);
      if (found !== null) yield found;
      start = end + 1;
    }
    carry = Buffer.from(bytes.subarray(start));
  }
}

function exportedLine(bytes: Buffer, filter: AuditFilter, needles: readonly LineNeedle[]): ExportedRecord | null {
  if (needles.length > 0) {
    const text = bytes.toString('latin1');
    if (!needles.every((needle) => !needle.usableIn(text) || needle.within(text))) return null;
  }
  const record = candidateRecord({ bytes }, filter);
  return record === null ? null : { record, line: bytes.toString('utf8') };
}
