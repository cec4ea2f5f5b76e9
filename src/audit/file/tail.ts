import { basename, dirname } from 'node:path';
import { KeyDeskProblem } from '../../problem/problem.js';
import { readChainLink, type ChainLink } from '../chain.js';
import { PRIVATE_FILE_MODE } from './permissions.js';
import { readAt, syncDirectory, writeAll, type AuditFileHandle, type AuditFileSystem } from './file-system.js';

/**
 * Start-up reading of the audit file's end. Only the tail is read, so start-up time does not
 * grow with the trail; checking every record is `audit:verify`'s job.
 */

export interface LastRecord {
  link: ChainLink;
  record: Record<string, unknown>;
}

export interface AuditTail {
  /** The record the chain continues from; null when the file holds none. */
  last: LastRecord | null;
  /** Where the intact lines end. */
  goodSize: number;
  /** The bytes after `goodSize`: a write a crash tore, to be moved aside rather than chained over. */
  torn: Buffer;
}

export interface MovedTail {
  tornPath: string;
  /** Name of the file holding the torn bytes, beside the audit file: paths change, names stay. */
  tornFile: string;
  tornBytes: number;
  lastGoodSeq: number;
}

const NEWLINE = 0x0a;
const FIRST_WINDOW = 64 * 1024;

/**
 * Finds the last intact record. One write holds whole lines, so a crash can tear only the last
 * line: it is either missing its newline or not a record. Anything worse is damage a person must
 * look at, so it stops start-up instead of being moved aside.
 */
export async function readAuditTail(handle: AuditFileHandle, size: number, file: string): Promise<AuditTail> {
  const { bytes, start } = await readLastLines(handle, size);
  const endsWithNewline = bytes.at(-1) === NEWLINE;
  let cut = endsWithNewline ? bytes.length : bytes.lastIndexOf(NEWLINE) + 1;
  let line = lineEndingAt(bytes, cut);
  if (endsWithNewline && line !== null && parseRecordLine(line.text) === null) {
    cut = line.start;
    line = lineEndingAt(bytes, cut);
  }
  const last = line === null ? null : parseRecordLine(line.text);
  if (line !== null && last === null) {
    throw new KeyDeskProblem(
      'audit_unavailable',
      `The audit file ${file} is damaged at byte ${start + line.start}: more than its last line is not a record, ` +
        'which a crash cannot cause. Run `npm run audit:verify -- <file>`, keep the file as evidence, and start a new one.',
    );
  }
  return { last, goodSize: start + cut, torn: bytes.subarray(cut) };
}

/**
 * Copies the torn bytes to `<file>.torn-<time>` (0600) and cuts them off the audit file. The copy is
 * durable before the cut, so a crash between the two loses nothing.
 */
export async function moveTornTailAside(
  fileSystem: AuditFileSystem,
  handle: AuditFileHandle,
  file: string,
  tail: AuditTail,
  now: Date,
): Promise<MovedTail> {
  const tornPath = `${file}.torn-${now.toISOString().replaceAll(':', '-')}`;
  // 'wx': an earlier torn file is evidence too and is never overwritten.
  const torn = await fileSystem.open(tornPath, 'wx', PRIVATE_FILE_MODE);
  try {
    await torn.chmod(PRIVATE_FILE_MODE);
    await writeAll(torn, tail.torn);
    await torn.sync();
  } finally {
    await torn.close();
  }
  await syncDirectory(fileSystem, dirname(file));
  await handle.truncate(tail.goodSize);
  await handle.sync();
  return { tornPath, tornFile: basename(tornPath), tornBytes: tail.torn.length, lastGoodSeq: tail.last?.link.seq ?? 0 };
}

/** Reads back from the end until the last three lines are whole (or the file start is reached). */
async function readLastLines(handle: AuditFileHandle, size: number): Promise<{ bytes: Buffer; start: number }> {
  for (let window = FIRST_WINDOW; ; window *= 2) {
    const start = Math.max(0, size - window);
    const bytes = await readAt(handle, start, size - start);
    if (start === 0 || countNewlines(bytes) >= 3) return { bytes, start };
  }
}

/** The line whose newline is the byte before `end`; null when `end` is the buffer start. */
function lineEndingAt(bytes: Buffer, end: number): { start: number; text: Buffer } | null {
  if (end === 0) return null;
  // Buffer#lastIndexOf counts a negative offset from the end, so the first line needs a guard.
  const start = end >= 2 ? bytes.lastIndexOf(NEWLINE, end - 2) + 1 : 0;
  return { start, text: bytes.subarray(start, end - 1) };
}

function parseRecordLine(text: Buffer): LastRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch {
    return null;
  }
  const link = readChainLink(value);
  return link === null ? null : { link, record: value as Record<string, unknown> };
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}
