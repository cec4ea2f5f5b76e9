import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { KeyDeskProblem, isProblem } from '../../problem/problem.js';
import { sealBatch, settleDurable, type QueuedAppend, type SealedAppend } from '../batch.js';
import type { ChainHead } from '../chain.js';
import type { CheckpointLog } from '../checkpoints/checkpointer.js';
import type { AuditLogger } from '../file/start-up.js';
import type { OutboxRoute, PostgresOutboxStorage } from '../outbox-storage.js';
import type { AuditStore } from '../store.js';
import type { AuditEntry, AuditFilter, AuditPage, AuditPageRequest, AuditRecord } from '../types.js';
import { checkOutDurable, databaseLabel, describeDatabaseError } from './connection.js';
import { batchLanded, commitBatch, newAttempt, type CommitAttempt, type UncertainBatch } from './group-commit.js';
import { postgresCheckpointLog } from './postgres-checkpoints.js';
import { queryAuditTable, type ReadRows } from './postgres-query.js';

/**
 * The audit trail in PostgreSQL, shared by every KeyDesk process on the database. Appends waiting
 * at one moment are committed together in one autocommitted call (group commit, group-commit.ts),
 * one batch at a time per process; `append` resolves only after that call has answered, which is
 * after its commit. Every failure is `audit_unavailable` within about 1.5 s, so a disclosure is
 * refused rather than left hanging. A batch whose call went unanswered is never written again:
 * its requests are refused, and once PostgreSQL answers again KeyDesk reads the trail to learn
 * whether it landed, and logs it.
 */

export interface PostgresAuditTrailOptions {
  pool: pg.Pool;
  /** DATABASE_URL: only to name the database in logs and keep its password out of them. */
  url: string;
  hmacKey: Buffer | null;
  logger: AuditLogger;
  clock?: () => Date;
  newId?: () => string;
}

/** An append waits at most about this long for its batch (longer only by MIN_BATCH_MS). */
export const APPEND_DEADLINE_MS = 1_200;
/** The least time a batch is given, so that appends queued behind a slow batch are not refused unheard. */
const MIN_BATCH_MS = 300;
/** Records per call (one array per column, so the call's size and the time it holds the head's lock stay small). */
const MAX_BATCH = 500;
const READ_TIMEOUT_MS = 5_000;
/** `isWritable`'s round trip; `/readyz` answers within it. */
export const WRITABLE_CHECK_MS = 1_000;
/** How long a failed batch keeps `isWritable` false when no batch succeeds meanwhile. */
const FAILED_BATCH_HOLD_MS = 5_000;
/** How often an uncertain batch is looked for while PostgreSQL does not answer. */
const UNCERTAIN_RETRY_MS = 1_000;

const WRITE_FAILED =
  'The audit trail (PostgreSQL) could not record this request, so KeyDesk will not disclose. Try again shortly; ' +
  'if it persists, tell the KeyDesk operators (the audit database may be down or unreachable).';
const COMMIT_UNANSWERED =
  'KeyDesk lost its connection to the audit database while committing the record of this request, so it will not disclose. ' +
  'Try again shortly; the record is not written a second time.';

interface PendingAppend extends QueuedAppend {
  arrivedAt: number;
}

export function createPostgresAuditTrail(options: PostgresAuditTrailOptions): AuditStore {
  return new PostgresAuditTrail(options);
}

class PostgresAuditTrail implements AuditStore {
  readonly kind = 'postgres';
  readonly checkpoints: CheckpointLog;
  readonly outbox: PostgresOutboxStorage;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #hmacKey: Buffer | null;
  readonly #logger: AuditLogger;
  readonly #clock: () => Date;
  readonly #newId: () => string;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #queue: PendingAppend[] = [];
  #draining: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #reads = new Set<Promise<unknown>>();
  /** When the last batch failed (clock ms); null once a later batch succeeds. */
  #failedAt: number | null = null;
  #uncertain: UncertainBatch[] = [];
  #resolving: Promise<void> | null = null;
  /** The last chain head this process knows (its own last append, or the database's answer); a batch is sealed on it. */
  #known: ChainHead | null = null;
  /** Which channels each record is queued for in keydesk.outbox; none until the outbox starts. */
  #route: OutboxRoute = () => [];

  constructor(options: PostgresAuditTrailOptions) {
    this.#pool = options.pool;
    this.#url = options.url;
    this.#hmacKey = options.hmacKey;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    this.#newId = options.newId ?? randomUUID;
    this.checkpoints = postgresCheckpointLog({ read: this.#read, pool: this.#pool });
    this.outbox = {
      kind: 'postgres',
      route: (route) => {
        this.#route = route;
      },
      sql: (sql, values, timeoutMs) => this.#track(this.#read(sql, values, timeoutMs)),
    };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#state !== 'open') return Promise.reject(closedRefusal());
    return new Promise((resolve, reject) => {
      this.#queue.push({ entry, arrivedAt: Date.now(), resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  query(filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage> {
    if (this.#state === 'closed') return Promise.reject(closedRefusal());
    return this.#track(
      queryAuditTable(this.#read, filter, page).catch((error: unknown) => {
        throw isProblem(error) ? error : this.#unavailable('The audit trail (PostgreSQL) could not be read', error);
      }),
    );
  }

  async head(): Promise<ChainHead> {
    const rows = await this.#read<{ seq: string; hash: string }>('SELECT seq, hash FROM keydesk.chain_head WHERE singleton', []);
    const head = { seq: Number(rows[0]!.seq), hash: rows[0]!.hash };
    // Read at open: the first batch is sealed on it.
    this.#known ??= head;
    return head;
  }

  async isWritable(): Promise<boolean> {
    if (this.#state !== 'open') return false;
    if (this.#failedAt !== null && Date.now() - this.#failedAt < FAILED_BATCH_HOLD_MS) return false;
    try {
      // A standby (after a failover, say) answers reads but refuses every append.
      const rows = await this.#read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], WRITABLE_CHECK_MS);
      return rows[0]?.standby === false;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  /** One statement on a pooled connection, answered within `timeoutMs` or rejected. */
  readonly #read: ReadRows = async <R extends object>(sql: string, values: readonly unknown[], timeoutMs = READ_TIMEOUT_MS): Promise<R[]> => {
    const reading = this.#pool.query<R>({ text: sql, values: [...values], query_timeout: timeoutMs } as pg.QueryConfig);
    const { rows } = await withinMs(reading, timeoutMs, 'PostgreSQL did not answer in time');
    return rows;
  };

  #track<T>(work: Promise<T>): Promise<T> {
    this.#reads.add(work);
    const settled = () => void this.#reads.delete(work);
    work.then(settled, settled);
    return work;
  }

  async #drain(): Promise<void> {
    // Yield once so that appends made in the same tick share the first call.
    await Promise.resolve();
    while (this.#queue.length > 0) await this.#commit(this.#queue.splice(0, MAX_BATCH));
    this.#draining = null;
  }

  async #commit(batch: PendingAppend[]): Promise<void> {
    const now = Date.now();
    const deadline = Math.max(batch[0]!.arrivedAt + APPEND_DEADLINE_MS, now + MIN_BATCH_MS);
    const attempt = newAttempt();
    let sealed: SealedAppend<PendingAppend>[] | null = null;
    const seal = (head: ChainHead) => {
      sealed = this.#seal(batch, head);
      return sealed.map(({ record }) => record);
    };
    try {
      const { head } = await this.#onConnection(deadline - now, attempt, (client) => commitBatch(client, this.#known, seal, attempt, this.#route));
      this.#known = head;
    } catch (error) {
      this.#failed(sealed ?? batch.map((pending) => ({ pending, record: null })), attempt, error);
      return;
    }
    this.#acknowledge(sealed ?? []);
  }

  /**
   * Runs `work` on a durable connection, abandoning it when `timeoutMs` passes: the connection is
   * then destroyed (the server rolls back what was not committed, and finishes a statement already
   * running). A connection is reused only after work that ended cleanly.
   */
  async #onConnection<T>(timeoutMs: number, attempt: CommitAttempt, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient | null = null;
    let released = false;
    const release = (error?: Error) => {
      if (client === null || released) return;
      released = true;
      client.release(error);
    };
    const running = (async () => {
      client = await checkOutDurable(this.#pool);
      if (attempt.abandoned) throw new Error('abandoned');
      return work(client);
    })();
    try {
      const result = await withinMs(running, timeoutMs, `PostgreSQL did not commit within ${timeoutMs} ms`);
      release();
      return result;
    } catch (error) {
      attempt.abandoned = true;
      release(error instanceof Error ? error : new Error(String(error)));
      // A connection checked out after the deadline is destroyed too; the abandoned work's own failure is already reported.
      running.then(() => release(new Error('abandoned')), () => release(new Error('abandoned')));
      throw error;
    }
  }

  #seal(batch: PendingAppend[], head: ChainHead): SealedAppend<PendingAppend>[] {
    return sealBatch(batch, head, { hmacKey: this.#hmacKey, newId: this.#newId, clock: this.#clock });
  }

  #acknowledge(sealed: SealedAppend<PendingAppend>[]): void {
    if (sealed.length === 0) return;
    if (this.#failedAt !== null) this.#logger.info({ database: databaseLabel(this.#url) }, 'the audit database takes records again');
    this.#failedAt = null;
    settleDurable(sealed, this.#logger);
  }

  #failed(batch: { pending: PendingAppend; record: AuditRecord | null }[], attempt: CommitAttempt, error: unknown): void {
    const reason = describeDatabaseError(error, this.#url);
    const records = batch.map(({ record }) => record).filter((record): record is AuditRecord => record !== null);
    const firstFailure = this.#failedAt === null;
    this.#failedAt = Date.now();
    if (attempt.inFlight && records.length > 0) {
      const uncertain = { firstSeq: records[0]!.seq, lastSeq: records.at(-1)!.seq, firstId: records[0]!.id, backendPid: attempt.backendPid };
      this.#logger.error(
        { database: databaseLabel(this.#url), reason, audit: uncertain },
        `audit records seq ${uncertain.firstSeq}..${uncertain.lastSeq}: their append went unanswered; their requests are refused and the records are not written again. Whether they landed is checked once PostgreSQL answers`,
      );
      this.#uncertain.push(uncertain);
      this.#resolveUncertain();
    } else {
      const log = firstFailure ? this.#logger.error.bind(this.#logger) : this.#logger.warn.bind(this.#logger);
      log({ database: databaseLabel(this.#url), reason, audit: { records: batch.length } }, 'audit records could not be written to PostgreSQL; their requests are refused (audit_unavailable)');
    }
    const detail = attempt.inFlight ? COMMIT_UNANSWERED : WRITE_FAILED;
    for (const { pending } of batch) pending.reject(new KeyDeskProblem('audit_unavailable', detail, { cause: new Error(reason) }));
  }

  /** Looks for the uncertain batches until PostgreSQL answers (and their calls have ended), one round at a time. */
  #resolveUncertain(): void {
    this.#resolving ??= (async () => {
      while (this.#uncertain.length > 0 && this.#state !== 'closed') {
        if (await this.#lookForUncertain()) continue;
        if (this.#state !== 'open') break;
        await new Promise((resolve) => setTimeout(resolve, UNCERTAIN_RETRY_MS).unref());
      }
      this.#resolving = null;
    })();
  }

  /** True when every uncertain batch was settled this round. */
  async #lookForUncertain(): Promise<boolean> {
    try {
      await this.#onConnection(READ_TIMEOUT_MS, newAttempt(), async (client) => {
        while (this.#uncertain.length > 0) {
          const batch = this.#uncertain[0]!;
          const { landed, head } = await batchLanded(client, batch);
          this.#uncertain.shift();
          const range = `audit records seq ${batch.firstSeq}..${batch.lastSeq}`;
          const audit = { ...batch, landed, head };
          if (landed) this.#logger.warn({ audit }, `${range} landed although their append went unanswered; their requests were refused, so no key left with them`);
          else this.#logger.warn({ audit }, `${range} did not land (their append was lost); their requests were refused, and those seq numbers went to later records`);
        }
      });
      return true;
    } catch (error) {
      this.#logger.warn({ database: databaseLabel(this.#url), reason: describeDatabaseError(error, this.#url) }, 'the uncertain audit records cannot be looked up yet (PostgreSQL does not answer, or their append still runs); looking again shortly');
      return false;
    }
  }

  async #shutDown(): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    await this.#draining;
    await Promise.allSettled([...this.#reads]);
    await this.#resolving;
    if (this.#uncertain.length > 0) await this.#lookForUncertain();
    this.#state = 'closed';
    await this.#pool.end();
  }

  #unavailable(detail: string, error: unknown): KeyDeskProblem {
    return new KeyDeskProblem('audit_unavailable', `${detail}: ${describeDatabaseError(error, this.#url)}`, { cause: new Error(describeDatabaseError(error, this.#url)) });
  }
}

function closedRefusal(): KeyDeskProblem {
  return new KeyDeskProblem('audit_unavailable', 'The audit trail is closed because KeyDesk is shutting down; try again shortly.');
}

/** `work`, or a rejection once `ms` have passed; the timer keeps no process alive. */
function withinMs<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
