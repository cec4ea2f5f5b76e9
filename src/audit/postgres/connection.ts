import pg from 'pg';
import type { Logger } from 'pino';
import { withoutPassword } from '../../config/config.js';

/**
 * KeyDesk's connections to PostgreSQL: one pool per process for the runtime role (DATABASE_URL),
 * a single client for the schema owner (migrations). Everything is bounded, so that while the
 * database is down or unreachable an append fails within about 1.5 s (the caller answers
 * `audit_unavailable`) instead of hanging, and the pool reconnects by itself once it is back.
 *
 * TLS is the URL's: pg (pg-connection-string) reads `sslmode` and `sslrootcert` (and
 * `sslcert`/`sslkey`) from it. `sslmode=disable` connects in clear text; `require`, `verify-ca`
 * and `verify-full` all verify the server's certificate and host name (pg is stricter than libpq
 * here and prints a deprecation warning for the first two; add `uselibpqcompat=true` for libpq's
 * meanings); `sslrootcert` names the CA file to trust instead of Node's bundle.
 *
 * The password is in the URL only: it is never logged, and errors name the database by
 * `databaseLabel` (the URL without its password).
 */

/** A new connection not established within this fails (the pool's wait for a free one too). */
export const CONNECT_TIMEOUT_MS = 1_000;

/**
 * Server-side bounds, so a KeyDesk that vanished mid-transaction (looking up an uncertain batch)
 * cannot hold the chain head's row lock for long, and an append stuck behind another's lock (a
 * tool's import, say) gives up. The statement bound is longer than the client's own deadline (see
 * postgres-audit-trail.ts): the client gives up first.
 */
const SERVER_TIMEOUTS = {
  statement_timeout: 5_000,
  lock_timeout: 2_000,
  idle_in_transaction_session_timeout: 5_000,
} as const;

/**
 * Sets `synchronous_commit` to `on` unless it is already stronger (`remote_apply`): a commit is
 * then flushed to disk (and to synchronous standbys) before COMMIT, or an autocommitted statement
 * such as an append, returns, which is what a key leaving after its record is committed relies
 * on. A role or database configured with `off` or `local` is overridden for KeyDesk's sessions;
 * nothing KeyDesk runs lowers it.
 */
const DURABLE_COMMIT_SQL = `SELECT set_config('synchronous_commit',
  CASE WHEN current_setting('synchronous_commit') IN ('on', 'remote_apply') THEN current_setting('synchronous_commit') ELSE 'on' END, false) AS synchronous_commit`;

export interface PoolSettings {
  url: string;
  poolMax: number;
}

/** Host, port and database of a URL, with user but never the password. */
export function databaseLabel(url: string): string {
  return withoutPassword(url).replace(/\?.*$/, '');
}

/**
 * A short description of a connection or query failure, safe to log and to put in a problem's
 * detail: the SQLSTATE or system error code and pg's message, with the password and the URL
 * removed should either ever appear in it.
 */
export function describeDatabaseError(error: unknown, url: string): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  return scrub(typeof code === 'string' ? `${code}: ${text}` : text, url);
}

function scrub(text: string, url: string): string {
  let clean = text.split(url).join(databaseLabel(url));
  const password = passwordOf(url);
  if (password !== '') clean = clean.split(password).join('***');
  return clean;
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function clientConfig(url: string, serverTimeouts: Partial<Record<keyof typeof SERVER_TIMEOUTS, number>> = SERVER_TIMEOUTS): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Finds a connection whose peer vanished without a FIN (a failover, a dropped NAT entry).
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    application_name: 'keydesk',
    ...serverTimeouts,
  };
}

/** Raises `synchronous_commit` to `on` for this session (see DURABLE_COMMIT_SQL); throws when it is not on afterwards. */
export async function assertDurableCommit(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ synchronous_commit: string }>(DURABLE_COMMIT_SQL);
  const setting = rows[0]?.synchronous_commit;
  if (setting !== 'on' && setting !== 'remote_apply') throw new Error(`synchronous_commit is ${String(setting)} for this session, not on`);
}

/**
 * The runtime role's pool. An idle connection that breaks (the server restarted) is dropped and
 * logged, without the URL's password; the next checkout opens another.
 */
export function createAuditPool(settings: PoolSettings, logger: Pick<Logger, 'warn'>): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(settings.url), max: settings.poolMax, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => {
    logger.warn({ database: databaseLabel(settings.url), reason: describeDatabaseError(error, settings.url) }, 'an idle PostgreSQL connection failed; the pool will open another');
  });
  // pg-pool listens for a connection's errors only while it is idle. One checked out, or being
  // ended after a failed transaction, that the server terminates (a restart: 57P01) would emit an
  // error nobody hears and crash the process; the transaction in flight learns it from its query.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

const durableSessions = new WeakSet<pg.PoolClient>();

/**
 * A connection for writing: its session's `synchronous_commit` raised to `on` the first time it
 * is handed out (one round trip per new connection). The caller releases it; a connection whose
 * check failed is destroyed here.
 */
export async function checkOutDurable(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (durableSessions.has(client)) return client;
  try {
    await assertDurableCommit(client);
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
  durableSessions.add(client);
  return client;
}

/**
 * One connection, closed by the caller: for migrations and the version check at start-up. Its
 * statements are not bounded by the runtime's timeouts: a migration, or the wait for another
 * instance's, may take longer than an append may.
 */
export async function connectOnce(url: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, { idle_in_transaction_session_timeout: 60_000 }));
  // Without a listener, a connection lost while idle would throw from an event emitter.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
