import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_FILE_MODE } from './permissions.js';

/**
 * A small private state file beside the trail (0600), replaced whole and atomically: written
 * aside, fsynced, renamed over the old one, the folder fsynced. A crash leaves the old content or
 * the new, never half of either.
 */

async function fsyncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function replaceFileAtomically(path: string, content: string): Promise<void> {
  const aside = `${path}.tmp`;
  const handle = await open(aside, 'w', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(aside, path);
  await fsyncFolder(dirname(path));
}

/** The JSON a state file holds, checked by `parse`; null when there is no file yet. */
export async function readPrivateJson<T>(path: string, parse: (value: unknown) => T, whenUnreadable: string): Promise<T | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return parse(JSON.parse(await handle.readFile('utf8')));
  } catch (error) {
    throw new Error(`${path} cannot be read (${(error as Error).message}): ${whenUnreadable}`, { cause: error });
  } finally {
    await handle.close();
  }
}
