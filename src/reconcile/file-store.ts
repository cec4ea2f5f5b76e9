import { readFile, truncate } from 'node:fs/promises';
import { appendPrivateText } from '../audit/file/file-system.js';
import { MemoryReconciliationStore } from './memory-store.js';
import type { ReconcileRun, ReconciliationStore, StoredKeyRead } from './types.js';

/**
 * The file store's record of Entra's key reads: `<AUDIT_FILE>.entra-key-reads.jsonl`, 0600, one
 * fsynced JSON line per change — a read stored (`key_read`), an out-of-band read reported
 * (`reported`), a run finished (`run`). Read whole at start-up: a tenant's key reads are a few a
 * day, so years of them fit in memory. One process only, as the file trail itself.
 */

type Line =
  | { type: 'key_read'; read: StoredKeyRead }
  | { type: 'reported'; entraEventId: string; recordId: string }
  | { type: 'run'; run: ReconcileRun };

export function keyReadFileOf(auditFile: string): string {
  return `${auditFile}.entra-key-reads.jsonl`;
}

async function readLines(path: string): Promise<Line[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  const last = lines.at(-1)!;
  // A torn last line (a crash mid-write) is a change that never completed: cut off, the next run redoes it.
  if (last !== '' && !isJson(last)) {
    lines.pop();
    await truncate(path, Buffer.byteLength(text, 'utf8') - Buffer.byteLength(last, 'utf8'));
  }
  return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Line);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

class FileReconciliationStore extends MemoryReconciliationStore {
  constructor(readonly path: string) {
    super();
  }

  replay(line: Line): void {
    if (line.type === 'key_read') this.remember(line.read);
    else if (line.type === 'reported') this.markReported(line.entraEventId, line.recordId);
    else this.recordRun(line.run);
  }

  async #write(line: Line): Promise<void> {
    await appendPrivateText(this.path, `${JSON.stringify(line)}\n`);
  }

  override async addKeyRead(read: StoredKeyRead): Promise<boolean> {
    if (this.reads.has(read.entraEventId)) return false;
    await this.#write({ type: 'key_read', read });
    return this.remember(read);
  }

  override async completeReport(entraEventId: string, recordId: string): Promise<void> {
    await this.#write({ type: 'reported', entraEventId, recordId });
    this.markReported(entraEventId, recordId);
  }

  override async endRun(run: ReconcileRun): Promise<void> {
    try {
      await this.#write({ type: 'run', run });
    } finally {
      await super.endRun(run);
    }
  }
}

export async function openFileReconciliationStore(auditFile: string): Promise<ReconciliationStore> {
  const store = new FileReconciliationStore(keyReadFileOf(auditFile));
  for (const line of await readLines(store.path)) store.replay(line);
  return store;
}
