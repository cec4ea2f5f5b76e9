import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/config.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import { coverageOf, coveredAfter, type CoveredSpan, type KeyReadInitiator, type MatchedBy, type ReconcileRun, type ReconcileState, type ReconciliationStore, type StoredKeyRead } from './types.js';

/**
 * The reconciliation's store in PostgreSQL (migration 5): `keydesk.entra_key_reads`, one row per
 * Entra event (its id the primary key: two runs that read it store it once), and the one-row
 * `keydesk.reconciliation_state` whose `running_since` is the run lease every instance shares.
 * A report is claimed with a conditional UPDATE, so it happens once whichever instance runs.
 */

interface KeyReadRow {
  entra_event_id: string;
  activity_date_time: Date;
  key_id: string | null;
  device_id: string | null;
  device_name: string | null;
  initiated_by: KeyReadInitiator;
  correlation_id: string | null;
  matched_disclosure_id: string | null;
  matched_by: MatchedBy | null;
  retry_of_disclosure_id: string | null;
  reported_record_id: string | null;
}

const COLUMNS = 'entra_event_id, activity_date_time, key_id, device_id, device_name, initiated_by, correlation_id, matched_disclosure_id, matched_by, retry_of_disclosure_id, reported_record_id';

const OUT_OF_BAND = 'matched_disclosure_id IS NULL AND retry_of_disclosure_id IS NULL';

interface StateRow {
  running_since: Date | null;
  covered_from: Date | null;
  covered_to: Date | null;
  covered_spans: CoveredSpan[] | null;
  last_run: ReconcileRun | null;
}

async function stateRow(pool: pg.Pool): Promise<StateRow | undefined> {
  const { rows } = await pool.query<StateRow>('SELECT running_since, covered_from, covered_to, covered_spans, last_run FROM keydesk.reconciliation_state WHERE singleton');
  return rows[0];
}

/** The stretches read; a state written before migration 6 has one, from its two bounds. */
function spansOf(row: StateRow | undefined): CoveredSpan[] {
  if (row?.covered_spans) return row.covered_spans;
  return row?.covered_from && row.covered_to ? [{ from: row.covered_from.toISOString(), to: row.covered_to.toISOString() }] : [];
}

function toRead(row: KeyReadRow): StoredKeyRead {
  return {
    entraEventId: row.entra_event_id,
    activityDateTime: row.activity_date_time.toISOString(),
    keyId: row.key_id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    initiatedBy: row.initiated_by,
    correlationId: row.correlation_id,
    matchedDisclosureId: row.matched_disclosure_id,
    matchedBy: row.matched_by,
    retryOfDisclosureId: row.retry_of_disclosure_id,
    reportedRecordId: row.reported_record_id,
  };
}

async function readsWhere(pool: pg.Pool, where: string, values: unknown[]): Promise<StoredKeyRead[]> {
  const { rows } = await pool.query<KeyReadRow>(`SELECT ${COLUMNS} FROM keydesk.entra_key_reads WHERE ${where} ORDER BY activity_date_time, entra_event_id`, values);
  return rows.map(toRead);
}

async function updated(pool: pg.Pool, sql: string, values: unknown[]): Promise<boolean> {
  const { rowCount } = await pool.query(sql, values);
  return (rowCount ?? 0) > 0;
}

export function createPostgresReconciliationStore(pool: pg.Pool, ownsPool: boolean): ReconciliationStore {
  return {
    addKeyRead: (read) =>
      updated(
        pool,
        `INSERT INTO keydesk.entra_key_reads (entra_event_id, activity_date_time, key_id, device_id, device_name, initiated_by, correlation_id, matched_disclosure_id, matched_by, retry_of_disclosure_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (entra_event_id) DO NOTHING`,
        [
          read.entraEventId,
          read.activityDateTime,
          read.keyId,
          read.deviceId,
          read.deviceName,
          JSON.stringify(read.initiatedBy),
          read.correlationId,
          read.matchedDisclosureId,
          read.matchedBy,
          read.retryOfDisclosureId ?? null,
        ],
      ),
    async knownEventIds(ids) {
      const { rows } = await pool.query<{ id: string }>('SELECT entra_event_id AS id FROM keydesk.entra_key_reads WHERE entra_event_id = ANY($1)', [ids]);
      return new Set(rows.map((row) => row.id));
    },
    async matchedDisclosures(disclosureIds) {
      const { rows } = await pool.query<{ id: string }>('SELECT matched_disclosure_id AS id FROM keydesk.entra_key_reads WHERE matched_disclosure_id = ANY($1)', [disclosureIds]);
      return new Set(rows.map((row) => row.id));
    },
    keyReads: (window) => readsWhere(pool, '($1::timestamptz IS NULL OR activity_date_time >= $1) AND ($2::timestamptz IS NULL OR activity_date_time < $2)', [window.from ?? null, window.to ?? null]),
    // A claimed report whose run died before writing it is offered again: only one run holds the
    // lease at a time, and the reconciler looks for the records before writing them.
    unreported: () => readsWhere(pool, `${OUT_OF_BAND} AND report_state IS DISTINCT FROM 'reported'`, []),
    claimReport: (id) => updated(pool, `UPDATE keydesk.entra_key_reads SET report_state = 'claimed' WHERE entra_event_id = $1 AND ${OUT_OF_BAND} AND report_state IS DISTINCT FROM 'reported'`, [id]),
    async completeReport(id, recordId) {
      await pool.query("UPDATE keydesk.entra_key_reads SET report_state = 'reported', reported_record_id = $2 WHERE entra_event_id = $1 AND report_state = 'claimed'", [id, recordId]);
    },
    async releaseReport(id) {
      await pool.query("UPDATE keydesk.entra_key_reads SET report_state = NULL WHERE entra_event_id = $1 AND report_state = 'claimed'", [id]);
    },
    beginRun: (startedAt, staleBefore) =>
      updated(pool, 'UPDATE keydesk.reconciliation_state SET running_since = $1 WHERE singleton AND (running_since IS NULL OR running_since <= $2)', [startedAt, staleBefore]),
    async endRun(run) {
      // Only the lease holder ends a run, so reading the stretches and writing them back is safe.
      const spans = coveredAfter(spansOf(await stateRow(pool)), run);
      const coverage = coverageOf(spans);
      await pool.query(
        'UPDATE keydesk.reconciliation_state SET running_since = NULL, last_run = $1, covered_from = $2, covered_to = $3, covered_spans = $4 WHERE singleton',
        [JSON.stringify(run), coverage.coveredFrom, coverage.coveredTo, JSON.stringify(spans)],
      );
    },
    async state(): Promise<ReconcileState> {
      const row = await stateRow(pool);
      return { lastRun: row?.last_run ?? null, ...coverageOf(spansOf(row)), running: (row?.running_since ?? null) !== null };
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

/** Its own small pool on DATABASE_URL: the reconciliation runs a few queries every few minutes. */
export function openPostgresReconciliationStore(database: DatabaseConfig, logger: Pick<Logger, 'warn'>): ReconciliationStore {
  return createPostgresReconciliationStore(createAuditPool({ url: database.url, poolMax: 2 }, logger), true);
}
