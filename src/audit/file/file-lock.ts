import { randomUUID } from 'node:crypto';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditLogger } from './start-up.js';
import { PRIVATE_FILE_MODE } from './permissions.js';
import { openIfExists } from './file-system.js';

/**
 * `<AUDIT_FILE>.lock`: one process writes a file trail, because two would fork its chain (each
 * numbering its own records from the same head). The lock is a small JSON file (0600) naming its
 * holder — host, pid, when it took the lock — whose modification time the holder refreshes every
 * 5 s.
 *
 * It appears whole or not at all: it is written under a private name and then link(2)ed into
 * place, which fails when a lock already exists (O_EXCL semantics), so of two processes racing
 * for a free lock exactly one gets it. A lock is stale when its holder is a process on this host
 * that no longer exists (a restart right after `kill -9`), or when it has not been refreshed for
 * 30 s (a holder on another host sharing the volume, or a frozen one). Replacing a stale lock
 * takes a claim first: `<lock>.takeover-<id of the stale lock>`, also created with link(2), so of
 * several processes taking over the same stale lock one wins; the winner looks again and renames
 * its own lock over the stale one, so the lock's name never goes missing for a third process to
 * take meanwhile. A claim left by a process that died mid-takeover is itself stale and superseded
 * the same way (`<lock>.takeover-<id of that claim>`).
 *
 * Like every lease, it cannot stop a holder frozen for more than 30 s (a suspended VM) from waking
 * up after it was taken over: that holder notices at its next refresh (the lock at the path is no
 * longer its file) and stops writing. Hosts sharing an audit volume need synchronised clocks.
 */

export const LOCK_REFRESH_MS = 5_000;
export const LOCK_STALE_MS = 30_000;
const POLL_MS = 250;
/** Claims superseding claims, each left by a process that died mid-takeover: more is a bug. */
const MAX_CLAIM_DEPTH = 8;

export interface LockHolder {
  host: string;
  pid: number;
  /** When the holder took the lock (ISO 8601). */
  startedAt: string;
  /** Unique to this holding: what a takeover claim is named after. */
  id: string;
}

/** What is at a lock path: the holder it names (null: unreadable) and when it was last refreshed. */
interface LockState {
  holder: LockHolder | null;
  refreshedMs: number;
  ino: number;
}

/** Another live process holds the audit file: KeyDesk exits 78, naming it. */
export class AuditFileLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | null,
    readonly waitedSeconds: number,
  ) {
    super(
      `The audit file is locked by ${describeHolder(holder)} (${lockPath}), and it still held it after ${waitedSeconds} s (AUDIT_FILE_LOCK_WAIT_SECONDS). ` +
        'One process writes an audit file: stop the other KeyDesk, give this one its own AUDIT_FILE, or use AUDIT_STORE=postgres for several instances.',
    );
    this.name = 'AuditFileLockedError';
  }
}

export function describeHolder(holder: LockHolder | null): string {
  return holder ? `pid ${holder.pid} on host ${holder.host} since ${holder.startedAt}` : 'a process whose lock file cannot be read';
}

/**
 * Who holds `<file>.lock`, judged as a KeyDesk starting on the file judges it: null when there is
 * no lock or a stale one. For a tool that must not take a trail a KeyDesk is still writing.
 */
export async function liveLockHolder(file: string): Promise<{ path: string; holder: LockHolder | null } | null> {
  const path = `${file}.lock`;
  let state: LockState | null;
  try {
    state = await readLock(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    // Another user's lock (0600): its age alone says whether it is live.
    const info = await stat(path);
    state = { holder: null, refreshedMs: info.mtimeMs, ino: info.ino };
  }
  return state === null || isStale(path, state) ? null : { path, holder: state.holder };
}

export interface AuditFileLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Stops refreshing and removes the lock (when it is still this process's). */
  release(): Promise<void>;
}

export interface LockOptions {
  /** The audit file; the lock is `<file>.lock`. */
  file: string;
  waitSeconds: number;
  logger: AuditLogger;
  /** Called once when the lock turns out to have been taken over: stop writing. */
  onLost(): void;
}

/** Lock paths this process holds: a lock naming this pid is alive only if it is one of these. */
const heldHere = new Set<string>();

export async function lockAuditFile(options: LockOptions): Promise<AuditFileLock> {
  const path = `${options.file}.lock`;
  const deadline = Date.now() + options.waitSeconds * 1000;
  let announced = false;
  let vanished = 0;
  for (;;) {
    const taken = await tryLock(path);
    if (taken.handle) return holdLock(path, taken.handle, taken.holder, options);
    const { state } = taken;
    // Released between our attempt and our look: try again at once (a few times, not forever).
    if (state === null && (vanished += 1) <= 3) continue;
    if (Date.now() >= deadline) throw new AuditFileLockedError(path, state?.holder ?? null, options.waitSeconds);
    if (!announced && state) {
      announced = true;
      options.logger.warn({ audit: { lock: path, holder: state.holder } }, `the audit file is locked by another process; waiting up to ${options.waitSeconds} s for it`);
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

type Attempt = { handle: FileHandle; holder: LockHolder; state?: undefined } | { handle?: undefined; state: LockState | null };

/** One attempt: create the lock, or take over a stale one; else report who holds it. */
async function tryLock(path: string): Promise<Attempt> {
  const mine = await writeLockFile(path);
  try {
    if (await linkNew(mine.tempPath, path)) return { handle: mine.handle, holder: mine.holder };
    const state = await readLock(path);
    if (state === null) return await retryLater(mine, null);
    if (!isStale(path, state)) return await retryLater(mine, state);
    if (await takeOver(path, state, mine)) return { handle: mine.handle, holder: mine.holder };
    return await retryLater(mine, state);
  } finally {
    await unlink(mine.tempPath).catch(() => undefined);
  }
}

async function retryLater(mine: { handle: FileHandle }, state: LockState | null): Promise<Attempt> {
  await mine.handle.close();
  return { state };
}

interface LockFile {
  tempPath: string;
  handle: FileHandle;
  holder: LockHolder;
}

/** The lock's content under a private name, fsynced: what link(2) or rename(2) puts in place. */
async function writeLockFile(path: string): Promise<LockFile> {
  const holder: LockHolder = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), id: randomUUID() };
  const tempPath = `${path}.${holder.id}.tmp`;
  const handle = await open(tempPath, 'wx+', PRIVATE_FILE_MODE);
  try {
    // open(2) applies the umask; the holder's name is nobody else's business either.
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  return { tempPath, handle, holder };
}

/** link(2) fails with EEXIST when `to` exists: the atomic "create if absent". */
async function linkNew(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The holder and refresh time read from one open file, so both describe the same lock. */
async function readLock(path: string): Promise<LockState | null> {
  const handle = await openIfExists(path);
  if (handle === null) return null;
  try {
    const [info, text] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    return { holder: parseHolder(text), refreshedMs: info.mtimeMs, ino: info.ino };
  } finally {
    await handle.close();
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    const valid = typeof value.host === 'string' && Number.isInteger(value.pid) && typeof value.startedAt === 'string' && typeof value.id === 'string';
    return valid ? (value as LockHolder) : null;
  } catch {
    return null;
  }
}

function isStale(path: string, state: LockState): boolean {
  if (Date.now() - state.refreshedMs > LOCK_STALE_MS) return true;
  const { holder } = state;
  if (holder === null || holder.host !== hostname()) return false;
  // The same pid as ours: a previous life of this container or host (PID 1 again), unless this
  // very process holds it.
  if (holder.pid === process.pid) return !heldHere.has(path);
  return !processExists(holder.pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Replaces the stale lock `stale` with `mine`, if this process wins the claim on it (see the
 * module comment). False: someone else is taking it over, or it changed meanwhile.
 */
async function takeOver(path: string, stale: LockState, mine: LockFile): Promise<boolean> {
  const claim = await writeLockFile(path);
  const claims: string[] = [];
  try {
    let supersedes = stale.holder?.id ?? `ino-${stale.ino}`;
    for (let depth = 0; ; depth += 1) {
      if (depth === MAX_CLAIM_DEPTH) return false;
      const claimPath = `${path}.takeover-${supersedes}`;
      if (await linkNew(claim.tempPath, claimPath)) {
        claims.push(claimPath);
        heldHere.add(claimPath);
        break;
      }
      const other = await readLock(claimPath);
      if (other === null) continue;
      if (!isStale(claimPath, other)) return false;
      claims.push(claimPath);
      supersedes = other.holder?.id ?? `ino-${other.ino}`;
    }
    const current = await readLock(path);
    if (current === null || current.ino !== stale.ino || !isStale(path, current)) return false;
    await rename(mine.tempPath, path);
    return true;
  } finally {
    await claim.handle.close();
    await unlink(claim.tempPath).catch(() => undefined);
    // Claims on a lock that is gone are harmless (their winner looks again and finds it gone),
    // so the ones this attempt walked through are removed whether it won or not.
    for (const claimPath of claims) {
      heldHere.delete(claimPath);
      await unlink(claimPath).catch(() => undefined);
    }
  }
}

function holdLock(path: string, handle: FileHandle, holder: LockHolder, options: LockOptions): AuditFileLock {
  heldHere.add(path);
  let lost = false;
  let refreshing: Promise<void> = Promise.resolve();
  const refresh = async () => {
    if (lost) return;
    const now = new Date();
    try {
      await handle.utimes(now, now);
    } catch (error) {
      options.logger.warn({ err: error, audit: { lock: path } }, 'the audit file lock could not be refreshed');
    }
    if (await isStillMine(path, handle)) return;
    lost = true;
    clearInterval(timer);
    heldHere.delete(path);
    options.logger.error({ audit: { lock: path } }, `the audit file lock ${path} was taken over by another process; refusing all appends until KeyDesk restarts`);
    options.onLost();
  };
  const timer = setInterval(() => (refreshing = refresh()), LOCK_REFRESH_MS);
  timer.unref();
  options.logger.info({ audit: { lock: path, holder } }, 'audit file locked');
  let released: Promise<void> | null = null;
  const release = () => {
    released ??= (async () => {
      clearInterval(timer);
      await refreshing;
      heldHere.delete(path);
      if (!lost && (await isStillMine(path, handle))) await unlink(path).catch(() => undefined);
      await handle.close();
    })();
    return released;
  };
  return { path, holder, release };
}

/** The file at the lock's path is the one this process created (not a successor's). */
async function isStillMine(path: string, handle: FileHandle): Promise<boolean> {
  const [own, named] = await Promise.all([handle.stat(), stat(path).catch(() => null)]);
  return named !== null && named.ino === own.ino && named.dev === own.dev;
}
