import type pg from 'pg';
import type { ChainHead } from '../chain.js';
import type { AuditRecord } from '../types.js';
import { RECORD_COLUMNS, insertRecordsSql, recordParameters, recordRow } from './records.js';

/**
 * The transaction that appends a batch of records to the one chain every KeyDesk process shares.
 * The chain head comes from its row, taken `FOR UPDATE`, never from memory: another process may
 * have appended since, and the row lock makes each batch wait for the one before it, so seq is
 * gap-free and each prevHash is the hash committed just before. (A PostgreSQL sequence would
 * leave gaps on rollback and cannot number the chain.)
 */

/** Filled in as the transaction proceeds, so a failure can tell "not written" from "outcome unknown". */
export interface CommitAttempt {
  /** COMMIT was sent: from here a lost connection leaves the outcome unknown. */
  commitSent: boolean;
  /** The caller gave up (its deadline passed): COMMIT must not be sent any more. */
  abandoned: boolean;
}

/** Records whose COMMIT went unanswered: they may or may not be in the trail. */
export interface UncertainBatch {
  firstSeq: number;
  lastSeq: number;
  /** The id of the first record: ids are random, so finding it tells this batch from another process's records at the same seq. */
  firstId: string;
}

const LOCK_HEAD = 'SELECT seq, hash FROM keydesk.chain_head WHERE singleton FOR UPDATE';

/** A multi-row INSERT and the head's move, as one statement (one round trip). */
function appendSql(count: number): string {
  const after = count * RECORD_COLUMNS.length;
  return `WITH appended AS (${insertRecordsSql(count)}) UPDATE keydesk.chain_head SET seq = $${after + 1}, hash = $${after + 2} WHERE singleton`;
}

async function lockedHead(client: pg.PoolClient): Promise<ChainHead> {
  // BEGIN and the lock in one round trip (the simple protocol runs both and answers once).
  const results = (await client.query(`BEGIN; ${LOCK_HEAD}`)) as unknown as pg.QueryResult<{ seq: string; hash: string }>[];
  const row = results[1]?.rows[0];
  if (row === undefined) throw new Error('keydesk.chain_head has no row: the schema was not migrated by KeyDesk');
  return { seq: Number(row.seq), hash: row.hash };
}

/**
 * Seals the batch onto the locked head (`seal` assigns seq, id, time and prevHash in order),
 * inserts it, moves the head and commits. Resolves only once COMMIT has answered.
 */
export async function commitBatch(client: pg.PoolClient, seal: (head: ChainHead) => AuditRecord[], attempt: CommitAttempt): Promise<AuditRecord[]> {
  const head = await lockedHead(client);
  const records = seal(head);
  if (records.length === 0) {
    await client.query('ROLLBACK');
    return records;
  }
  const last = records[records.length - 1]!;
  await client.query(appendSql(records.length), [...recordParameters(records.map((record) => recordRow(record))), last.seq, last.hash]);
  if (attempt.abandoned) throw new Error('the batch was abandoned before COMMIT');
  attempt.commitSent = true;
  await client.query('COMMIT');
  return records;
}

/**
 * Whether an uncertain batch is in the trail. Taking the head's row lock first waits out the
 * transaction that wrote it, should the server still be finishing it; after that, the first
 * record's id is either at its seq (the whole batch landed: one transaction) or nowhere.
 */
export async function batchLanded(client: pg.PoolClient, batch: UncertainBatch): Promise<{ landed: boolean; head: ChainHead }> {
  try {
    const head = await lockedHead(client);
    const { rows } = await client.query<{ seq: string }>('SELECT seq FROM keydesk.audit_records WHERE id = $1', [batch.firstId]);
    return { landed: rows[0] !== undefined && Number(rows[0].seq) === batch.firstSeq, head };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}
