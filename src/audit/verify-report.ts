import type { KeyObject } from 'node:crypto';
import type { ChainHead } from './chain.js';
import type { Checkpoint } from './checkpoints/checkpoint.js';
import { checkAgainstCheckpoint } from './checkpoints/verify-checkpoint.js';
import { EXIT_BROKEN, EXIT_INTACT, EXIT_UNCHECKED, type CliIo } from './cli.js';
import type { VerifyResult } from './verify.js';

/**
 * What `audit:verify` concludes from a verified chain and what else it was asked to compare it
 * with (the database's chain-head row, a signed checkpoint), and how it says so: stdout for an
 * intact trail, stderr for everything else, one exit code.
 */

export type IntactResult = Extract<VerifyResult, { ok: true }>;

/** Something wrong beyond the chain itself: the trail is broken (1) or could not be checked (2). */
export interface Finding {
  exit: typeof EXIT_BROKEN | typeof EXIT_UNCHECKED;
  reason: string;
}

export interface CheckpointCheckInput {
  checkpoint: Checkpoint;
  publicKey: KeyObject;
  result: IntactResult;
  partial: boolean;
  /** The hash of a record the trail holds (the verified pass's, not a stored column). */
  hashAt(seq: number): Promise<string>;
}

/** Null when the intact trail agrees with the checkpoint. */
export async function checkpointFinding({ checkpoint, publicKey, result, partial, hashAt }: CheckpointCheckInput): Promise<Finding | null> {
  const { start, head } = result;
  if (partial && (result.records === 0 || checkpoint.seq < start.seq)) {
    const reason = result.records === 0
      ? 'the partial trail holds no records'
      : `the checkpoint covers seq ${checkpoint.seq}, before this partial trail begins at seq ${start.seq + 1}: give a checkpoint at seq ${start.seq} or later`;
    return { exit: EXIT_UNCHECKED, reason };
  }
  // At the seq before a partial trail's first record the only hash there is its prevHash, which the checkpoint then confirms.
  const reason = await checkAgainstCheckpoint({ checkpoint, publicKey, head, hashAt: (seq) => (seq === start.seq ? Promise.resolve(start.hash) : hashAt(seq)) });
  return reason === null ? null : { exit: EXIT_BROKEN, reason };
}

/** How the trail was read and what it was compared with, for the report. */
export interface VerifyReport {
  /** 'file' numbers broken lines by line; 'database' by seq (its row in seq order). */
  source: 'file' | 'database';
  result: VerifyResult;
  partial: boolean;
  findings: Finding[];
  /** The checkpoint the trail agreed with, when one was checked. */
  checkpoint: Checkpoint | null;
  /** A line added to the intact report (e.g. which database). */
  note?: string;
}

export function report({ source, result, partial, findings, checkpoint, note }: VerifyReport, io: CliIo): number {
  if (!result.ok) {
    const { line, seq, reason, unchecked } = result.firstBroken;
    const where = source === 'file' ? `line ${line} (seq ${seq ?? 'unknown'})` : `seq ${seq ?? 'unknown'} (row ${line} in seq order)`;
    if (unchecked === true) {
      io.err(`audit trail not checked at ${where}: ${reason}`);
      return EXIT_UNCHECKED;
    }
    io.err(`audit trail BROKEN at ${where}: ${reason}`);
    return EXIT_BROKEN;
  }
  if (findings.length > 0) {
    for (const { exit, reason } of findings) io.err(exit === EXIT_BROKEN ? `audit trail BROKEN: ${reason}` : `audit trail not checked: ${reason}`);
    io.err(`(the records present chain correctly: ${describeIntact(result, partial)})`);
    return findings.some((finding) => finding.exit === EXIT_BROKEN) ? EXIT_BROKEN : EXIT_UNCHECKED;
  }
  io.out(`audit trail intact${partial ? ' (partial)' : ''}: ${describeIntact(result, partial)}`);
  if (note !== undefined) io.out(note);
  if (checkpoint !== null) {
    io.out(`checkpoint agrees: seq ${checkpoint.seq} hash ${checkpoint.hash}, signed ${checkpoint.time} by key ${checkpoint.keyId} (${checkpoint.origin})`);
  }
  if (partial && result.records > 0) io.out(trustNote(result.start, checkpoint !== null));
  return EXIT_INTACT;
}

function describeIntact({ records, head, start }: IntactResult, partial: boolean): string {
  const range = partial && records > 0 ? `, seq ${start.seq + 1}..${head.seq}` : '';
  return `${records} records${range}, head seq ${head.seq} hash ${head.hash}`;
}

function trustNote(start: ChainHead, confirmed: boolean): string {
  if (start.seq === 0) return 'the partial trail begins at seq 1: nothing was taken on trust';
  if (confirmed) return `the first record's prevHash ${start.hash} (the hash of seq ${start.seq}) is confirmed by the checkpoint`;
  return `the first record's prevHash ${start.hash} (the hash of seq ${start.seq}, not in this file) was taken on trust: the records agree among themselves; check them against a checkpoint or the archive before them`;
}
