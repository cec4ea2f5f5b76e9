import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { MIGRATIONS } from '../../src/audit/postgres/migrations.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { CLIENT_ID, TENANT_ID } from '../helpers/entra.js';
import { freePort } from '../helpers/net.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from './pg-kit.js';

const ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'server', 'main.js');
const DIR = join(ARTIFACTS_DIR, 'workers', randomUUID().slice(0, 8));

interface LogLine {
  msg: string;
  worker?: number;
  pid?: number;
}

interface Primary {
  child: ChildProcessWithoutNullStreams;
  port: number;
  lines(): LogLine[];
  text(): string;
  exited: Promise<number | null>;
  /** Pids of the workers that logged "KeyDesk listening", in order. */
  listening(): number[];
}

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  onTestFinished(() => db.drop());
  return db;
}

/** `npm start` with WORKERS on the PostgreSQL store, as a host with several cores runs it. */
async function startPrimary(db: TestDatabase, workers: number): Promise<Primary> {
  const port = await freePort();
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      AZURE_TENANT_ID: TENANT_ID,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: 'workers-test-secret',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_STORE: 'postgres',
      DATABASE_URL: db.url,
      WORKERS: String(workers),
      LOG_LEVEL: 'info',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  const primary: Primary = {
    child,
    port,
    lines,
    text: () => output,
    exited,
    listening: () => lines().filter((line) => line.msg === 'KeyDesk listening').map((line) => line.pid!),
  };
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    for (const pid of workerPids(primary)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, `primary-${child.pid}.log`), output);
  });
  return primary;
}

function workerPids(primary: Primary): number[] {
  return [...new Set(primary.lines().flatMap((line) => (line.worker === undefined ? [] : [line.pid!])))];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function health(port: number): Promise<number | undefined> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status;
}

/** What a newer KeyDesk leaves behind: a schema version this one does not know. */
async function schemaFromTheFuture(db: TestDatabase): Promise<void> {
  await superuser(SHARED_PG, (client) => client.query(`INSERT INTO keydesk.schema_migrations (version, description) VALUES (999, 'from a newer KeyDesk')`), db.name);
}

describe('WORKERS: several KeyDesk processes on one host', () => {
  it('runs the workers on one port, replaces one killed with kill -9, and drains them all on SIGTERM (exit 0)', async () => {
    const db = await database();
    const primary = await startPrimary(db, 3);
    await expect.poll(() => primary.listening().length, { timeout: 20_000, interval: 100 }).toBe(3);
    const first = primary.listening();
    expect(new Set(first).size).toBe(3);
    expect(first).not.toContain(primary.child.pid);
    // The primary migrated the schema once, before forking; no worker had anything left to do.
    const migrated = primary.lines().filter((line) => line.msg.startsWith('audit schema migrated'));
    expect(migrated).toHaveLength(MIGRATIONS.length);
    for (const line of migrated) expect(line).not.toHaveProperty('worker');
    for (let n = 0; n < 10; n += 1) expect(await health(primary.port)).toBe(200);

    process.kill(first[0]!, 'SIGKILL');
    await expect.poll(() => primary.text(), { timeout: 5_000, interval: 50 }).toContain('a worker died; starting another');
    // The others go on serving while it is replaced.
    for (let n = 0; n < 10; n += 1) expect(await health(primary.port)).toBe(200);
    await expect.poll(() => primary.listening().length, { timeout: 20_000, interval: 100 }).toBe(4);
    const replacement = primary.listening()[3]!;
    expect(first).not.toContain(replacement);

    primary.child.kill('SIGTERM');
    expect(await primary.exited).toBe(0);
    const live = [...first.slice(1), replacement];
    const closed = primary.lines().filter((line) => line.msg === 'audit log flushed and closed; bye').map((line) => line.pid);
    expect(closed.sort()).toEqual(live.sort());
    for (const pid of live) expect(alive(pid)).toBe(false);
    expect(await health(primary.port)).toBeUndefined();
  }, 60_000);

  it('stops every worker and exits 78 when a worker exits 78 (its schema is newer than it knows)', async () => {
    const db = await database();
    const primary = await startPrimary(db, 2);
    await expect.poll(() => primary.listening().length, { timeout: 20_000, interval: 100 }).toBe(2);
    const [doomed, survivor] = primary.listening() as [number, number];
    await schemaFromTheFuture(db);

    process.kill(doomed, 'SIGKILL');
    expect(await primary.exited).toBe(78);
    expect(primary.text()).toContain('is at version 999, newer than this KeyDesk understands');
    expect(primary.text()).toContain('a worker stopped on a configuration problem');
    expect(alive(survivor)).toBe(false);
    expect(primary.lines().filter((line) => line.msg === 'audit log flushed and closed; bye').map((line) => line.pid)).toEqual([survivor]);
  }, 60_000);

  it('drains and stops the workers of a primary killed with kill -9', async () => {
    const db = await database();
    const primary = await startPrimary(db, 2);
    await expect.poll(() => primary.listening().length, { timeout: 20_000, interval: 100 }).toBe(2);
    const workers = primary.listening();

    primary.child.kill('SIGKILL');
    await primary.exited;
    for (const pid of workers) await expect.poll(() => alive(pid), { timeout: 10_000, interval: 100 }).toBe(false);
    // The workers share the primary's stdout, which outlives it.
    const closed = primary.lines().filter((line) => line.msg === 'audit log flushed and closed; bye').map((line) => line.pid);
    expect(closed.sort()).toEqual([...workers].sort());
    expect(await health(primary.port)).toBeUndefined();
  }, 30_000);

  it('exits 78 before forking any worker when the schema is one it cannot run on', async () => {
    const db = await database();
    await prepareAuditSchema(db.url, memoryLogger().logger);
    await schemaFromTheFuture(db);
    const primary = await startPrimary(db, 2);
    expect(await primary.exited).toBe(78);
    expect(primary.text()).toContain('newer than this KeyDesk understands');
    expect(primary.text()).not.toContain('KeyDesk primary: starting');
  }, 30_000);
});
