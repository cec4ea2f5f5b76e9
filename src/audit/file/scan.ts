import { KeyDeskProblem } from '../../problem/problem.js';
import { readAt, type AuditFileHandle } from './file-system.js';
import type { LineNeedle } from './line-filter.js';

/**
 * Reads the trail file backwards in large windows and hands over its lines newest first, only
 * those that hold every needle. A window is searched as a whole for the first needle (a native
 * string search), so a query whose values are rare parses a handful of lines per megabyte, and
 * no byte cap ever stops the scan short of the file's start.
 */

export interface ScannedLine {
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** The line as stored, without its newline. */
  bytes: Buffer;
}

const WINDOW_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/** `end` must be a line boundary: the durable size of the file, or a line start from a cursor. */
export async function* scanBackwards(handle: AuditFileHandle, end: number, needles: readonly LineNeedle[]): AsyncGenerator<ScannedLine> {
  let windowBytes = WINDOW_BYTES;
  while (end > 0) {
    const start = Math.max(0, end - windowBytes);
    const bytes = await readAt(handle, start, end - start);
    if (bytes.length !== end - start) throw trailShrunk();
    // The window's first line may begin before the window: it is read again with the next one.
    const first = start === 0 ? 0 : bytes.indexOf(NEWLINE) + 1;
    if (first === 0 && start !== 0) {
      windowBytes *= 2; // a line longer than the window
      continue;
    }
    yield* candidateLines(bytes.subarray(first), start + first, needles);
    end = start + first;
    windowBytes = WINDOW_BYTES;
  }
}

/** The lines of a window of whole lines that hold every usable needle, last line first. */
function* candidateLines(window: Buffer, offset: number, needles: readonly LineNeedle[]): Generator<ScannedLine> {
  const text = window.toString('latin1');
  const usable = needles.filter((needle) => needle.usableIn(text));
  const starts = usable.length === 0 ? lineStarts(text) : lineStartsHolding(text, usable[0]!);
  const rest = usable.slice(1);
  for (let index = starts.length - 1; index >= 0; index -= 1) {
    const start = starts[index]!;
    const end = lineEnd(text, start);
    if (rest.length > 0) {
      const line = text.slice(start, end);
      if (!rest.every((needle) => needle.within(line))) continue;
    }
    yield { offset: offset + start, bytes: window.subarray(start, end) };
  }
}

function lineStarts(text: string): number[] {
  const starts: number[] = [];
  for (let start = 0; start < text.length; start = lineEnd(text, start) + 1) starts.push(start);
  return starts;
}

/** Starts of the lines where `needle` occurs, each once, in file order. */
function lineStartsHolding(text: string, needle: LineNeedle): number[] {
  const starts: number[] = [];
  for (let at = needle.find(text, 0); at !== -1; ) {
    const start = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
    const end = lineEnd(text, at);
    starts.push(start);
    at = end + 1 < text.length ? needle.find(text, end + 1) : -1;
  }
  return starts;
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end === -1 ? text.length : end;
}

/** The file ends before the size the trail knows durable. */
export function trailShrunk(): KeyDeskProblem {
  return new KeyDeskProblem(
    'audit_unavailable',
    'The audit file is shorter than the records KeyDesk wrote to it: it was truncated or replaced while KeyDesk ran. Run npm run audit:verify and restart KeyDesk.',
  );
}
