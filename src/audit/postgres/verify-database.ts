import type pg from 'pg';
import { readChainLink, type ChainHead } from '../chain.js';
import { parseCheckpoint, type Checkpoint } from '../checkpoints/checkpoint.js';
import type { AuditRecord } from '../types.js';
import { verifyTrailLines, type TrailLine, type VerifyResult } from '../verify.js';
import { RECORD_COLUMNS, recordRow, type RecordRow } from './records.js';
import { checkSchemaVersion, inSnapshot, readChainHeadRow, ToolDatabaseError, trailRows } from './tool-database.js';

/**
 * Verifies the database trail with the file verifier: the `line` column, streamed in seq order,
 * is the file KeyDesk would have written. Beyond the chain, each row's columns must say what its
 * record says (a changed `requester_upn` would make `query` lie while the line still verifies),
 * and the chain-head row must name the last record.
 */

export interface DatabaseVerification<T> {
  result: VerifyResult;
  /** Why the chain-head row disagrees with an intact chain; null when it agrees or the chain is broken. */
  headProblem: string | null;
  /** The checkpoint `work` was given: the one asked for, or the newest in keydesk.audit_checkpoints. */
  checkpoint: Checkpoint | null;
  /** What `afterwards` returned, computed in the same snapshot; undefined without one. */
  afterwards: T | undefined;
}

/** Reads the hash of a record the pass has verified. */
export type HashAt = (seq: number) => Promise<string>;

export interface DatabaseVerifyOptions<T> {
  hmacKey: Buffer | null;
  /** Also read the newest row of keydesk.audit_checkpoints. */
  readStoredCheckpoint: boolean;
  /** Runs in the same snapshot once the chain is verified; `hashAt` reads a verified record's hash. */
  afterwards?: (result: VerifyResult, checkpoint: Checkpoint | null, hashAt: HashAt) => Promise<T>;
}

/** A row as pg reads it: bigint as a string, timestamptz as a Date. */
type StoredRow = Record<Exclude<(typeof RECORD_COLUMNS)[number], 'seq' | 'time' | 'line'>, string | null> & { seq: string; time: Date; line: string };

const ROW_COLUMNS = RECORD_COLUMNS.map((column) => (column === 'id' ? 'id::text AS id' : column)).join(', ');

export async function verifyDatabaseTrail<T>(client: pg.Client, options: DatabaseVerifyOptions<T>): Promise<DatabaseVerification<T>> {
  await checkSchemaVersion(client);
  return inSnapshot(client, async () => {
    const headRow = await readChainHeadRow(client);
    const checkpoint = options.readStoredCheckpoint ? await readStoredCheckpoint(client) : null;
    const position = { seq: 0 };
    let result = await verifyTrailLines(rowLines(client, position), options.hmacKey);
    // A line that is not a record claims no seq; its row's primary key still says where it is.
    if (!result.ok && result.firstBroken.seq === null) result = { ...result, firstBroken: { ...result.firstBroken, seq: position.seq } };
    const headProblem = result.ok ? compareHeadRow(headRow, result.head) : null;
    const afterwards = await options.afterwards?.(result, checkpoint, (seq) => hashAt(client, seq));
    return { result, headProblem, checkpoint, afterwards };
  });
}

async function* rowLines(client: pg.Client, position: { seq: number }): AsyncGenerator<TrailLine> {
  for await (const row of trailRows<StoredRow>(client, ROW_COLUMNS)) {
    position.seq = Number(row.seq);
    yield { bytes: Buffer.from(row.line, 'utf8'), terminated: true, check: (record) => compareColumns(row, recordRow(record as unknown as AuditRecord, row.line)) };
  }
}

/** Null when every column holds what the record says; otherwise the first that does not. */
function compareColumns(row: StoredRow, expected: RecordRow): string | null {
  for (const column of RECORD_COLUMNS) {
    if (column === 'line') continue;
    const held = column === 'time' ? row.time.toISOString() : row[column];
    const says = expected[column] ?? null;
    if (!sameValue(column, held, says)) {
      return `the row's ${column} column holds ${JSON.stringify(held)}, but its record says ${JSON.stringify(says)}: the row was changed after it was written`;
    }
  }
  return null;
}

function sameValue(column: string, held: string | null, says: string | number | null): boolean {
  if (held === null || says === null) return held === says;
  if (column === 'time') return Date.parse(held) === Date.parse(String(says));
  if (column === 'id') return held.toLowerCase() === String(says).toLowerCase();
  return held === String(says);
}

/** Null when the chain-head row names the trail's last record. */
function compareHeadRow(row: ChainHead, head: ChainHead): string | null {
  if (row.seq > head.seq) {
    return `the chain_head row says the trail goes on to seq ${row.seq}, but it ends at seq ${head.seq}: records ${head.seq + 1}..${row.seq} missing`;
  }
  if (row.seq < head.seq) {
    return `the chain_head row says seq ${row.seq}, but the trail goes on to seq ${head.seq}: records ${row.seq + 1}..${head.seq} were added without moving the chain head`;
  }
  if (row.hash !== head.hash) return `the chain_head row says hash ${row.hash} at seq ${row.seq}, but that record's hash is ${head.hash}`;
  return null;
}

async function readStoredCheckpoint(client: pg.Client): Promise<Checkpoint | null> {
  const { rows } = await client.query<{ seq: string; line: string }>('SELECT seq, line FROM keydesk.audit_checkpoints ORDER BY seq DESC LIMIT 1');
  const row = rows[0];
  if (row === undefined) return null;
  try {
    return parseCheckpoint(row.line.replace(/\n$/, ''));
  } catch (error) {
    throw new ToolDatabaseError(`the newest row of keydesk.audit_checkpoints (seq ${row.seq}) is not a checkpoint: ${(error as Error).message}`);
  }
}

/** The hash in the line at `seq`, which the pass over the trail has verified in this snapshot. */
async function hashAt(client: pg.Client, seq: number): Promise<string> {
  const { rows } = await client.query<{ line: string }>('SELECT line FROM keydesk.audit_records WHERE seq = $1', [seq]);
  const link = rows[0] === undefined ? null : readChainLink(JSON.parse(rows[0].line));
  if (link === null) throw new ToolDatabaseError(`the record at seq ${seq} could not be read back`);
  return link.hash;
}
