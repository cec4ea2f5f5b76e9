import pg from 'pg';
import type { Logger } from 'pino';
import { databaseLabel, describeDatabaseError } from '../audit/postgres/connection.js';

/**
 * Which process runs the periodic jobs (signed checkpoints now; outbox delivery, reconciliation
 * and rotation checks later): one per database, however many instances and workers share it.
 *
 * With the file store there is one process, so it always leads. With PostgreSQL the leader is
 * the process whose own connection (a `pg.Client`, never a pool's: a pooled connection goes back
 * to the pool with the lock still on it) holds the session advisory lock `LEADER_LOCK_KEY`.
 * PostgreSQL releases a session lock when the session ends, whatever ends it, so:
 *
 * - a leader that stops, or is killed (even `kill -9`: the kernel closes its socket), frees the
 *   lock at once, and a follower, trying every 5 s, leads within about 5 s;
 * - a leader whose host vanishes (powered off, cut off: no FIN ever arrives) stops sending its
 *   heartbeat, and the server ends its session after `idle_session_timeout` = 15 s without a
 *   query (three missed heartbeats); a follower leads within 15 + 5 = 20 s, inside the 30 s
 *   the issue allows. The server's TCP keepalives (idle 5 s, then 3 probes 5 s apart: 20 s) and
 *   `tcp_user_timeout` (20 s for data the peer never acknowledges) end a dead peer's connection
 *   too, for a server that cannot end it by idleness (it was mid-reply);
 * - a leader that cannot reach the server gives up leadership as soon as its heartbeat fails or
 *   goes unanswered for 3 s: at most 5 + 3 = 8 s after its last good one, well before the server
 *   would let another process lead (15 s), so two leaders do not overlap. A connection the server
 *   ends (`pg_terminate_backend`, a restart) is given up the moment pg reports it.
 *
 * A frozen leader (an event loop stalled past 15 s) can still see `isLeader()` true for a moment
 * after it wakes, before it reads that its session was ended: jobs must tolerate running twice.
 */

/**
 * A fixed 64-bit key of KeyDesk's own (0x6b63723a47302b01): advisory locks are per database, so
 * one leader per database. Never change it: during a rolling update an old and a new instance
 * would each take a different lock and both lead.
 */
export const LEADER_LOCK_KEY = '7738154179380652801';

export const LEADER_RETRY_MS = 5_000;
export const LEADER_HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 3_000;

/** The server ends the sessions of a vanished process (see above); set on the election's own session only. */
const SESSION_SETTINGS_SQL = `SELECT
  set_config('idle_session_timeout', '15s', false),
  set_config('tcp_keepalives_idle', '5', false),
  set_config('tcp_keepalives_interval', '5', false),
  set_config('tcp_keepalives_count', '3', false),
  set_config('tcp_user_timeout', '20s', false)`;

export interface LeaderElection {
  /** True while this process should run the periodic jobs. */
  isLeader(): boolean;
  /** `listener(true)` on becoming the leader, `listener(false)` on ceasing to be; returns an unsubscribe. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Gives leadership up (the lock goes with the session) and stops trying. */
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** The runtime role's DATABASE_URL; null (the file store): this process always leads. */
  databaseUrl: string | null;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  retryMs?: number;
  heartbeatMs?: number;
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  if (options.databaseUrl === null) {
    options.logger.info('leader: this process runs the periodic jobs (one process per audit file)');
    return { isLeader: () => true, onChange: () => () => undefined, stop: async () => undefined };
  }
  const election = new AdvisoryLockElection(options.databaseUrl, options);
  election.start();
  return election;
}

class AdvisoryLockElection implements LeaderElection {
  readonly #url: string;
  readonly #logger: LeaderElectionOptions['logger'];
  readonly #retryMs: number;
  readonly #heartbeatMs: number;
  readonly #listeners = new Set<(leader: boolean) => void>();
  #client: pg.Client | null = null;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  /** Logged once per outage, not every retry. */
  #unreachable = false;

  constructor(url: string, options: LeaderElectionOptions) {
    this.#url = url;
    this.#logger = options.logger;
    this.#retryMs = options.retryMs ?? LEADER_RETRY_MS;
    this.#heartbeatMs = options.heartbeatMs ?? LEADER_HEARTBEAT_MS;
  }

  start(): void {
    this.#schedule(0);
  }

  isLeader(): boolean {
    return this.#leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
    this.#lose('this process is stopping', true);
    await this.#drop();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#turn().finally(() => this.#schedule(this.#leader ? this.#heartbeatMs : this.#retryMs));
    }, ms);
    // The election never keeps a process alive on its own.
    this.#timer.unref();
  }

  /** A follower tries for the lock; the leader checks it still has its session. */
  async #turn(): Promise<void> {
    try {
      const client = this.#client ?? (await this.#connect());
      if (this.#stopped) return;
      if (this.#leader) {
        await client.query('SELECT 1');
        return;
      }
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LEADER_LOCK_KEY}) AS locked`);
      if (rows[0]?.locked === true && !this.#stopped) this.#win();
    } catch (error) {
      this.#failed(error);
    }
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // Bounds the heartbeat (and the lock attempt): an unanswered one means leadership is given up.
      query_timeout: HEARTBEAT_TIMEOUT_MS,
      // The client side's own probe of an idle connection; the heartbeat is what decides quickly.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      application_name: 'keydesk-leader-election',
    });
    const ended = (error?: Error) => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#lose(error ? `its database session failed: ${describeDatabaseError(error, this.#url)}` : 'its database session ended');
    };
    client.on('error', ended);
    client.on('end', () => ended());
    try {
      await client.connect();
      await client.query(SESSION_SETTINGS_SQL);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    if (this.#unreachable) this.#logger.info({ database: databaseLabel(this.#url) }, 'leader election: the database answers again');
    this.#unreachable = false;
    return client;
  }

  #failed(error: unknown): void {
    const reason = describeDatabaseError(error, this.#url);
    if (this.#leader) this.#lose(`its heartbeat failed: ${reason}`);
    else if (!this.#unreachable) {
      this.#unreachable = true;
      this.#logger.warn({ database: databaseLabel(this.#url), reason }, `leader election: cannot reach the database; trying again every ${this.#retryMs / 1000} s`);
    }
    void this.#drop();
  }

  #win(): void {
    this.#leader = true;
    this.#logger.info({ database: databaseLabel(this.#url) }, 'this process is now the leader: it runs the periodic jobs');
    for (const listener of this.#listeners) listener(true);
  }

  #lose(reason: string, expected = false): void {
    if (!this.#leader) return;
    this.#leader = false;
    // Stopping hands leadership on as planned; anything else is worth an operator's look.
    this.#logger[expected ? 'info' : 'warn']({ database: databaseLabel(this.#url) }, `this process is no longer the leader: ${reason}`);
    for (const listener of this.#listeners) listener(false);
  }

  /** Closes the session (and with it the lock); a connection that hangs is cut. */
  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    const cut = setTimeout(() => socketOf(client)?.destroy(), 1_000);
    await client.end().catch(() => undefined);
    clearTimeout(cut);
  }
}

/** pg keeps the socket on its connection; ending a client whose peer vanished may wait forever. */
function socketOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}
