import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { CLIENT_ID, TENANT_ID } from '../helpers/entra.js';
import { freePort } from '../helpers/net.js';
import { disclosureEntry, memoryLogger, tempAuditFile } from './audit-kit.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY = join(ROOT, 'dist', 'src', 'server', 'main.js');
const RACER = join(import.meta.dirname, 'file-lock-racer.mjs');
const DIR = join(ARTIFACTS_DIR, 'file-lock', randomUUID().slice(0, 8));

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start` as a deployment runs it, on `auditFile`; stopped (SIGKILL) after the test if still running. */
async function startKeyDesk(auditFile: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      AZURE_TENANT_ID: TENANT_ID,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: 'lock-test-secret',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_FILE: auditFile,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await writeFile(join(DIR, `keydesk-${child.pid}.log`), output);
  });
  return { child, port, output: () => output, exited };
}

async function serving(running: Running, timeout = 10_000): Promise<void> {
  await expect
    .poll(async () => (await fetch(`http://127.0.0.1:${running.port}/healthz`).catch(() => null))?.status, { timeout, interval: 100 })
    .toBe(200);
}

async function readHolder(auditFile: string): Promise<{ host: string; pid: number; startedAt: string; id: string }> {
  return JSON.parse(await readFile(`${auditFile}.lock`, 'utf8')) as { host: string; pid: number; startedAt: string; id: string };
}

/** A lock file as another host's KeyDesk leaves it, last refreshed `ageMs` ago. */
async function foreignLock(auditFile: string, ageMs: number): Promise<void> {
  await mkdir(dirname(auditFile), { recursive: true, mode: 0o700 });
  const holder = { host: 'keydesk-other-host', pid: 4242, startedAt: '2025-03-04T05:06:07.089Z', id: randomUUID() };
  await writeFile(`${auditFile}.lock`, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  const refreshed = new Date(Date.now() - ageMs);
  await utimes(`${auditFile}.lock`, refreshed, refreshed);
}

/** `count` processes try to lock `auditFile` at the same moment; what each said, once all have. */
async function race(auditFile: string, count: number): Promise<{ outcomes: string[]; pids: number[]; end(): Promise<void> }> {
  const startAt = Date.now() + 1_500;
  const racers = Array.from({ length: count }, () => spawn(process.execPath, [RACER, auditFile, String(startAt)]));
  const outcomes = await Promise.all(
    racers.map(
      (racer) =>
        new Promise<string>((resolve) => {
          let text = '';
          racer.stdout.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes('\n')) resolve(text.trim());
          });
          racer.on('exit', () => resolve(text.trim()));
        }),
    ),
  );
  const end = async () => {
    await Promise.all(racers.map((racer) => new Promise((resolve) => (racer.exitCode !== null ? resolve(null) : (racer.on('exit', resolve), racer.stdin.end())))));
  };
  onTestFinished(end);
  return { outcomes, pids: racers.map((racer) => racer.pid!), end };
}

describe('the audit file lock between KeyDesk processes', () => {
  it('makes a second KeyDesk on the same audit file wait AUDIT_FILE_LOCK_WAIT_SECONDS, then exit 78 naming the holder', async () => {
    await mkdir(DIR, { recursive: true });
    const auditFile = join(DIR, 'second', 'audit.jsonl');
    const first = await startKeyDesk(auditFile);
    await serving(first);
    const holder = await readHolder(auditFile);
    expect(holder).toMatchObject({ host: hostname(), pid: first.child.pid });
    expect((await stat(`${auditFile}.lock`)).mode & 0o777).toBe(0o600);

    const began = Date.now();
    const second = await startKeyDesk(auditFile, { AUDIT_FILE_LOCK_WAIT_SECONDS: '1' });
    expect(await second.exited).toBe(78);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_000);
    expect(second.output()).toContain(`locked by pid ${first.child.pid} on host ${hostname()} since ${holder.startedAt}`);
    expect(second.output()).not.toContain('KeyDesk listening');

    // The holder went on serving, and removes its lock when it stops.
    expect((await fetch(`http://127.0.0.1:${first.port}/healthz`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(`${auditFile}.lock`)).toBe(false);
  });

  it('starts at once after the holder was killed with kill -9, its pid being gone from this host', async () => {
    const auditFile = join(DIR, 'kill-9', 'audit.jsonl');
    const first = await startKeyDesk(auditFile);
    await serving(first);
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await readHolder(auditFile)).pid).toBe(first.child.pid);

    // Well within the 30 s a lock takes to go stale by age: the dead pid is what counts.
    const restarted = await startKeyDesk(auditFile);
    await serving(restarted, 5_000);
    expect(await readHolder(auditFile)).toMatchObject({ host: hostname(), pid: restarted.child.pid });
    expect(restarted.output()).not.toContain('waiting up to');
  });

  it('takes over a lock another host has not refreshed for 30 s', async () => {
    const auditFile = join(DIR, 'stale', 'audit.jsonl');
    await foreignLock(auditFile, 60_000);
    const running = await startKeyDesk(auditFile, { AUDIT_FILE_LOCK_WAIT_SECONDS: '1' });
    await serving(running);
    expect(await readHolder(auditFile)).toMatchObject({ host: hostname(), pid: running.child.pid });
  });

  it('waits for a lock another host refreshed recently, then exits 78 naming it', async () => {
    const auditFile = join(DIR, 'fresh', 'audit.jsonl');
    await foreignLock(auditFile, 0);
    const running = await startKeyDesk(auditFile, { AUDIT_FILE_LOCK_WAIT_SECONDS: '1' });
    expect(await running.exited).toBe(78);
    expect(running.output()).toContain('locked by pid 4242 on host keydesk-other-host since 2025-03-04T05:06:07.089Z');
    expect((await readHolder(auditFile)).host).toBe('keydesk-other-host');
  });

  it.each([
    ['a free lock', null],
    ['a stale lock (another host, not refreshed for a minute)', 60_000],
  ])('gives %s to exactly one of four processes racing for it', async (_, staleAgeMs) => {
    for (let round = 0; round < 3; round += 1) {
      const auditFile = join(DIR, `race-${staleAgeMs ?? 'free'}-${round}`, 'audit.jsonl');
      if (staleAgeMs === null) await mkdir(dirname(auditFile), { recursive: true });
      else await foreignLock(auditFile, staleAgeMs);
      const { outcomes, pids, end } = await race(auditFile, 4);
      expect(outcomes.filter((outcome) => outcome === 'won')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'locked')).toHaveLength(3);
      expect((await readHolder(auditFile)).pid).toBe(pids[outcomes.indexOf('won')]);
      await end();
    }
  }, 30_000);
});

describe('the audit file lock within a running trail', () => {
  it('is refreshed every 5 s, and a trail whose lock another process took over refuses appends', async () => {
    const file = await tempAuditFile();
    const log = memoryLogger();
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: log.logger });
    const lock = `${file}.lock`;
    const taken = (await stat(lock)).mtimeMs;
    await expect.poll(async () => (await stat(lock)).mtimeMs, { timeout: 7_000, interval: 200 }).toBeGreaterThan(taken);
    await trail.append(disclosureEntry());

    // What a takeover leaves at the lock's path: another file, naming another holder.
    await writeFile(`${lock}.other`, JSON.stringify({ host: 'keydesk-other-host', pid: 4242, startedAt: new Date().toISOString(), id: randomUUID() }));
    await rename(`${lock}.other`, lock);
    await expect
      .poll(async () => trail.append(disclosureEntry()).then(() => 'appended', (error: { code?: string }) => error.code), { timeout: 7_000, interval: 200 })
      .toBe('audit_unavailable');
    expect(log.text()).toContain('was taken over by another process');
    await trail.close();
    // Closing leaves the new holder's lock alone.
    expect((await readHolder(file)).host).toBe('keydesk-other-host');
  }, 20_000);
});
