import type pg from 'pg';
import type { ChainHead } from '../chain.js';
import type { OutboxRoute } from '../outbox-storage.js';
import type { AuditRecord } from '../types.js';
import { RECORD_COLUMNS, recordRow } from './records.js';

/**
 * How a batch of records joins the one chain every KeyDesk process shares: one autocommitted call
 * of `keydesk.append_records` (migrations.ts) per try, so the chain head's row lock is held only
 * inside the server, never across a round trip to a KeyDesk whose event loop may be busy. The
 * batch is sealed on the last head this process knows (its own last append, or the function's
 * answer); the function appends it only if that is still the head, and otherwise answers with the
 * head, on which the batch is sealed again. So seq is gap-free and each prevHash is the hash
 * committed just before. (A PostgreSQL sequence would leave gaps on rollback and cannot number the
 * chain.) With `synchronous_commit` on, the call's answer comes after its commit is durable.
 */

/** Filled in as the batch is appended, so a failure can tell "not written" from "outcome unknown". */
export interface CommitAttempt {
  /** A call is on its way or running: from its sending to its answer, a lost connection leaves the outcome unknown. */
  inFlight: boolean;
  /** The caller gave up (its deadline passed): no call may be sent any more. */
  abandoned: boolean;
  /** The server process running the call in flight, so the look-up can wait for it to end. */
  backendPid: number | null;
}

export function newAttempt(): CommitAttempt {
  return { inFlight: false, abandoned: false, backendPid: null };
}

/** Records whose append went unanswered: they may or may not be in the trail. */
export interface UncertainBatch {
  firstSeq: number;
  lastSeq: number;
  /** The id of the first record: ids are random, so finding it tells this batch from another process's records at the same seq. */
  firstId: string;
  /** The server process that ran the call; null when unknown. */
  backendPid: number | null;
}

const APPEND_SQL = `SELECT appended, head_seq, head_hash FROM keydesk.append_records(${Array.from({ length: 4 + RECORD_COLUMNS.length }, (_, n) => `$${n + 1}`).join(', ')})`;
const READ_HEAD = 'SELECT seq, hash FROM keydesk.chain_head WHERE singleton';

function headOf(row: { seq: string; hash: string } | undefined): ChainHead {
  if (row === undefined) throw new Error('keydesk.chain_head has no row: the schema was not migrated by KeyDesk');
  return { seq: Number(row.seq), hash: row.hash };
}

/** An error the server raised for the statement (not FATAL, not a lost connection): its transaction was rolled back. */
function rolledBack(error: unknown): boolean {
  return (error as { severity?: unknown } | null)?.severity === 'ERROR';
}

/** One call of the function: whether it appended `records` on `expected`, and the head after it. */
async function appendRecords(client: pg.PoolClient, expected: ChainHead, records: readonly AuditRecord[], attempt: CommitAttempt, route: OutboxRoute): Promise<{ appended: boolean; head: ChainHead }> {
  const rows = records.map((record) => recordRow(record));
  const columns = RECORD_COLUMNS.map((column) => rows.map((row) => row[column]));
  // The outbox rows go in with the records, in the same statement (migration 3).
  const outboxChannels = records.map((record) => route(record).join(','));
  attempt.inFlight = true;
  attempt.backendPid = (client as unknown as { processID: number | null }).processID;
  let answer: pg.QueryResult<{ appended: boolean; head_seq: string; head_hash: string }>;
  try {
    answer = await client.query(APPEND_SQL, [expected.seq, expected.hash, records.at(-1)!.hash, ...columns, outboxChannels]);
  } catch (error) {
    if (rolledBack(error)) attempt.inFlight = false;
    throw error;
  }
  attempt.inFlight = false;
  const row = answer.rows[0];
  return { appended: row?.appended === true, head: headOf(row && { seq: row.head_seq, hash: row.head_hash }) };
}

/**
 * Seals the batch on `known` (or, when null, on the head read now) with `seal`, which assigns seq,
 * id, time and prevHash in order, and appends it; sealed again on the head the function answers
 * with whenever another process appended first. Resolves once the append is committed, with the
 * records and the new head; the caller's deadline bounds the tries.
 */
export async function commitBatch(
  client: pg.PoolClient,
  known: ChainHead | null,
  seal: (head: ChainHead) => AuditRecord[],
  attempt: CommitAttempt,
  route: OutboxRoute = () => [],
): Promise<{ records: AuditRecord[]; head: ChainHead }> {
  let head = known ?? headOf((await client.query<{ seq: string; hash: string }>(READ_HEAD)).rows[0]);
  for (;;) {
    const records = seal(head);
    if (records.length === 0) return { records, head };
    if (attempt.abandoned) throw new Error('the batch was abandoned before it was sent');
    const answer = await appendRecords(client, head, records, attempt, route);
    if (answer.appended) return { records, head: answer.head };
    head = answer.head;
  }
}

/**
 * Whether an uncertain batch is in the trail. The server process that ran its call must have
 * ended first (it goes on until its statement is done, even once KeyDesk has dropped the
 * connection): throws while it is still running, to be asked again. Taking the head's row lock
 * then waits out any transaction still finishing; after that, the first record's id is either at
 * its seq (the whole batch landed: one transaction) or nowhere.
 */
export async function batchLanded(client: pg.PoolClient, batch: UncertainBatch): Promise<{ landed: boolean; head: ChainHead }> {
  if (batch.backendPid !== null) {
    const { rows } = await client.query<{ running: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND pid <> pg_backend_pid() AND state <> 'idle') AS running`,
      [batch.backendPid],
    );
    if (rows[0]?.running === true) throw new Error(`the server process of the unanswered append (pid ${batch.backendPid}) is still running`);
  }
  try {
    const results = (await client.query(`BEGIN; ${READ_HEAD} FOR UPDATE`)) as unknown as pg.QueryResult<{ seq: string; hash: string }>[];
    const head = headOf(results[1]?.rows[0]);
    const { rows } = await client.query<{ seq: string }>('SELECT seq FROM keydesk.audit_records WHERE id = $1', [batch.firstId]);
    return { landed: rows[0] !== undefined && Number(rows[0].seq) === batch.firstSeq, head };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}
