import { appendFile, chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { disclosureEntry, memoryLogger, tempAuditFile, writeTrail } from './audit-kit.js';

/** Records name staff, requesters and devices: the trail is its owner's alone (issue §2.10). */

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function openAndClose(file: string) {
  const log = memoryLogger();
  const trail = await openFileAuditTrail({ file, hmacKey: null, logger: log.logger });
  await trail.append(disclosureEntry());
  await trail.close();
  return log.lines.filter((line) => line.level === 40).map((line) => line.msg);
}

describe('FileAuditTrail file modes', () => {
  let umask: number;
  // The most permissive umask: every mode below is KeyDesk's own, not the process's.
  beforeEach(() => {
    umask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(umask);
  });

  it('creates the trail file 0600 and every folder it creates 0700', async () => {
    const root = dirname(dirname(await tempAuditFile()));
    const file = join(root, 'var', 'keydesk', 'audit.jsonl');

    const warnings = await openAndClose(file);

    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(join(root, 'var', 'keydesk'))).toBe(0o700);
    expect(await modeOf(join(root, 'var'))).toBe(0o700);
    expect(warnings).toEqual([]);
  });

  it('gives the owner read and write even under a umask that would take them away', async () => {
    process.umask(0o277);
    const file = await tempAuditFile();

    await openAndClose(file);

    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(dirname(file))).toBe(0o700);
  });

  it('creates the file holding a torn tail 0600', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2);
    await appendFile(file, '{"seq":3,"id":"');

    await openAndClose(file);

    const [torn] = (await readdir(dirname(file))).filter((name) => name.includes('.torn-'));
    expect(await modeOf(join(dirname(file), torn!))).toBe(0o600);
  });

  it('warns at start-up, naming the chmod to run, about an existing trail file, torn tail or folder others can read', async () => {
    const root = await mkdtemp(join(tmpdir(), "keydesk o'brien "));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    const file = join(root, 'audit.jsonl');
    await writeFile(file, '');
    await writeFile(`${file}.torn-2026-01-01T00-00-00.000Z`, '{"seq":');
    await chmod(root, 0o755);
    await chmod(file, 0o644);
    await chmod(`${file}.torn-2026-01-01T00-00-00.000Z`, 0o640);

    const warnings = await openAndClose(file);

    const quoted = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`mode 0755: group or others can use it.*; run: chmod 700 ${escape(quoted(root))}$`)),
      expect.stringMatching(new RegExp(`mode 0644: .*; run: chmod 600 ${escape(quoted(file))}$`)),
      expect.stringMatching(new RegExp(`mode 0640: .*; run: chmod 600 ${escape(quoted(`${file}.torn-2026-01-01T00-00-00.000Z`))}$`)),
    ]);
    expect(warnings[0]).toContain(`chmod 700 '${root.replace("'", `'\\''`)}'`);
    // Only a warning: the operator decides; the mode is left as it was.
    expect(await modeOf(file)).toBe(0o644);
  });

  it('does not warn about a trail only its owner can use', async () => {
    const file = await tempAuditFile();
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, '', { mode: 0o600 });

    expect(await openAndClose(file)).toEqual([]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
