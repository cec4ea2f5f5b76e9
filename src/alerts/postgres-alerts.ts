import type pg from 'pg';
import type { AuditRecord } from '../audit/types.js';
import { describeDatabaseError } from '../audit/postgres/connection.js';
import type { AlertBackend } from './alert-backend.js';
import type { AlertCheck, SubjectColumn } from './alert-rules.js';

/**
 * Alerts across every instance on one database. Counts come from the trail itself (the indexed
 * columns of keydesk.audit_records, lower-cased), so a disclosure made through any instance counts
 * once its record is committed, which is before it is counted. Claims are rows of
 * keydesk.alert_windows (migration 4), one per rule and subject: a claim inserts the row, or moves
 * its window_start forward only when the last claim is at least one window old, in one statement.
 * Two instances claiming at the same moment meet on the primary key; the second waits for the
 * first's row and finds it inside the window, so exactly one raises the alert.
 */

const COLUMNS: ReadonlySet<SubjectColumn> = new Set(['agent_upn', 'caller_oid', 'caller_app_id', 'device_id']);

const CLAIM_SQL = `
INSERT INTO keydesk.alert_windows AS w (rule, subject, window_start) VALUES ($1, $2, $3)
ON CONFLICT (rule, subject) DO UPDATE SET window_start = EXCLUDED.window_start
  WHERE w.window_start <= EXCLUDED.window_start - make_interval(secs => $4::double precision / 1000)
RETURNING true AS claimed`;

// -infinity: the next record may claim again at once.
const RELEASE_SQL = `UPDATE keydesk.alert_windows SET window_start = '-infinity' WHERE rule = $1 AND subject = $2 AND window_start = $3`;

// -infinity (a released claim) comes back as -Infinity, which the caller ignores.
const CLAIMED_AT_SQL = `SELECT extract(epoch FROM window_start) * 1000 AS ms FROM keydesk.alert_windows WHERE rule = $1 AND subject = $2`;

/** Counting and claiming are small indexed statements; they must not hold a connection for long. */
const STATEMENT_TIMEOUT_MS = 5_000;

function countSql(column: SubjectColumn, appOnly: boolean): string {
  // The column comes from a fixed list (never input); the values are parameters.
  if (!COLUMNS.has(column)) throw new Error(`not a subject column: ${column}`);
  // The subject's index is (column, seq): the lowest seq of the window (from the (time, seq)
  // index) bounds the scan to the window instead of every record the subject ever had.
  // $6 (null: no bound) stops the scan once that many are found.
  return `SELECT count(*)::int AS n FROM (SELECT 1 FROM keydesk.audit_records
    WHERE ${column} = $1 AND seq >= (SELECT coalesce(min(seq), 0) FROM keydesk.audit_records WHERE time > $3)
      AND seq <= $5 AND action = 'disclosure' AND outcome = $2 AND time > $3 AND time <= $4
      ${appOnly ? `AND (line::jsonb #>> '{caller,kind}') = 'app'` : ''}
    LIMIT $6) AS counted`;
}

export class PostgresAlertBackend implements AlertBackend {
  readonly countsTheTrail = true;
  readonly #pool: pg.Pool;
  readonly #url: string;

  constructor(pool: pg.Pool, url: string) {
    this.#pool = pool;
    this.#url = url;
  }

  async count(check: AlertCheck, record: AuditRecord, atMost?: number): Promise<number> {
    const to = Date.parse(record.time);
    const { rows } = await this.#query<{ n: number }>(countSql(check.subject.column, check.subject.appOnly), [
      check.subject.value,
      check.counted?.outcome ?? 'granted',
      new Date(to - check.windowMs).toISOString(),
      record.time,
      // Records written after this one (the same millisecond, while it was evaluated) are not its window's.
      record.seq,
      atMost ?? null,
    ]);
    return rows[0]?.n ?? 0;
  }

  async claim(check: AlertCheck, atMs: number): Promise<boolean> {
    const { rows } = await this.#query(CLAIM_SQL, [check.rule, check.subject.id, new Date(atMs).toISOString(), check.windowMs]);
    return rows.length === 1;
  }

  async claimedAt(check: AlertCheck): Promise<number | null> {
    const { rows } = await this.#query<{ ms: string | number | null }>(CLAIMED_AT_SQL, [check.rule, check.subject.id]);
    const ms = rows[0]?.ms;
    return ms === undefined || ms === null ? null : Number(ms);
  }

  async release(check: AlertCheck, atMs: number): Promise<void> {
    await this.#query(RELEASE_SQL, [check.rule, check.subject.id, new Date(atMs).toISOString()]);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>({ text, values, query_timeout: STATEMENT_TIMEOUT_MS } as pg.QueryConfig);
    } catch (error) {
      // pg's errors never carry the password, but the URL is scrubbed from them all the same.
      throw new Error(`the alert database query failed: ${describeDatabaseError(error, this.#url)}`);
    }
  }
}
