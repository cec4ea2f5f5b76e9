import { KeyDeskProblem } from '../problem/problem.js';
import { sealRecord, type ChainHead } from './chain.js';
import type { AuditLogger } from './file/start-up.js';
import type { AuditEntry, AuditRecord } from './types.js';

/** What both stores do with a batch of appends (group commit): seal it onto a head, and settle it once durable. */

export interface QueuedAppend {
  entry: AuditEntry;
  resolve(record: AuditRecord): void;
  reject(error: KeyDeskProblem): void;
}

export interface SealedAppend<P extends QueuedAppend = QueuedAppend> {
  pending: P;
  record: AuditRecord;
}

export interface Sealer {
  hmacKey: Buffer | null;
  newId: () => string;
  clock: () => Date;
}

/** Assigns seq and prevHash from `head` in queue order; an entry that cannot be stored is refused alone. */
export function sealBatch<P extends QueuedAppend>(batch: readonly P[], head: ChainHead, sealer: Sealer): SealedAppend<P>[] {
  const sealed: SealedAppend<P>[] = [];
  let previous = head;
  for (const pending of batch) {
    try {
      const position = { seq: previous.seq + 1, id: sealer.newId(), time: sealer.clock().toISOString(), prevHash: previous.hash };
      const record = sealRecord(pending.entry, position, sealer.hmacKey);
      sealed.push({ pending, record });
      previous = record;
    } catch (error) {
      const detail = 'The audit entry cannot be stored as JSON, so KeyDesk will not disclose; this is a KeyDesk bug.';
      pending.reject(new KeyDeskProblem('audit_unavailable', detail, { cause: error }));
    }
  }
  return sealed;
}

/** Logs the new head and resolves each append with its record; returns the head. */
export function settleDurable(sealed: readonly SealedAppend[], logger: AuditLogger): ChainHead {
  const last = sealed[sealed.length - 1]!.record;
  // The head in the service log is what reveals a trail cut short at its end (see verify.ts).
  logger.info({ audit: { seq: last.seq, hash: last.hash } }, 'audit chain head');
  for (const { pending, record } of sealed) pending.resolve(record);
  return { seq: last.seq, hash: last.hash };
}
