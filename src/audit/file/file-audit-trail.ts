import { randomUUID } from 'node:crypto';
import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../config/config.js';
import { KeyDeskProblem } from '../../problem/problem.js';
import { auditAppendDuration, auditBatchSize } from '../../metrics/metrics.js';
import { sealBatch, settleDurable, type QueuedAppend, type SealedAppend } from '../batch.js';
import type { ChainHead } from '../chain.js';
import type { AuditEntry, AuditFilter, AuditPage, AuditPageRequest, AuditRecord, AuditTrail, ExportedRecord } from '../types.js';
import { exportAuditFile } from './file-export.js';
import { findAuditFileRecord, queryAuditFile } from './file-query.js';
import { lockAuditFile, type AuditFileLock } from './file-lock.js';
import { nodeFileSystem, writeAll, type AuditFileHandle, type AuditFileSystem } from './file-system.js';
import { makePrivateFolder } from './permissions.js';
import { asUnavailable, chainRecoveredEntry, loadChain, openAuditFile, type AuditLogger } from './start-up.js';

export type { AuditLogger } from './start-up.js';

/**
 * The audit trail as a JSON Lines file: one hash-chained record per line, each fsynced before
 * `append` resolves. Appends that arrive while a write is in flight are committed together in one
 * write and one fsync (group commit), so the fsync cost is shared under load. `query` reads the
 * file back from its end (see file-query.ts). The file is 0600 in a 0700 folder (permissions.ts).
 *
 * One process writes a file: two trails on the same file would fork the chain, so the trail
 * holds `<file>.lock` from open to close (file-lock.ts).
 */

export interface FileAuditTrailOptions {
  file: string;
  /** When set, records are chained with HMAC-SHA-256 under this key instead of SHA-256. */
  hmacKey: Buffer | null;
  logger: AuditLogger;
  /** How long to wait for another process's lock on the file before giving up; default 30. */
  lockWaitSeconds?: number;
  clock?: () => Date;
  newId?: () => string;
  /** Tests inject failing writes and fsyncs here; defaults to node:fs/promises. */
  fileSystem?: AuditFileSystem;
}

export interface FileAuditTrail extends AuditTrail {
  /** Seq and hash of the last durable record; seq 0 and the genesis hash for an empty trail. */
  head(): ChainHead;
}

/**
 * How long a failed write keeps `isWritable` false when no write succeeds meanwhile. Not forever:
 * a readiness probe that takes KeyDesk out of rotation also stops the appends that would show
 * the disk has recovered.
 */
export const FAILED_WRITE_HOLD_MS = 30_000;

const WRITE_FAILED =
  'The audit trail could not record this request, so KeyDesk will not disclose. Try again shortly; ' +
  'if it persists, tell the KeyDesk operators (the audit disk may be full or failing).';

export async function openFileAuditTrail(options: FileAuditTrailOptions): Promise<FileAuditTrail> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const clock = options.clock ?? (() => new Date());
  await makePrivateFolder(dirname(options.file)).catch((error: unknown) => {
    throw asUnavailable(error, `The folder of the audit file ${options.file} could not be created`);
  });
  let trail: FileAuditTrailImpl | null = null;
  const lock = await lockAuditFile({
    file: options.file,
    waitSeconds: options.lockWaitSeconds ?? 30,
    logger: options.logger,
    onLost: () => trail?.lockLost(),
  });
  const handle = await openAuditFile(fileSystem, options.file, options.logger).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  try {
    const { head, size, moved } = await loadChain(fileSystem, handle, { ...options, clock });
    trail = new FileAuditTrailImpl({ ...options, handle, lock, head, size, clock, newId: options.newId ?? randomUUID });
    // Compared with the last head logged before a restart, this shows records cut off the end
    // while KeyDesk was down, which no check of the file alone can see.
    options.logger.info({ audit: head }, 'audit chain opened');
    if (moved !== null) await trail.append(chainRecoveredEntry(moved));
    return trail;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await lock.release();
    // A key that does not fit the trail is for the operator to fix (exit 78), not a disk failure.
    if (error instanceof ConfigError) throw error;
    throw asUnavailable(error, `The audit file ${options.file} could not be opened`);
  }
}

interface TrailInit {
  file: string;
  handle: AuditFileHandle;
  lock: AuditFileLock;
  hmacKey: Buffer | null;
  logger: AuditLogger;
  clock: () => Date;
  newId: () => string;
  head: ChainHead;
  /** Bytes of the file known to hold whole, durable records: a failed write is cut back to it. */
  size: number;
}

type PendingAppend = QueuedAppend;

class FileAuditTrailImpl implements FileAuditTrail {
  readonly #file: string;
  readonly #handle: AuditFileHandle;
  readonly #lock: AuditFileLock;
  readonly #hmacKey: Buffer | null;
  readonly #logger: AuditLogger;
  readonly #clock: () => Date;
  readonly #newId: () => string;
  #head: ChainHead;
  #size: number;
  /** 'broken': a failed write could not be rolled back, so the file's end is unknown until restart. */
  #state: 'open' | 'closing' | 'closed' | 'broken' = 'open';
  /** When the last write failed (clock ms); null once a later write succeeds. */
  #failedAt: number | null = null;
  #queue: PendingAppend[] = [];
  #draining: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  /** Queries in flight: the handle they read stays open until they end. */
  #reads = new Set<Promise<unknown>>();

  constructor(init: TrailInit) {
    this.#file = init.file;
    this.#handle = init.handle;
    this.#lock = init.lock;
    this.#hmacKey = init.hmacKey;
    this.#logger = init.logger;
    this.#clock = init.clock;
    this.#newId = init.newId;
    this.#head = init.head;
    this.#size = init.size;
  }

  head(): ChainHead {
    return { ...this.#head };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#state !== 'open') return Promise.reject(this.#refusal());
    const durable = auditAppendDuration.startTimer();
    return new Promise((resolve, reject) => {
      const settle = (record: AuditRecord) => {
        durable();
        resolve(record);
      };
      this.#queue.push({ entry, resolve: settle, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Reads the records durable when it is called; close() waits for it. */
  query(filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage> {
    return this.#tracked(() => queryAuditFile(this.#handle, this.#size, filter, page));
  }

  findRecord(id: string): Promise<AuditRecord | null> {
    return this.#tracked(() => findAuditFileRecord(this.#handle, this.#size, id));
  }

  /** Reads the records durable when its first record is asked for; close() waits for it to end. */
  async *exportRecords(filter: AuditFilter): AsyncGenerator<ExportedRecord> {
    if (this.#state === 'closed') throw this.#refusal();
    let finished!: () => void;
    const reading = new Promise<void>((resolve) => (finished = resolve));
    this.#reads.add(reading);
    try {
      yield* exportAuditFile(this.#handle, this.#size, filter);
    } finally {
      this.#reads.delete(reading);
      finished();
    }
  }

  #tracked<T>(read: () => Promise<T>): Promise<T> {
    if (this.#state === 'closed') return Promise.reject(this.#refusal());
    const reading = read();
    this.#reads.add(reading);
    const settled = () => void this.#reads.delete(reading);
    reading.then(settled, settled);
    return reading;
  }

  async isWritable(): Promise<boolean> {
    if (this.#state !== 'open') return false;
    if (this.#failedAt !== null && this.#clock().getTime() - this.#failedAt < FAILED_WRITE_HOLD_MS) return false;
    try {
      // Catches the file being deleted or moved away (e.g. by a misconfigured log rotation).
      await access(this.#file, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** Another process took the file's lock over (this one froze past its lease): stop writing. */
  lockLost(): void {
    if (this.#state === 'open' || this.#state === 'closing') this.#state = 'broken';
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    // Yield once so that appends made in the same tick share the first write and fsync.
    await Promise.resolve();
    while (this.#queue.length > 0) await this.#commit(this.#queue.splice(0));
    this.#draining = null;
  }

  async #commit(batch: PendingAppend[]): Promise<void> {
    if (this.#state === 'broken') {
      for (const pending of batch) pending.reject(this.#refusal());
      return;
    }
    const sealed = this.#seal(batch);
    if (sealed.length === 0) return;
    const bytes = Buffer.from(sealed.map(({ record }) => `${JSON.stringify(record)}\n`).join(''), 'utf8');
    try {
      // Checked alongside the write, so it costs no extra wait: records written to a file that was
      // deleted or moved away are durable nowhere anyone will look.
      const [, stillTheFile] = await Promise.all([writeAll(this.#handle, bytes), this.#isStillTheFile()]);
      if (!stillTheFile) {
        this.#state = 'broken';
        this.#logger.error({ audit: { seq: this.#head.seq } }, `the audit file ${this.#file} was deleted or moved away; refusing all appends until KeyDesk restarts`);
        for (const { pending } of sealed) pending.reject(this.#refusal());
        return;
      }
      await this.#handle.sync();
    } catch (error) {
      await this.#rollBack(error);
      for (const { pending } of sealed) pending.reject(new KeyDeskProblem('audit_unavailable', WRITE_FAILED, { cause: error }));
      return;
    }
    this.#acknowledge(sealed, bytes.length);
  }

  #seal(batch: PendingAppend[]): SealedAppend[] {
    return sealBatch(batch, this.#head, { hmacKey: this.#hmacKey, newId: this.#newId, clock: this.#clock });
  }

  #acknowledge(sealed: SealedAppend[], bytesWritten: number): void {
    this.#size += bytesWritten;
    this.#failedAt = null;
    auditBatchSize.observe(sealed.length);
    this.#head = settleDurable(sealed, this.#logger);
  }

  /**
   * Cuts the file back to its last durable record, so a partial line never sits where the next
   * record goes and the chain head stays true. If even that fails, the file's end is unknown:
   * the trail refuses everything until a restart, whose start-up moves any torn bytes aside.
   */
  async #rollBack(error: unknown): Promise<void> {
    this.#failedAt = this.#clock().getTime();
    this.#logger.error({ err: error, audit: { seq: this.#head.seq } }, 'audit write failed; rolling the file back to the last durable record');
    try {
      await this.#handle.truncate(this.#size);
      await this.#handle.sync();
    } catch (rollBackError) {
      this.#state = 'broken';
      this.#logger.error({ err: rollBackError }, 'audit file could not be rolled back; refusing all appends until KeyDesk restarts');
    }
  }

  /** The open file is still the one at the configured path (not unlinked, not renamed away). */
  async #isStillTheFile(): Promise<boolean> {
    const [open, named] = await Promise.all([this.#handle.stat(), stat(this.#file).catch(() => null)]);
    if (named === null || open.nlink === 0) return false;
    // A test double without inode numbers cannot tell; a real FileHandle always has them.
    if (open.ino === undefined || open.dev === undefined) return true;
    return open.ino === named.ino && open.dev === named.dev;
  }

  async #shutDown(): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    await this.#draining;
    await Promise.allSettled([...this.#reads]);
    const healthy = this.#state === 'closing';
    this.#state = 'closed';
    try {
      if (healthy) await this.#handle.sync();
    } catch (error) {
      throw new KeyDeskProblem('audit_unavailable', 'The audit file could not be synced on close.', { cause: error });
    } finally {
      await this.#handle.close();
      await this.#lock.release();
    }
  }

  #refusal(): KeyDeskProblem {
    const detail =
      this.#state === 'broken'
        ? 'The audit trail is out of service (a write could not be rolled back, the audit file was deleted or moved, or another process took over its lock), so KeyDesk ' +
          'will not disclose. The KeyDesk operators must check the audit file and restart KeyDesk.'
        : 'The audit trail is closed because KeyDesk is shutting down; try again shortly.';
    return new KeyDeskProblem('audit_unavailable', detail);
  }
}
