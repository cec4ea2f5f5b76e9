import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_FILE_MODE } from './permissions.js';

/**
 * The few file operations the trail performs, as a seam: tests run as root, where permissions
 * cannot provoke a failed write or fsync, so they inject a handle that fails on demand.
 * A `node:fs/promises` FileHandle satisfies `AuditFileHandle` as it is.
 */
export interface AuditFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  chmod(mode: number): Promise<void>;
  /** `ino`, `dev` and `nlink` let the trail notice its file being deleted or moved away. */
  stat(): Promise<{ size: number; ino?: number; dev?: number; nlink?: number }>;
  close(): Promise<void>;
}

export interface AuditFileSystem {
  /** `mode` applies when the file is created (through the umask, as open(2) does). */
  open(path: string, flags: string, mode?: number): Promise<AuditFileHandle>;
}

export const nodeFileSystem: AuditFileSystem = {
  open: (path, flags, mode) => open(path, flags, mode),
};

/** write(2) may accept fewer bytes than asked (a full disk, a signal); a record is all or nothing. */
export async function writeAll(handle: AuditFileHandle, buffer: Buffer): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(buffer.subarray(written));
    if (bytesWritten <= 0) throw new Error(`the file system accepted no bytes after ${written} of ${buffer.length}`);
    written += bytesWritten;
  }
}

export async function readAt(handle: AuditFileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * A new file's name is only durable once its directory is fsynced. Best effort: some platforms
 * (Windows) and file systems refuse to open or fsync a directory, and the records themselves are
 * fsynced regardless.
 */
export async function syncDirectory(fileSystem: AuditFileSystem, directory: string): Promise<void> {
  try {
    const handle = await fileSystem.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort, see above.
  }
}

/** The file opened for reading; null when there is no such file. */
export async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Appends `text` to a private (0600) file and resolves once it and the file's name are on disk:
 * the checkpoint log and the file store's record of Entra's key reads.
 */
export async function appendPrivateText(path: string, text: string): Promise<void> {
  const handle = await open(path, 'a', PRIVATE_FILE_MODE);
  try {
    const { size } = await handle.stat();
    if (size === 0) await handle.chmod(PRIVATE_FILE_MODE);
    await writeAll(handle, Buffer.from(text, 'utf8'));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(nodeFileSystem, dirname(path));
}
