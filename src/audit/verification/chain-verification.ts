import { open } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import type { ChainHead } from '../chain.js';
import type { Checkpoint } from '../checkpoints/checkpoint.js';
import { checkpointFileOf, readLastCheckpoint } from '../checkpoints/checkpoint-file.js';
import { checkAgainstCheckpoint } from '../checkpoints/verify-checkpoint.js';
import { readPrivateJson, replaceFileAtomically } from '../file/private-json-file.js';
import { readLines, verifyTrailLines, type BrokenLink, type TrailLine, type VerifyResult } from '../verify.js';

/**
 * The background verification of the audit chain (run by the leader, see
 * jobs/chain-verification-job.ts) and where its results are kept, so that a request reads the
 * latest result and never walks the chain itself. Each run verifies the whole chain: an edit to
 * a record verified yesterday must show today.
 */

export interface CheckpointAgreement {
  seq: number;
  hash: string;
  time: string;
  /** Null without a public key to check the signature with (AUDIT_SIGNING_KEY_PATH unset). */
  agrees: boolean | null;
  problem: string | null;
}

export interface ChainVerification {
  intact: boolean;
  records: number;
  head: ChainHead | null;
  firstBroken: BrokenLink | null;
  verifiedAt: string;
  checkpoint: CheckpointAgreement | null;
}

/** Where results are kept: a file beside the trail (the file store), or a table every instance reads. */
export interface VerificationLog {
  latest(): Promise<ChainVerification | null>;
  record(verification: ChainVerification): Promise<void>;
}

/** What is shown before the first run: every member null, so no one mistakes "not yet checked" for "intact". */
export type NoVerificationYet = { [K in keyof ChainVerification]: null };

/** The latest verification as the API and the audit page show it. */
export async function latestVerification(log: VerificationLog): Promise<ChainVerification | NoVerificationYet> {
  return (await log.latest()) ?? { intact: null, records: null, head: null, firstBroken: null, verifiedAt: null, checkpoint: null };
}

/** Where the file store keeps its latest verification, so a restart still answers it. */
export function verificationFileOf(auditFile: string): string {
  return `${auditFile}.verification.json`;
}

/**
 * The file store's log: the latest result in `<AUDIT_FILE>.verification.json` (0600, replaced
 * atomically), cached in memory: one process per audit file writes and reads it.
 */
export function fileVerificationLog(auditFile: string): VerificationLog {
  const path = verificationFileOf(auditFile);
  let last: ChainVerification | null | undefined;
  return {
    latest: async () => {
      last ??= await readPrivateJson(path, (value) => value as ChainVerification, 'delete it; the leader verifies the chain again within AUDIT_VERIFY_INTERVAL_MINUTES of starting');
      return last;
    },
    record: async (verification) => {
      await replaceFileAtomically(path, `${JSON.stringify(verification)}\n`);
      last = verification;
    },
  };
}

export function memoryVerificationLog(): VerificationLog {
  let last: ChainVerification | null = null;
  return {
    latest: async () => last,
    record: async (verification) => {
      last = verification;
    },
  };
}

/** A verification result, with the checkpoint's agreement, as stored. */
export function verificationOf(result: VerifyResult, verifiedAt: Date, checkpoint: CheckpointAgreement | null, headProblem: string | null = null): ChainVerification {
  if (!result.ok) return { intact: false, records: result.records, head: null, firstBroken: result.firstBroken, verifiedAt: verifiedAt.toISOString(), checkpoint };
  const broken = headProblem === null ? null : { line: result.records, seq: result.head.seq, reason: headProblem };
  return { intact: broken === null, records: result.records, head: result.head, firstBroken: broken, verifiedAt: verifiedAt.toISOString(), checkpoint };
}

/** How the chain stands against its newest checkpoint. */
export async function checkpointAgreement(checkpoint: Checkpoint | null, result: VerifyResult, publicKey: KeyObject | null, hashAt: (seq: number) => Promise<string>): Promise<CheckpointAgreement | null> {
  if (checkpoint === null) return null;
  const base = { seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time };
  if (!result.ok) return { ...base, agrees: false, problem: 'the chain is broken before the checkpoint could be compared' };
  if (publicKey === null) return { ...base, agrees: null, problem: null };
  const problem = await checkAgainstCheckpoint({ checkpoint, publicKey, head: result.head, hashAt });
  return { ...base, agrees: problem === null, problem };
}

/**
 * Verifies the first `head.seq` lines of the trail file: the records durable when the run began
 * (a record being written meanwhile is not yet a line to judge). The last one verified must be
 * the head the trail holds, or the file was cut or rewritten under it.
 */
export async function verifyFileChain(file: string, head: ChainHead, hmacKey: Buffer | null, publicKey: KeyObject | null, now: () => Date): Promise<ChainVerification> {
  const checkpoint = await readLastCheckpoint(checkpointFileOf(file)).catch(() => null);
  let checkpointHash: string | null = null;
  const handle = await open(file, 'r');
  let result: VerifyResult;
  try {
    result = await verifyTrailLines(firstLines(readLines(handle), head.seq), hmacKey, {
      onRecord: ({ link }) => {
        if (link.seq === checkpoint?.seq) checkpointHash = link.hash;
      },
    });
  } finally {
    await handle.close();
  }
  const headProblem = result.ok && (result.head.seq !== head.seq || result.head.hash !== head.hash) ? `the trail file ends at seq ${result.head.seq}, but KeyDesk wrote up to seq ${head.seq}: records were cut off or rewritten` : null;
  const agreement = await checkpointAgreement(checkpoint, result, publicKey, async () => checkpointHash ?? '');
  return verificationOf(result, now(), agreement, headProblem);
}

async function* firstLines(lines: AsyncIterable<TrailLine>, count: number): AsyncGenerator<TrailLine> {
  if (count === 0) return;
  let seen = 0;
  for await (const line of lines) {
    yield line;
    seen += 1;
    if (seen >= count) return;
  }
}
