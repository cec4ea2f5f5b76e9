import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { KeyDeskProblem, isProblem } from '../../problem/problem.js';
import { GENESIS_HASH, type ChainHead } from '../chain.js';
import { checkChainKey } from '../chain-key.js';
import { auditEntry } from '../entry.js';
import type { AuditEntry } from '../types.js';
import { syncDirectory, type AuditFileHandle, type AuditFileSystem } from './file-system.js';
import { PRIVATE_FILE_MODE, makePrivateFolder, warnAboutSharedModes } from './permissions.js';
import { moveTornTailAside, readAuditTail, type MovedTail } from './tail.js';

/**
 * Opening the trail file: create it (0600, in a 0700 folder) or open it for appending, warn
 * about modes others can use, and find where the chain continues. Only the file's end is read,
 * so start-up time does not grow with the trail.
 */

export type AuditLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface LoadedChain {
  head: ChainHead;
  /** Bytes of the file that hold whole, durable records. */
  size: number;
  /** The torn last line moved aside at this start-up; null when the file ended cleanly. */
  moved: MovedTail | null;
}

export async function openAuditFile(fileSystem: AuditFileSystem, file: string, logger: AuditLogger): Promise<AuditFileHandle> {
  try {
    await makePrivateFolder(dirname(file));
    const handle = await openOrCreate(fileSystem, file);
    await syncDirectory(fileSystem, dirname(file));
    await warnAboutSharedModes(file, logger);
    return handle;
  } catch (error) {
    throw asUnavailable(error, `The audit file ${file} could not be opened for appending`);
  }
}

/** 'a+': appends always land at the end, and the file can still be read (the tail, queries). */
async function openOrCreate(fileSystem: AuditFileSystem, file: string): Promise<AuditFileHandle> {
  let handle: AuditFileHandle;
  try {
    handle = await fileSystem.open(file, 'ax+', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return fileSystem.open(file, 'a+');
  }
  await handle.chmod(PRIVATE_FILE_MODE);
  return handle;
}

/** Finds where the chain continues, moving a torn last line aside first: never chain over it. */
export async function loadChain(
  fileSystem: AuditFileSystem,
  handle: AuditFileHandle,
  options: { file: string; hmacKey: Buffer | null; logger: AuditLogger; clock: () => Date },
): Promise<LoadedChain> {
  const { size } = await handle.stat();
  const tail = await readAuditTail(handle, size, options.file);
  // Before a torn tail is moved aside: a start refused for its key must leave the file as it was,
  // so the start that succeeds still records the recovery. Only the record the chain continues
  // from is checked here; `audit:verify` checks them all.
  if (tail.last !== null) {
    checkChainKey(tail.last.record, options.hmacKey, {
      name: `the audit file ${options.file}`,
      newTrail: 'give KeyDesk a new AUDIT_FILE (keeping this one for audit:verify)',
    });
  }
  let moved: MovedTail | null = null;
  if (tail.torn.length > 0) {
    moved = await moveTornTailAside(fileSystem, handle, options.file, tail, options.clock());
    options.logger.warn(
      { audit: { tornFile: moved.tornPath, tornBytes: moved.tornBytes } },
      `the audit file ended in a torn write (a crash mid-write); moved ${moved.tornBytes} bytes to ${moved.tornPath}`,
    );
  }
  if (tail.last === null) return { head: { seq: 0, hash: GENESIS_HASH }, size: tail.goodSize, moved };
  return { head: { seq: tail.last.link.seq, hash: tail.last.link.hash }, size: tail.goodSize, moved };
}

export function chainRecoveredEntry(moved: MovedTail): AuditEntry {
  return auditEntry({
    action: 'chain_recovered',
    outcome: 'recovered',
    code: null,
    details: { tornFile: moved.tornFile, tornBytes: moved.tornBytes, lastGoodSeq: moved.lastGoodSeq },
  });
}

export function asUnavailable(error: unknown, detail: string): KeyDeskProblem {
  if (isProblem(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new KeyDeskProblem('audit_unavailable', `${detail}: ${reason}`, { cause: error });
}
