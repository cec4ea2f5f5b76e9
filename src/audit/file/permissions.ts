import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * Who may read the trail. Records name staff, requesters and devices, and a reader of the folder
 * sees which torn tails were moved aside, so every file KeyDesk creates is the owner's alone.
 * Modes are set with chmod after creating: mkdir(2) and open(2) apply the process's umask, which
 * KeyDesk does not control (a container's may be 0000 or 0277).
 */

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_FOLDER_MODE = 0o700;

/** Any permission bit for group or others. */
const SHARED_BITS = 0o077;

/** Creates `folder` and its missing parents, each 0700; an existing folder is left as it is. */
export async function makePrivateFolder(folder: string): Promise<void> {
  const target = resolve(folder);
  const first = await mkdir(target, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  if (first === undefined) return;
  const top = resolve(first);
  for (let current = target; ; current = dirname(current)) {
    await chmod(current, PRIVATE_FOLDER_MODE);
    if (current === top || dirname(current) === current) break;
  }
}

/**
 * Warns, with the command that fixes it, about each existing trail file (the trail, its torn
 * tails) or the trail's folder that group or others may use. Start-up goes on: refusing to start
 * would stop every disclosure over a mode an operator can fix in a second.
 */
export async function warnAboutSharedModes(file: string, logger: Pick<Logger, 'warn'>): Promise<void> {
  // Windows has no POSIX modes; stat reports 0666 for every writable file there.
  if (process.platform === 'win32') return;
  const path = resolve(file);
  const folder = dirname(path);
  await warnIfShared(folder, 'folder', logger);
  // A folder KeyDesk may write to but not list (mode 0300) still holds a usable trail.
  const names = await readdir(folder).catch(() => [] as string[]);
  const torn = names.filter((name) => name.startsWith(`${basename(path)}.torn-`)).map((name) => join(folder, name));
  for (const trailFile of [path, ...torn]) await warnIfShared(trailFile, 'file', logger);
}

async function warnIfShared(path: string, kind: 'file' | 'folder', logger: Pick<Logger, 'warn'>): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & SHARED_BITS) === 0) return;
  const wanted = kind === 'file' ? PRIVATE_FILE_MODE : PRIVATE_FOLDER_MODE;
  const command = `chmod ${wanted.toString(8)} ${shellQuoted(path)}`;
  logger.warn(
    { audit: { path, mode: octal(mode), fix: command } },
    `the audit ${kind} ${path} has mode ${octal(mode)}: group or others can use it, and audit records name staff, requesters and devices; run: ${command}`,
  );
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** Single-quoted for a POSIX shell, so a path with spaces or quotes can be pasted as it is. */
function shellQuoted(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}
