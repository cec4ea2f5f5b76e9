import { openIfExists } from '../audit/file/file-system.js';
import { replaceFile } from '../key-index/file-store.js';
import { MemoryRotationStore } from './memory-store.js';
import type { Rotation, RotationStore } from './types.js';

/**
 * The file store's rotations: `<AUDIT_FILE>.rotations.jsonl`, 0600, one line per rotation. It is
 * rewritten whole and atomically after every change (a temporary file written and fsynced,
 * renamed over the old one, the folder fsynced), and the change is answered only once it is on
 * disk: a crash leaves the rotations as they were before or after, never half of each. Rotations
 * are a few per disclosure, so a whole rewrite costs little. One process only, as the file trail.
 */

export function rotationsFileOf(auditFile: string): string {
  return `${auditFile}.rotations.jsonl`;
}

class FileRotationStore extends MemoryRotationStore {
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {
    super();
  }

  load(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const rotation = JSON.parse(line) as Rotation;
      this.rotations.set(rotation.id, rotation);
    }
  }

  /** Serialised: each write is of every rotation as it is when the write starts. */
  protected override changed(): Promise<void> {
    const run = this.#writing.then(() => replaceFile(this.path, [...this.rotations.values()].map((rotation) => `${JSON.stringify(rotation)}\n`)));
    this.#writing = run.catch(() => undefined);
    return run;
  }

  override async close(): Promise<void> {
    await this.#writing;
  }
}

export async function openFileRotationStore(auditFile: string): Promise<RotationStore> {
  const store = new FileRotationStore(rotationsFileOf(auditFile));
  const handle = await openIfExists(store.path);
  if (handle) {
    try {
      // Written whole and renamed into place: every line is complete, or the file is the old one.
      store.load(await handle.readFile('utf8'));
    } finally {
      await handle.close();
    }
  }
  return store;
}
