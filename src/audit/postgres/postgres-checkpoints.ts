import type pg from 'pg';
import { checkpointLine, parseCheckpoint, type Checkpoint } from '../checkpoints/checkpoint.js';
import type { CheckpointLog } from '../checkpoints/checkpointer.js';
import type { ReadRows } from './postgres-query.js';

/**
 * The PostgreSQL store's checkpoints: `keydesk.audit_checkpoints`, one row per signed head, `line`
 * holding the line the file store would append (without its newline). Two leaders signing the
 * same head (one taking over from the other) write the row once: the second insert is a no-op.
 */

const WRITE_TIMEOUT_MS = 5_000;

export function postgresCheckpointLog(db: { read: ReadRows; pool: pg.Pool }): CheckpointLog {
  return {
    async last() {
      const rows = await db.read<{ seq: string; line: string }>('SELECT seq, line FROM keydesk.audit_checkpoints ORDER BY seq DESC LIMIT 1', []);
      if (rows[0] === undefined) return null;
      try {
        return parseCheckpoint(rows[0].line);
      } catch (error) {
        throw new Error(`the last checkpoint in keydesk.audit_checkpoints (seq ${rows[0].seq}) is not a checkpoint: ${(error as Error).message}`);
      }
    },
    async append(checkpoint: Checkpoint) {
      const line = checkpointLine(checkpoint).replace(/\n$/, '');
      await db.pool.query({
        text: 'INSERT INTO keydesk.audit_checkpoints (seq, hash, time, line) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING',
        values: [checkpoint.seq, checkpoint.hash, checkpoint.time, line],
        query_timeout: WRITE_TIMEOUT_MS,
      } as pg.QueryConfig);
    },
  };
}
