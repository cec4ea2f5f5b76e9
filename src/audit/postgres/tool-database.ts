import pg from 'pg';
import type { ChainHead } from '../chain.js';
import { databaseLabel, describeDatabaseError } from './connection.js';
import { SCHEMA_VERSION } from './migrations.js';

/**
 * The audit tools' own connection to the database trail: one client, reads in one snapshot, and
 * errors worded for an operator without the URL's password (connection.ts scrubs them). KeyDesk's
 * store has its pool and 1 s bounds; a tool run by hand or at night gets one connection and a
 * more patient connect timeout.
 */

/** A failure whose message is safe to print: it names the database without its password. */
export class ToolDatabaseError extends Error {
  override name = 'ToolDatabaseError';
}

const CONNECT_TIMEOUT_MS = 10_000;

export async function connectToolDatabase(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'keydesk-audit-tools' });
  // A connection lost between queries is reported by the next query; without a listener it would crash the tool.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new ToolDatabaseError(`cannot connect to ${databaseLabel(url)}: ${reason(error, url)}`);
  }
  return client;
}

/** What went wrong with the database, for stderr: the URL's password never appears, even when a driver message echoes it. */
export function describeToolError(error: unknown, url: string): string {
  if (error instanceof ToolDatabaseError) return error.message;
  return `the database ${databaseLabel(url)} failed: ${reason(error, url)}`;
}

/** pg's reason; a connection refused on every address of a name is an AggregateError with no message of its own. */
function reason(error: unknown, url: string): string {
  const inner = error instanceof AggregateError && error.message === '' ? error.errors[0] : undefined;
  return describeDatabaseError(inner ?? error, url);
}

/** Fails, saying what to do, unless the schema is at the version this KeyDesk knows. */
export async function checkSchemaVersion(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('keydesk.schema_migrations') IS NOT NULL AS present`);
  const version = rows[0]?.present === true ? await appliedVersion(client) : null;
  if (version === null) {
    throw new ToolDatabaseError('the database holds no KeyDesk audit schema: run `npm run db:migrate` (as the schema owner, DATABASE_MIGRATION_URL) first');
  }
  if (version < SCHEMA_VERSION) {
    throw new ToolDatabaseError(`the audit schema is at version ${version}, older than this KeyDesk's ${SCHEMA_VERSION}: run \`npm run db:migrate\` first`);
  }
  if (version > SCHEMA_VERSION) {
    throw new ToolDatabaseError(`the audit schema is at version ${version}, newer than this KeyDesk's ${SCHEMA_VERSION}: use the audit tools of the KeyDesk release that migrated it`);
  }
}

async function appliedVersion(client: pg.Client): Promise<number | null> {
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM keydesk.schema_migrations');
  return rows[0]?.version ?? null;
}

/**
 * Runs `work` in one REPEATABLE READ, READ ONLY transaction: every page of the trail, the chain
 * head and the checkpoints are read as of one moment, however many records KeyDesk adds meanwhile.
 */
export async function inSnapshot<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export async function readChainHeadRow(client: pg.Client, forUpdate = false): Promise<ChainHead> {
  const { rows } = await client.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM keydesk.chain_head${forUpdate ? ' FOR UPDATE' : ''}`);
  const row = rows[0];
  if (row === undefined) throw new ToolDatabaseError('keydesk.chain_head holds no row: the schema was changed by hand; run `npm run db:migrate` on a new database');
  return { seq: Number(row.seq), hash: row.hash };
}

const PAGE_ROWS = 1000;

/**
 * The trail's rows after `afterSeq`, in seq order, a page at a time by the primary key: memory
 * stays at one page however long the trail. `columns` is a SELECT list; seq must be among them.
 */
export async function* trailRows<Row extends { seq: string }>(client: pg.Client, columns: string, afterSeq = 0): AsyncGenerator<Row> {
  let after = String(afterSeq);
  for (;;) {
    const { rows } = await client.query<Row>(`SELECT ${columns} FROM keydesk.audit_records WHERE seq > $1 ORDER BY seq LIMIT ${PAGE_ROWS}`, [after]);
    yield* rows;
    if (rows.length < PAGE_ROWS) return;
    after = rows[rows.length - 1]!.seq;
  }
}
