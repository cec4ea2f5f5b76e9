import { appendPrivateText, openIfExists, readAt } from '../file/file-system.js';
import { checkpointLine, parseCheckpoint, type Checkpoint } from './checkpoint.js';

/**
 * A file of checkpoints, one JSON line each, appended and fsynced: the file store's
 * `<AUDIT_FILE>.checkpoints.jsonl`, or `AUDIT_CHECKPOINT_URL` when it names a file. Only the last
 * line is ever read back, so the file can grow for years without slowing start-up.
 */

/** Where the file store keeps its checkpoints. */
export function checkpointFileOf(auditFile: string): string {
  return `${auditFile}.checkpoints.jsonl`;
}

/** Appends one checkpoint and resolves once it is on disk. The file is created 0600. */
export async function appendCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  await appendPrivateText(path, checkpointLine(checkpoint));
}

const LAST_LINE_WINDOW = 4096;

/**
 * The file's last checkpoint; null for a missing or empty file. Throws an Error saying what is
 * wrong when the last line is not a checkpoint (a torn write, an edit).
 */
export async function readLastCheckpoint(path: string): Promise<Checkpoint | null> {
  const handle = await openIfExists(path);
  if (handle === null) return null;
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - LAST_LINE_WINDOW);
    const text = (await readAt(handle, start, size - start)).toString('utf8').replace(/\n$/, '');
    if (text.trim() === '') return null;
    const line = text.slice(text.lastIndexOf('\n') + 1);
    try {
      return parseCheckpoint(line);
    } catch (error) {
      throw new Error(`the last line of ${path} is not a checkpoint: ${(error as Error).message}`);
    }
  } finally {
    await handle.close();
  }
}
