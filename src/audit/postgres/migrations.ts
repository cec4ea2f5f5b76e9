import { GENESIS_HASH } from '../chain.js';

/**
 * The PostgreSQL schema of the audit trail, as numbered migrations applied in order by the schema
 * owner (`npm run db:migrate`, or KeyDesk at start-up when its role owns the schema). Each
 * migration runs in one transaction with its row in `keydesk.schema_migrations`.
 *
 * The trail is append-only by construction: the runtime role is granted INSERT and SELECT on it
 * and UPDATE only on the one-row chain head (see `runtimeGrants`), and triggers refuse UPDATE,
 * DELETE and TRUNCATE on the trail and its checkpoints even for the owner. KeyDesk appends through
 * `keydesk.append_records` (EXECUTE revoked from PUBLIC, granted to the runtime role). `line` holds exactly
 * the bytes the file store writes for the record (without the newline), so an export is
 * byte-identical to a file trail; the other columns exist only to be indexed for `query`.
 * Columns compared case-insensitively hold lower-cased values.
 */

export const AUDIT_SCHEMA = 'keydesk';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** What the runtime role needs on the objects this migration creates (see `runtimeGrants`). */
  grants?: (role: string) => string;
}

/** Created before any migration runs, so the version can be read and recorded. */
export const BOOKKEEPING_SQL = `
CREATE SCHEMA IF NOT EXISTS keydesk;
CREATE TABLE IF NOT EXISTS keydesk.schema_migrations (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;

const APPEND_ONLY = `
CREATE FUNCTION keydesk.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'keydesk: % on %.% is refused: the audit trail is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;`;

function appendOnly(table: string): string {
  return `
CREATE TRIGGER ${table}_no_update_delete BEFORE UPDATE OR DELETE ON keydesk.${table}
  FOR EACH ROW EXECUTE FUNCTION keydesk.refuse_change();
CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON keydesk.${table}
  FOR EACH STATEMENT EXECUTE FUNCTION keydesk.refuse_change();`;
}

/**
 * A batch of sealed records appended and the chain head moved, in one statement (one round trip,
 * autocommitted by the caller): the head's row lock is taken and released inside the server, never
 * held across a client's round trip. The batch was sealed on (expected_seq, expected_hash); when
 * the head is no longer there (another process appended meanwhile) nothing is inserted and the
 * current head is returned, for the caller to seal the batch again on it. One array per column
 * of `RECORD_COLUMNS` (records.ts), in that order. SECURITY INVOKER: the caller's INSERT grant on
 * the trail and UPDATE grant on the head are what it uses, and the append-only triggers still apply.
 */
const APPEND_RECORDS = `
CREATE FUNCTION keydesk.append_records(
  expected_seq bigint, expected_hash text, new_hash text,
  seqs bigint[], ids uuid[], times timestamptz[], actions text[], outcomes text[], codes text[], doors text[],
  disclosure_ids text[], caller_oids text[], caller_upns text[], caller_app_ids text[], agent_upns text[],
  requester_upns text[], device_ids text[], device_names text[], recovery_key_ids text[], tickets text[],
  prev_hashes text[], hashes text[], lines text[],
  OUT appended boolean, OUT head_seq bigint, OUT head_hash text
) LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := cardinality(seqs);
BEGIN
  SELECT h.seq, h.hash INTO head_seq, head_hash FROM keydesk.chain_head h WHERE h.singleton FOR UPDATE;
  appended := head_seq IS NOT DISTINCT FROM expected_seq AND head_hash IS NOT DISTINCT FROM expected_hash;
  IF NOT appended THEN
    RETURN;
  END IF;
  IF coalesce(n, 0) = 0 OR seqs <> ARRAY(SELECT generate_series(expected_seq + 1, expected_seq + n))
     OR prev_hashes[1] IS DISTINCT FROM expected_hash OR hashes[n] IS DISTINCT FROM new_hash THEN
    RAISE EXCEPTION 'keydesk.append_records: the batch does not continue the chain head at seq %', expected_seq
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO keydesk.audit_records (seq, id, time, action, outcome, code, door, disclosure_id, caller_oid, caller_upn,
      caller_app_id, agent_upn, requester_upn, device_id, device_name, recovery_key_id, ticket, prev_hash, hash, line)
    SELECT * FROM unnest(seqs, ids, times, actions, outcomes, codes, doors, disclosure_ids, caller_oids, caller_upns,
      caller_app_ids, agent_upns, requester_upns, device_ids, device_names, recovery_key_ids, tickets, prev_hashes, hashes, lines);
  head_seq := expected_seq + n;
  head_hash := new_hash;
  UPDATE keydesk.chain_head SET seq = head_seq, hash = head_hash WHERE singleton;
END $$;
REVOKE EXECUTE ON FUNCTION keydesk.append_records FROM PUBLIC;`;

/**
 * Migration 3: the notification outbox. `keydesk.append_records` takes one more array, the channels
 * each record is queued for (comma-separated, '' for none), and inserts their `keydesk.outbox` rows
 * in the same statement as the records: a record is never committed without its notifications, nor
 * a notification without its record. Unlike the trail, the outbox is delivery state the runtime
 * role updates (claimed, delivered, retried, failed); the record it points at stays append-only.
 * Rows are claimed with FOR UPDATE SKIP LOCKED and a lease (`next_attempt_at` moved past the
 * delivery), so any number of instances deliver and no row is handed to two of them.
 */
const OUTBOX = `
CREATE TABLE keydesk.outbox (
  channel text NOT NULL,
  -- No foreign key to audit_records: it would make TRUNCATE fail before the append-only trigger says why.
  seq bigint NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  settled_at timestamptz,
  PRIMARY KEY (channel, seq)
);
CREATE INDEX outbox_due ON keydesk.outbox (channel, next_attempt_at, seq) WHERE state = 'pending';

DROP FUNCTION keydesk.append_records(bigint, text, text, bigint[], uuid[], timestamptz[], text[], text[], text[], text[],
  text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[]);
${APPEND_RECORDS.replace('prev_hashes text[], hashes text[], lines text[],', 'prev_hashes text[], hashes text[], lines text[], outbox_channels text[],').replace(
  '  head_seq := expected_seq + n;',
  `  INSERT INTO keydesk.outbox (channel, seq)
    SELECT channel, queued.seq FROM unnest(seqs, outbox_channels) AS queued (seq, channels),
      unnest(string_to_array(queued.channels, ',')) AS channel
    WHERE queued.channels IS NOT NULL AND channel <> '';
  head_seq := expected_seq + n;`,
).replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')}`;

/**
 * Every migration, in version order. Versions are whole numbers with no gaps: each feature's
 * tables come in their own migration, with the grants its runtime needs beside them.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit trail, chain head, checkpoints',
    sql: `
CREATE TABLE keydesk.chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL CHECK (seq >= 0),
  hash text NOT NULL
);
INSERT INTO keydesk.chain_head (singleton, seq, hash) VALUES (true, 0, '${GENESIS_HASH}');

CREATE TABLE keydesk.audit_records (
  seq bigint PRIMARY KEY CHECK (seq >= 1),
  id uuid NOT NULL UNIQUE,
  time timestamptz NOT NULL,
  action text NOT NULL,
  outcome text NOT NULL,
  code text,
  door text,
  disclosure_id text,
  caller_oid text,
  caller_upn text,
  caller_app_id text,
  agent_upn text,
  requester_upn text,
  device_id text,
  device_name text,
  recovery_key_id text,
  ticket text,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  line text NOT NULL
);
CREATE INDEX audit_records_time ON keydesk.audit_records (time, seq);
CREATE INDEX audit_records_action ON keydesk.audit_records (action, outcome, seq);
CREATE INDEX audit_records_code ON keydesk.audit_records (code, seq) WHERE code IS NOT NULL;
CREATE INDEX audit_records_disclosure ON keydesk.audit_records (disclosure_id, seq) WHERE disclosure_id IS NOT NULL;
CREATE INDEX audit_records_caller_oid ON keydesk.audit_records (caller_oid, seq) WHERE caller_oid IS NOT NULL;
CREATE INDEX audit_records_caller_upn ON keydesk.audit_records (caller_upn, seq) WHERE caller_upn IS NOT NULL;
CREATE INDEX audit_records_caller_app ON keydesk.audit_records (caller_app_id, seq) WHERE caller_app_id IS NOT NULL;
CREATE INDEX audit_records_agent ON keydesk.audit_records (agent_upn, seq) WHERE agent_upn IS NOT NULL;
CREATE INDEX audit_records_requester ON keydesk.audit_records (requester_upn, seq) WHERE requester_upn IS NOT NULL;
CREATE INDEX audit_records_device_id ON keydesk.audit_records (device_id, seq) WHERE device_id IS NOT NULL;
CREATE INDEX audit_records_device_name ON keydesk.audit_records (device_name, seq) WHERE device_name IS NOT NULL;
CREATE INDEX audit_records_key ON keydesk.audit_records (recovery_key_id, seq) WHERE recovery_key_id IS NOT NULL;
CREATE INDEX audit_records_ticket ON keydesk.audit_records (ticket, seq) WHERE ticket IS NOT NULL;

-- Signed checkpoints of the chain head (see audit/checkpoints); line is the JSON the file store writes.
CREATE TABLE keydesk.audit_checkpoints (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  time timestamptz NOT NULL,
  line text NOT NULL
);
${APPEND_ONLY}
${appendOnly('audit_records')}
${appendOnly('audit_checkpoints')}
${APPEND_RECORDS}`,
    grants: (r: string) => `
GRANT USAGE ON SCHEMA keydesk TO ${r};
GRANT SELECT ON keydesk.schema_migrations TO ${r};
GRANT INSERT, SELECT ON keydesk.audit_records TO ${r};
GRANT INSERT, SELECT ON keydesk.audit_checkpoints TO ${r};
GRANT SELECT, UPDATE ON keydesk.chain_head TO ${r};
GRANT EXECUTE ON FUNCTION keydesk.append_records TO ${r};`,
  },
  {
    // Not a record but the alert rules' bookkeeping (src/alerts/postgres-alerts.ts): the start of
    // each rule's current window per subject, which a claim moves forward (hence UPDATE), so that
    // instances claiming at the same moment raise one alert. The alerts themselves are records.
    version: 4,
    description: 'alert windows',
    sql: `
CREATE TABLE keydesk.alert_windows (
  rule text NOT NULL,
  subject text NOT NULL,
  window_start timestamptz NOT NULL,
  PRIMARY KEY (rule, subject)
);`,
    grants: (r: string) => `
GRANT SELECT, INSERT, UPDATE ON keydesk.alert_windows TO ${r};`,
  },
  {
    version: 2,
    description: 'chain verifications by the leader',
    // One row per background verification run (audit/verification); the newest answers GET /api/v1/audit/verification.
    sql: `
CREATE TABLE keydesk.audit_verifications (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  verified_at timestamptz NOT NULL,
  intact boolean NOT NULL,
  result text NOT NULL
);
${appendOnly('audit_verifications')}`,
    grants: (r: string) => `
GRANT INSERT, SELECT ON keydesk.audit_verifications TO ${r};`,
  },
  {
    version: 5,
    description: "Entra's key-read events and the reconciliation's run state",
    sql: `
-- Each "Read BitLocker key" event of Entra's directory audit KeyDesk has read (Entra keeps them
-- 7 or 30 days); only the report columns ever change, once, when an out-of-band read is reported.
CREATE TABLE keydesk.entra_key_reads (
  entra_event_id text PRIMARY KEY,
  activity_date_time timestamptz NOT NULL,
  key_id text,
  device_id text,
  device_name text,
  initiated_by jsonb NOT NULL,
  correlation_id text,
  matched_disclosure_id text UNIQUE,
  matched_by text CHECK (matched_by IN ('client_request_id', 'key_and_time')),
  report_state text CHECK (report_state IN ('claimed', 'reported')),
  reported_record_id uuid,
  stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entra_key_reads_time ON keydesk.entra_key_reads (activity_date_time);
CREATE INDEX entra_key_reads_unreported ON keydesk.entra_key_reads (activity_date_time)
  WHERE matched_disclosure_id IS NULL AND report_state IS NULL;

CREATE FUNCTION keydesk.refuse_key_read_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'report_state' - 'reported_record_id') IS DISTINCT FROM (to_jsonb(OLD) - 'report_state' - 'reported_record_id')
     OR OLD.report_state = 'reported' THEN
    RAISE EXCEPTION 'keydesk: an Entra key-read event is kept as read; only its report is recorded, once'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER entra_key_reads_keep BEFORE UPDATE ON keydesk.entra_key_reads
  FOR EACH ROW EXECUTE FUNCTION keydesk.refuse_key_read_change();
CREATE TRIGGER entra_key_reads_no_delete BEFORE DELETE ON keydesk.entra_key_reads
  FOR EACH ROW EXECUTE FUNCTION keydesk.refuse_change();
CREATE TRIGGER entra_key_reads_no_truncate BEFORE TRUNCATE ON keydesk.entra_key_reads
  FOR EACH STATEMENT EXECUTE FUNCTION keydesk.refuse_change();

-- One row: the run lease (running_since), the span of Entra's log read so far, the last run.
CREATE TABLE keydesk.reconciliation_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  running_since timestamptz,
  covered_from timestamptz,
  covered_to timestamptz,
  last_run jsonb
);
INSERT INTO keydesk.reconciliation_state (singleton) VALUES (true);`,
    grants: (r: string) => `
GRANT SELECT, INSERT ON keydesk.entra_key_reads TO ${r};
GRANT UPDATE (report_state, reported_record_id) ON keydesk.entra_key_reads TO ${r};
GRANT SELECT, UPDATE ON keydesk.reconciliation_state TO ${r};`,
  },
  {
    version: 3,
    description: 'notification outbox, written with the records',
    sql: OUTBOX,
    grants: (r: string) => `
GRANT SELECT, INSERT, UPDATE ON keydesk.outbox TO ${r};
GRANT EXECUTE ON FUNCTION keydesk.append_records TO ${r};`,
  },
  {
    // A second Entra event for one disclosure's read is KeyDesk's retry of it (the same
    // client-request-id): kept apart from the first, whose match stays unique, and never reported.
    // The reconciliation's covered stretches of Entra's log, apart where it stopped for longer
    // than Entra keeps events (src/reconcile/types.ts coveredAfter).
    version: 6,
    description: "retried key reads and covered stretches of Entra's log",
    sql: `
ALTER TABLE keydesk.entra_key_reads ADD COLUMN retry_of_disclosure_id text;
ALTER TABLE keydesk.reconciliation_state ADD COLUMN covered_spans jsonb;
DROP INDEX keydesk.entra_key_reads_unreported;
CREATE INDEX entra_key_reads_unreported ON keydesk.entra_key_reads (activity_date_time)
  WHERE matched_disclosure_id IS NULL AND retry_of_disclosure_id IS NULL AND report_state IS DISTINCT FROM 'reported';`,
  },
  {
    // Not records: the key-ID index (src/key-index/postgres-store.ts), a copy of the metadata of
    // Graph's tenant-wide key list (never a recovery password), and its one-row sync state whose
    // running_since is the sync lease every instance shares. Rows are never deleted: a key Entra
    // no longer holds keeps its metadata with removed_at.
    version: 7,
    description: 'recovery key index',
    sql: `
CREATE TABLE keydesk.recovery_key_index (
  id text PRIMARY KEY,
  -- The key ID's 32 hex digits, for prefix searches by range (C collation: plain byte order).
  key_hex text COLLATE "C" NOT NULL UNIQUE CHECK (key_hex ~ '^[0-9a-f]{32}$'),
  device_id text NOT NULL,
  volume_type text NOT NULL,
  created_date_time text NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  removed_at timestamptz
);
CREATE INDEX recovery_key_index_device ON keydesk.recovery_key_index (device_id);

CREATE TABLE keydesk.recovery_key_index_sync (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  running_since timestamptz,
  state text NOT NULL DEFAULT 'never' CHECK (state IN ('never', 'running', 'succeeded', 'failed')),
  started_at timestamptz,
  completed_at timestamptz,
  last_success_at timestamptz,
  pages integer NOT NULL DEFAULT 0,
  keys integer NOT NULL DEFAULT 0,
  error text
);
INSERT INTO keydesk.recovery_key_index_sync (singleton) VALUES (true);`,
    grants: (r: string) => `
GRANT SELECT, INSERT, UPDATE ON keydesk.recovery_key_index TO ${r};
GRANT SELECT, UPDATE ON keydesk.recovery_key_index_sync TO ${r};`,
  },
  {
    // The escrow coverage report (src/coverage/store.ts): the last report of each UTC day, whole,
    // so the latest answers GET …/reports/escrow-coverage and the counts make its history.
    version: 8,
    description: 'escrow coverage reports',
    sql: `
CREATE TABLE keydesk.escrow_coverage (
  day date PRIMARY KEY,
  generated_at timestamptz NOT NULL,
  counts jsonb NOT NULL,
  report jsonb NOT NULL
);
CREATE INDEX escrow_coverage_generated ON keydesk.escrow_coverage (generated_at);`,
    grants: (r: string) => `
GRANT SELECT, INSERT, UPDATE ON keydesk.escrow_coverage TO ${r};`,
  },
  {
    // Not records: the rotations of disclosed recovery passwords (src/rotation/postgres-store.ts),
    // one per disclosure, moved through their states by compare-and-set. Every state change is
    // also an audit record (`rotation`); this table is what the leader's checks work from.
    version: 9,
    description: 'rotations after disclosure',
    sql: `
CREATE TABLE keydesk.rotations (
  id uuid PRIMARY KEY,
  disclosure_id text NOT NULL UNIQUE,
  state text NOT NULL CHECK (state IN ('requested', 'pending', 'done', 'failed', 'not_supported', 'overdue')),
  requested_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  rotation jsonb NOT NULL
);
CREATE INDEX rotations_listed ON keydesk.rotations (requested_at DESC, id DESC);
CREATE INDEX rotations_open ON keydesk.rotations (state, requested_at) WHERE state IN ('requested', 'pending', 'overdue');`,
    grants: (r: string) => `
GRANT SELECT, INSERT, UPDATE ON keydesk.rotations TO ${r};`,
  },
].sort((a: Migration, b: Migration) => a.version - b.version);

/** The version this KeyDesk expects the schema to be at. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** A role name as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * What the runtime role needs and no more: it can add records and checkpoints and read them,
 * and move the chain head (through `keydesk.append_records`, which runs with these grants); it
 * cannot change or remove a record (no UPDATE, DELETE or TRUNCATE grant, and the triggers refuse
 * them anyway).
 */
export function runtimeGrants(role: string): string {
  const r = quoteIdentifier(role);
  return MIGRATIONS.map((migration) => migration.grants?.(r) ?? '').join('');
}
