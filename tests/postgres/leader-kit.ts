import { onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLeaderElection, type LeaderElection } from '../../src/jobs/leader.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from './pg-kit.js';

/** The leader election's tests: a database each, electors in this process or in processes of their own. */

const CHILD = join(import.meta.dirname, 'leader-child.mjs');

export async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  onTestFinished(() => db.drop());
  return db;
}

export function elector(url: string): LeaderElection & { log: ReturnType<typeof memoryLogger> } {
  const log = memoryLogger();
  const election = startLeaderElection({ databaseUrl: url, logger: log.logger });
  onTestFinished(() => election.stop());
  return Object.assign(election, { log });
}

/** A process of its own in the election, with what it printed so far. */
export function childElector(url: string): { pid: number; said(): string; kill(signal: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [CHILD, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { pid: child.pid!, said: () => said, kill: (signal) => child.kill(signal) };
}

/** The backend pid holding the leader lock in `db`, or null. */
export async function lockHolder(db: TestDatabase): Promise<number | null> {
  return superuser(SHARED_PG, async (client) => {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1`,
      [db.name],
    );
    return rows[0]?.pid ?? null;
  });
}

export const leaders = (electors: LeaderElection[]) => electors.filter((e) => e.isLeader()).length;

