import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import pg from 'pg';
import { checkpointLine, type Checkpoint } from '../../src/audit/checkpoints/checkpoint.js';
import type { ChainHead } from '../../src/audit/chain.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { disclosureEntry, memoryLogger, sealedLines, tempAuditFile, writeLines } from '../audit/audit-kit.js';
export { checkpointFile, signingKey } from '../audit/checkpoints/checkpoint-kit.js';
import { createTestDatabase, SHARED_PG, superuser, type TestDatabase } from './pg-kit.js';

/**
 * For the audit tools' tests: trails as files, migrated databases, the built CLIs run as an
 * operator runs them, and the superuser's ways round the append-only triggers.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const TOOLS = {
  verify: join(ROOT, 'dist', 'src', 'audit', 'verify-cli.js'),
  export: join(ROOT, 'dist', 'src', 'audit', 'postgres', 'export-cli.js'),
  import: join(ROOT, 'dist', 'src', 'audit', 'postgres', 'import-cli.js'),
};

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for an export to stdout. */
  bytes: Buffer;
}

/** Runs `npm run audit:<tool> -- ...args` as the compiled script (global setup builds dist/), with only `env` set. */
export function runTool(tool: keyof typeof TOOLS, args: readonly string[], env: Record<string, string> = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TOOLS[tool], ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), bytes: stdout });
    });
  });
}

/** Migrates the schema as `npm run db:migrate` (and KeyDesk at start-up) does, as the superuser. */
export async function migrate(url: string): Promise<void> {
  await prepareAuditSchema(url, memoryLogger().logger);
}

/** A fresh database (dropped after the test), migrated unless told otherwise. */
export async function testDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  const database = await createTestDatabase();
  onTestFinished(() => database.drop());
  if (migrated) await migrate(database.url);
  return database;
}

export interface TrailFile {
  file: string;
  lines: string[];
  head: ChainHead;
}

/**
 * A file trail of `count` records with UUIDs (the database's `id` is a uuid), disclosures of
 * varied requesters and devices, the first tenth in the shape older KeyDesks wrote.
 */
export async function trailFile(count: number): Promise<TrailFile> {
  const file = await tempAuditFile();
  const legacy = sealedLines(Math.floor(count / 10), entryAt, { idAt: () => randomUUID(), shape: 'legacy' });
  const current = sealedLines(count - legacy.lines.length, entryAt, { idAt: () => randomUUID(), from: legacy.head });
  const lines = [...legacy.lines, ...current.lines];
  await writeLines(file, lines);
  return { file, lines, head: current.head };
}

function entryAt(seq: number) {
  return disclosureEntry({ ticket: `INC${String(seq).padStart(7, '0')}`, requesterUpn: `User${seq % 7}@Contoso.example`, disclosureId: randomUUID() });
}

/** Runs SQL as the superuser with the trail's append-only triggers off, as an attacker with that power would. */
export async function tamper(database: TestDatabase, sql: string, parameters: unknown[] = []): Promise<void> {
  await superuser(
    SHARED_PG,
    async (client) => {
      await client.query('ALTER TABLE keydesk.audit_records DISABLE TRIGGER USER');
      await client.query(sql, parameters);
      await client.query('ALTER TABLE keydesk.audit_records ENABLE TRIGGER USER');
    },
    database.name,
  );
}

/** Stores a checkpoint in keydesk.audit_checkpoints, as KeyDesk's PostgreSQL store does. */
export async function storeCheckpoint(database: TestDatabase, checkpoint: Checkpoint): Promise<void> {
  await superuser(
    SHARED_PG,
    (client) =>
      client.query('INSERT INTO keydesk.audit_checkpoints (seq, hash, time, line) VALUES ($1, $2, $3, $4)', [
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.time,
        checkpointLine(checkpoint).trimEnd(),
      ]),
    database.name,
  );
}

export async function query<T extends pg.QueryResultRow>(database: TestDatabase, sql: string, parameters: unknown[] = []): Promise<T[]> {
  return superuser(SHARED_PG, async (client) => (await client.query<T>(sql, parameters)).rows, database.name);
}
