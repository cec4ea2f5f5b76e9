import { open } from 'node:fs/promises';
import type { AuditRecord } from './types.js';
import { normaliseAuditRecord } from './query.js';

/**
 * The newest records of the audit file that match a filter, newest first. Reads back from the end
 * in windows, so a long trail costs no more than the records asked for; a line it cannot parse
 * (a write torn by a crash) is skipped, not reported: this is a view, `audit:verify` checks.
 */

export interface RecentAuditQuery {
  limit: number;
  filter: (record: AuditRecord) => boolean;
  /** Stops reading after this many bytes from the end, matches or not. */
  maxBytes?: number;
}

const WINDOW = 64 * 1024;
const NEWLINE = 0x0a;

export async function readRecentAuditRecords(file: string, query: RecentAuditQuery): Promise<AuditRecord[]> {
  const maxBytes = query.maxBytes ?? 16 * 1024 * 1024;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const found: AuditRecord[] = [];
    let end = size;
    // Bytes of a line that began before the window read so far.
    let carry = Buffer.alloc(0);
    while (end > 0 && size - end < maxBytes && found.length < query.limit) {
      const start = Math.max(0, end - WINDOW);
      const chunk = Buffer.alloc(end - start);
      await handle.read(chunk, 0, chunk.length, start);
      let bytes = Buffer.concat([chunk, carry]);
      // The first line of the window may be cut; keep it for the next window unless at the file start.
      const firstNewline = start === 0 ? -1 : bytes.indexOf(NEWLINE);
      carry = start === 0 ? Buffer.alloc(0) : bytes.subarray(0, firstNewline + 1);
      if (start !== 0 && firstNewline === -1) {
        carry = bytes;
        end = start;
        continue;
      }
      bytes = bytes.subarray(firstNewline + 1);
      const lines = bytes.toString('utf8').split('\n');
      for (let i = lines.length - 1; i >= 0 && found.length < query.limit; i--) {
        const record = parseRecord(lines[i]!);
        if (record && query.filter(record)) found.push(record);
      }
      end = start;
    }
    return found;
  } finally {
    await handle.close();
  }
}

function parseRecord(line: string): AuditRecord | null {
  if (line.trim() === '') return null;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as AuditRecord).seq === 'number' ? normaliseAuditRecord(value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
