import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditStore } from '../../src/audit/store.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { disclosureEntry, memoryLogger, tempAuditFile, writeLines, type LogLine } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from './pg-kit.js';
import { openPostgresStore, storedLines } from './store-kit.js';

/**
 * One chain shared by several KeyDesk processes (here: several stores, each with its own pool, on
 * one database), and what happens when an append goes unanswered: the request is refused, the
 * record is never written again, and KeyDesk finds out and logs whether it landed.
 */

let database: TestDatabase;
const stores: AuditStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await database?.drop();
});

async function open(logger = memoryLogger().logger): Promise<AuditStore> {
  const store = await openPostgresStore(database.url, { logger });
  stores.push(store);
  return store;
}

async function verifiedExport(): Promise<{ records: number; seqs: number[] }> {
  const lines = await storedLines(database.url);
  const file = await tempAuditFile();
  await writeLines(file, lines);
  const result = await verifyAuditFile(file, null);
  expect(result).toMatchObject({ ok: true });
  return { records: lines.length, seqs: lines.map((line) => (JSON.parse(line) as { seq: number }).seq) };
}

describe('several processes on one database', () => {
  it('chains 300 concurrent appends from three processes gap-free, in few transactions, into a trail that verifies', async () => {
    database = await createTestDatabase();
    const logs = [memoryLogger(), memoryLogger(), memoryLogger()];
    const three = await Promise.all(logs.map((log) => open(log.logger)));

    const records = await Promise.all(Array.from({ length: 300 }, (_, n) => three[n % 3]!.append(disclosureEntry({ ticket: `INC${n}` }))));

    expect(records.map((record) => record.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, n) => n + 1));
    const exported = await verifiedExport();
    expect(exported.seqs).toEqual(Array.from({ length: 300 }, (_, n) => n + 1));
    // Group commit: each process commits what waits at one moment together.
    const transactions = logs.flatMap((log) => log.lines).filter((line) => line.msg === 'audit chain head').length;
    expect(transactions).toBeLessThan(100);
    for (const store of three) expect(await store.head()).toEqual({ seq: 300, hash: records.find((record) => record.seq === 300)!.hash });
  });
});

/**
 * Holds the commit of every append that inserts a record until the test lets go: a deferred
 * constraint trigger runs as the append's transaction commits (at the end of the autocommitted
 * call) and waits for an advisory lock the test holds, with the records inserted and the head
 * moved. The test can then cut the connection during the commit, or let it finish after KeyDesk
 * stopped waiting for the call's answer.
 */
async function holdCommits(): Promise<{ blockedCommit(): Promise<number>; release(): Promise<void> }> {
  await superuser(
    SHARED_PG,
    (client) =>
      client.query(`
        CREATE FUNCTION public.hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON keydesk.audit_records
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.hold_commit();`),
    database.name,
  );
  const holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock(4242)');
  return {
    async blockedCommit() {
      for (;;) {
        const { rows } = await holder.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%keydesk.append_records(%' AND wait_event = 'advisory'`,
        );
        if (rows[0]) return rows[0].pid;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async release() {
      await holder.query('SELECT pg_advisory_unlock(4242)');
      await holder.end();
    },
  };
}

const problemOf = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as KeyDeskProblem);
const logged = (lines: LogLine[], pattern: RegExp) => lines.find((line) => pattern.test(line.msg));

describe('an append that goes unanswered', () => {
  it('refuses the request when the connection is lost during its commit, never writes the record again, and logs that it did not land', async () => {
    database = await createTestDatabase();
    const log = memoryLogger();
    const store = await open(log.logger);
    const held = await holdCommits();

    const appending = problemOf(store.append(disclosureEntry({ ticket: 'INC-LOST' })));
    const pid = await held.blockedCommit();
    await superuser(SHARED_PG, (client) => client.query('SELECT pg_terminate_backend($1)', [pid]));
    const problem = await appending;
    await held.release();

    expect(problem).toMatchObject({ code: 'audit_unavailable', headers: { 'Retry-After': '5' } });
    expect(problem!.detail).toMatch(/^KeyDesk lost its connection to the audit database while committing/);
    await expect.poll(() => logged(log.lines, /did not land/)?.msg, { timeout: 10_000 }).toBe(
      'audit records seq 1..1 did not land (their append was lost); their requests were refused, and those seq numbers went to later records',
    );
    expect(logged(log.lines, /append went unanswered/)?.audit).toMatchObject({ firstSeq: 1, lastSeq: 1 });
    const next = await store.append(disclosureEntry({ ticket: 'INC-NEXT' }));
    expect(next.seq).toBe(1);
    expect((await store.query({})).records.map((record) => record.ticket)).toEqual(['INC-NEXT']);
    await verifiedExport();
  });

  it('refuses the request when its commit outlasts the deadline, and logs that the batch landed once it has; the next record follows it', async () => {
    database = await createTestDatabase();
    const log = memoryLogger();
    const store = await open(log.logger);
    const held = await holdCommits();

    const started = Date.now();
    const appending = problemOf(store.append(disclosureEntry({ ticket: 'INC-LATE' })));
    await held.blockedCommit();
    const problem = await appending;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(problem).toMatchObject({ code: 'audit_unavailable' });
    // The commit finishes on the server after KeyDesk gave up on it.
    await held.release();

    await expect.poll(() => logged(log.lines, /landed although/)?.msg, { timeout: 10_000 }).toBe(
      'audit records seq 1..1 landed although their append went unanswered; their requests were refused, so no key left with them',
    );
    const next = await store.append(disclosureEntry({ ticket: 'INC-NEXT' }));
    expect(next.seq).toBe(2);
    expect((await store.query({})).records.map((record) => record.ticket)).toEqual(['INC-NEXT', 'INC-LATE']);
    expect((await verifiedExport()).seqs).toEqual([1, 2]);
  });
});
