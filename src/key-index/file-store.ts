import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RecoveryKeyMetadata } from '../graph/types.js';
import { nodeFileSystem, openIfExists, syncDirectory, writeAll } from '../audit/file/file-system.js';
import { PRIVATE_FILE_MODE } from '../audit/file/permissions.js';
import { MemoryKeyIndex } from './memory-store.js';
import type { IndexedKey, KeyIndexStore, KeyIndexSyncStatus } from './types.js';

/**
 * The file store's key index: `key-index.jsonl` beside the audit file, 0600 — a `sync` line (the
 * last sync's status), then one `key` line per indexed key. It is rewritten whole and atomically
 * (a temporary file written and fsynced, renamed over the old one, the folder fsynced), so a crash
 * leaves the old index or the new one, never half of each. After a full sync the write is
 * awaited; a device's refresh (each read of its key list) is written within REFRESH_WRITE_DELAY_MS,
 * coalesced, since rewriting 100,000 lines per read would cost more than the refresh is worth:
 * the index is a copy of what Graph holds, and the next sync or read redoes a refresh a crash lost.
 * One process only, as the file trail itself.
 */

const REFRESH_WRITE_DELAY_MS = 2_000;
const CHUNK_LINES = 5_000;

type Line = { type: 'sync'; status: KeyIndexSyncStatus } | { type: 'key'; key: IndexedKey };

export function keyIndexFileOf(auditFile: string): string {
  return join(dirname(auditFile), 'key-index.jsonl');
}

async function readLines(path: string): Promise<Line[]> {
  const handle = await openIfExists(path);
  if (!handle) return [];
  let text: string;
  try {
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  // Written whole and renamed into place: every line is complete, or the file is the old one.
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Line);
}

/** Writes `lines` to a private temporary file, fsyncs it, renames it over `path`, fsyncs the folder. */
export async function replaceFile(path: string, lines: readonly string[]): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    for (let start = 0; start < lines.length; start += CHUNK_LINES) {
      await writeAll(handle, Buffer.from(lines.slice(start, start + CHUNK_LINES).join(''), 'utf8'));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDirectory(nodeFileSystem, dirname(path));
}

class FileKeyIndex extends MemoryKeyIndex {
  #writing: Promise<void> = Promise.resolve();
  #pending: NodeJS.Timeout | null = null;

  constructor(readonly path: string) {
    super();
  }

  load(lines: readonly Line[]): void {
    for (const line of lines) {
      // A sync that was running when the process stopped did not finish.
      if (line.type === 'sync') this.sync = line.status.state === 'running' ? { ...line.status, state: 'failed', error: 'interrupted: KeyDesk stopped during the sync' } : line.status;
      else this.set(line.key.id, line.key);
    }
  }

  /** Serialised: each write is of the whole index as it is when the write starts. */
  #write(): Promise<void> {
    const run = this.#writing.then(() => {
      const lines = [`${JSON.stringify({ type: 'sync', status: this.sync } satisfies Line)}\n`];
      for (const key of this.keys.values()) lines.push(`${JSON.stringify({ type: 'key', key } satisfies Line)}\n`);
      return replaceFile(this.path, lines);
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }

  override async refreshDevice(deviceId: string, keys: readonly RecoveryKeyMetadata[], at: string): Promise<void> {
    await super.refreshDevice(deviceId, keys, at);
    this.#pending ??= setTimeout(() => {
      this.#pending = null;
      void this.#write().catch(() => undefined);
    }, REFRESH_WRITE_DELAY_MS);
    this.#pending.unref();
  }

  override async endSync(outcome: Parameters<KeyIndexStore['endSync']>[0]): Promise<void> {
    await super.endSync(outcome);
    await this.#write();
  }

  override async close(): Promise<void> {
    if (this.#pending) {
      clearTimeout(this.#pending);
      this.#pending = null;
      await this.#write();
    }
    await this.#writing;
  }
}

export async function openFileKeyIndex(auditFile: string): Promise<KeyIndexStore> {
  const store = new FileKeyIndex(keyIndexFileOf(auditFile));
  store.load(await readLines(store.path));
  return store;
}
