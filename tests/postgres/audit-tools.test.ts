import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { disclosureEntry, tempAuditFile } from '../audit/audit-kit.js';
import { freePort } from '../helpers/net.js';
import { openPostgresStore } from './store-kit.js';
import { checkpointFile, query, runTool, signingKey, storeCheckpoint, tamper, testDatabase, trailFile } from './audit-tools-kit.js';

const LOCK_HOLDER = join(import.meta.dirname, '..', 'audit', 'file-lock-racer.mjs');

/** A child process holding `<file>.lock` through the lock module, as a running KeyDesk does, until the test ends. */
async function holdLock(file: string): Promise<{ pid: number }> {
  const child = spawn(process.execPath, [LOCK_HOLDER, file, String(Date.now())], { stdio: ['pipe', 'pipe', 'inherit'] });
  onTestFinished(async () => {
    child.stdin.end();
    if (child.exitCode === null) await once(child, 'exit');
  });
  const [said] = (await once(child.stdout, 'data')) as [Buffer];
  expect(said.toString()).toBe('won\n');
  return { pid: child.pid! };
}

/** The pid of a process on this host that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/**
 * The database trail's tools as an operator runs them (the compiled scripts, exit codes, output):
 * audit:import moves a file trail in, audit:export writes it back byte for byte, audit:verify
 * --database-url finds what a superuser changed behind the triggers' back.
 */

describe('audit:import and audit:export', () => {
  it('moves a file trail into an empty database and exports it back byte for byte, in pages, to a 0600 file', async () => {
    const trail = await trailFile(2_500);
    const database = await testDatabase();

    const imported = await runTool('import', [trail.file, '--database-url', database.url]);
    expect(imported).toMatchObject({ code: 0, stderr: '' });
    expect(imported.stdout).toContain(`imported 2500 records from ${trail.file}`);
    expect(imported.stdout).toContain(`chain head seq 2500 hash ${trail.head.hash}`);
    expect(await query(database, 'SELECT seq::int, hash FROM keydesk.chain_head')).toEqual([{ seq: 2500, hash: trail.head.hash }]);

    const out = join(dirname(trail.file), 'export.jsonl');
    const exported = await runTool('export', ['--out', out], { DATABASE_URL: database.url });
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain('exported 2500 records (seq 1..2500)');
    expect((await readFile(out)).equals(await readFile(trail.file))).toBe(true);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(await runTool('verify', [out])).toMatchObject({ code: 0, stdout: `audit trail intact: 2500 records, head seq 2500 hash ${trail.head.hash}\n` });

    const toStdout = await runTool('export', ['--database-url', database.url]);
    expect(toStdout.code).toBe(0);
    expect(toStdout.bytes.equals(await readFile(trail.file))).toBe(true);
  });

  it("lets KeyDesk's PostgreSQL store continue the imported chain from its head", async () => {
    const trail = await trailFile(12);
    const database = await testDatabase();
    const runtime = await database.createRole('keydesk_runtime');
    await query(database, runtimeGrants(runtime));
    // The runtime role may import: INSERT on the trail and UPDATE on the chain head are all it takes.
    expect((await runTool('import', [trail.file, '--database-url', database.urlAs(runtime)])).code).toBe(0);

    const store = await openPostgresStore(database.url);
    const record = await store.append(disclosureEntry({ ticket: 'INC0000013' }));
    await store.close();

    expect(record).toMatchObject({ seq: 13, prevHash: trail.head.hash });
    const verified = await runTool('verify', ['--database-url', database.url]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`audit trail intact: 13 records, head seq 13 hash ${record.hash}`);
  });

  it('exports the records after --since, which verify with --partial saying what was taken on trust', async () => {
    const trail = await trailFile(40);
    const database = await testDatabase();
    expect((await runTool('import', [trail.file, '--database-url', database.url])).code).toBe(0);
    const out = join(dirname(trail.file), 'since-25.jsonl');

    const exported = await runTool('export', ['--database-url', database.url, '--since', '25', '--out', out]);

    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain(`exported 15 records (seq 26..40)`);
    expect(exported.stderr).toContain(`verify it with: npm run audit:verify -- --partial ${out}`);
    expect(await readFile(out, 'utf8')).toBe(trail.lines.slice(25).map((line) => `${line}\n`).join(''));
    const whole = await runTool('verify', [out]);
    expect(whole.code).toBe(1);
    expect(whole.stderr).toMatch(/^audit trail BROKEN at line 1 \(seq 26\): seq 26 follows seq 0/);
    const partial = await runTool('verify', ['--partial', out]);
    expect(partial.code).toBe(0);
    expect(partial.stdout).toContain(`audit trail intact (partial): 15 records, seq 26..40, head seq 40 hash ${trail.head.hash}`);
    expect(partial.stdout).toMatch(/the first record's prevHash [0-9a-f]{64} \(the hash of seq 25, not in this file\) was taken on trust/);
    const misspelt = await runTool('export', ['--database-url', database.url, '--since', 'last']);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain('--since must be a whole number, the seq after which to export (e.g. --since 1234), not "last"');
  });

  it('refuses to import into a database that already holds a trail, and leaves that trail alone', async () => {
    const first = await trailFile(5);
    const second = await trailFile(3);
    const database = await testDatabase();
    expect((await runTool('import', [first.file, '--database-url', database.url])).code).toBe(0);

    const again = await runTool('import', [second.file], { DATABASE_URL: database.url });

    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/nothing was imported: the database already holds an audit trail \(head seq 5\): audit:import only moves a trail into an empty database/);
    expect(await query(database, 'SELECT count(*)::int AS n, max(hash) FILTER (WHERE seq = 5) AS hash FROM keydesk.audit_records')).toEqual([{ n: 5, hash: first.head.hash }]);
  });

  it('imports nothing from a broken file trail and exits 1 naming the line', async () => {
    const trail = await trailFile(6);
    await writeFile(trail.file, trail.lines.filter((_, index) => index !== 3).map((line) => `${line}\n`).join(''));
    const database = await testDatabase();

    const result = await runTool('import', [trail.file, '--database-url', database.url]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^audit trail BROKEN at line 4 \(seq 5\): seq 5 follows seq 3.*\nnothing was imported\n$/s);
    expect(await query(database, 'SELECT count(*)::int AS n FROM keydesk.audit_records')).toEqual([{ n: 0 }]);
    expect(await query(database, 'SELECT seq::int FROM keydesk.chain_head')).toEqual([{ seq: 0 }]);
  });

  it('refuses a file a running KeyDesk holds the lock of, naming the holder, and imports nothing', async () => {
    const trail = await trailFile(3);
    const database = await testDatabase();
    const holder = await holdLock(trail.file);

    const result = await runTool('import', [trail.file, '--database-url', database.url]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${trail.file} is still held by a running KeyDesk: its lock ${trail.file}.lock is held by pid ${holder.pid} on host ${hostname()} since `);
    expect(result.stderr).toContain('Stop that KeyDesk first');
    expect(await query(database, 'SELECT count(*)::int AS n FROM keydesk.audit_records')).toEqual([{ n: 0 }]);
  });

  it.each([
    ['a process on this host that no longer exists', async () => ({ host: hostname(), pid: await deadPid(), ageMs: 0 })],
    ['another host, not refreshed for 31 s', () => Promise.resolve({ host: 'keydesk-other-host', pid: 4242, ageMs: 31_000 })],
  ])('imports a file whose lock is stale: held by %s', async (_case, lockOf) => {
    const trail = await trailFile(3);
    const database = await testDatabase();
    const { host, pid, ageMs } = await lockOf();
    await writeFile(`${trail.file}.lock`, `${JSON.stringify({ host, pid, startedAt: '2025-03-04T05:06:07.089Z', id: randomUUID() })}\n`, { mode: 0o600 });
    const refreshed = new Date(Date.now() - ageMs);
    await utimes(`${trail.file}.lock`, refreshed, refreshed);

    expect(await runTool('import', [trail.file, '--database-url', database.url])).toMatchObject({ code: 0 });
  });

  it('refuses a database that was never migrated, naming npm run db:migrate', async () => {
    const trail = await trailFile(2);
    const database = await testDatabase({ migrated: false });

    for (const run of [runTool('import', [trail.file, '--database-url', database.url]), runTool('export', ['--database-url', database.url]), runTool('verify', ['--database-url', database.url])]) {
      const result = await run;
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('holds no KeyDesk audit schema: run `npm run db:migrate`');
    }
  });
});

describe('audit:verify --database-url', () => {
  it('says an imported trail is intact, from the flag or from DATABASE_URL', async () => {
    const trail = await trailFile(30);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);

    for (const result of [await runTool('verify', ['--database-url', database.url]), await runTool('verify', [], { DATABASE_URL: database.url })]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`audit trail intact: 30 records, head seq 30 hash ${trail.head.hash}\ndatabase postgres://postgres@127.0.0.1:5432/${database.name}: the chain_head row agrees\n`);
    }
  });

  it('exits 2 (not checked) for an HMAC-chained trail without AUDIT_HMAC_KEY, and 1 with another key; audit:import the same', async () => {
    const key = 'audit-tools-test-hmac-key-0123456789abcdef';
    const database = await testDatabase();
    const store = await openPostgresStore(database.url, { hmacKey: Buffer.from(key, 'utf8') });
    await store.append(disclosureEntry());
    await store.close();

    expect(await runTool('verify', ['--database-url', database.url], { AUDIT_HMAC_KEY: key })).toMatchObject({ code: 0 });
    const withoutKey = await runTool('verify', ['--database-url', database.url]);
    expect(withoutKey.code).toBe(2);
    expect(withoutKey.stderr).toMatch(/^audit trail not checked at seq 1 \(row 1 in seq order\): .*no HMAC key was given: set AUDIT_HMAC_KEY/);
    const otherKey = await runTool('verify', ['--database-url', database.url], { AUDIT_HMAC_KEY: `other-${key}` });
    expect(otherKey.code).toBe(1);
    expect(otherKey.stderr).toMatch(/^audit trail BROKEN at seq 1 .*the HMAC key is not the one it was written with/);

    const out = await tempAuditFile();
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, (await runTool('export', ['--database-url', database.url])).bytes);
    const empty = await testDatabase();
    const imported = await runTool('import', [out, '--database-url', empty.url]);
    expect(imported.code).toBe(2);
    expect(imported.stderr).toMatch(/^audit trail not checked at line 1 .*set AUDIT_HMAC_KEY.*\nnothing was imported\n$/s);
  });

  it('verifies and exports as an auditor role that may only read the trail', async () => {
    const trail = await trailFile(8);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);
    const auditor = await database.createRole('auditor');
    await query(database, `GRANT USAGE ON SCHEMA keydesk TO ${auditor}; GRANT SELECT ON ALL TABLES IN SCHEMA keydesk TO ${auditor}`);

    expect((await runTool('verify', ['--database-url', database.urlAs(auditor)])).code).toBe(0);
    const exported = await runTool('export', ['--database-url', database.urlAs(auditor)]);
    expect(exported.code).toBe(0);
    expect(exported.bytes.equals(await readFile(trail.file))).toBe(true);
  });

  it('exits 1 naming the seq of a row whose line a superuser changed with the triggers disabled', async () => {
    const trail = await trailFile(30);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);
    await tamper(database, `UPDATE keydesk.audit_records SET line = replace(line, 'INC0000017', 'INC0000099') WHERE seq = 17`);

    const result = await runTool('verify', ['--database-url', database.url]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^audit trail BROKEN at seq 17 \(row 17 in seq order\): the hash does not match the record: it was edited/);
  });

  it('exits 1 when a row was deleted, or a filter column changed while its line still verifies', async () => {
    const trail = await trailFile(30);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);

    await tamper(database, `UPDATE keydesk.audit_records SET requester_upn = 'someone.else@contoso.example' WHERE seq = 9`);
    const changedColumn = await runTool('verify', ['--database-url', database.url]);
    expect(changedColumn.code).toBe(1);
    expect(changedColumn.stderr).toMatch(/^audit trail BROKEN at seq 9 \(row 9 in seq order\): the row's requester_upn column holds "someone.else@contoso.example", but its record says "user2@contoso.example"/);

    await tamper(database, 'DELETE FROM keydesk.audit_records WHERE seq = 5');
    const deleted = await runTool('verify', ['--database-url', database.url]);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toMatch(/^audit trail BROKEN at seq 6 \(row 5 in seq order\): seq 6 follows seq 4/);
  });

  it('reports a cut tail from the chain_head row, and from a checkpoint when the head was moved back too', async () => {
    const trail = await trailFile(30);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);
    const key = await signingKey(dirname(trail.file));
    const checkpoint = key.sign(trail.head);
    await storeCheckpoint(database, checkpoint);
    const checkpoints = await checkpointFile(trail.file, [key.sign({ seq: 10, hash: JSON.parse(trail.lines[9]!).hash }), checkpoint]);
    await tamper(database, 'DELETE FROM keydesk.audit_records WHERE seq > 25');

    const headRow = await runTool('verify', ['--database-url', database.url]);
    expect(headRow.code).toBe(1);
    expect(headRow.stderr).toMatch(/^audit trail BROKEN: the chain_head row says the trail goes on to seq 30, but it ends at seq 25: records 26\.\.30 missing\n/);

    await query(database, 'UPDATE keydesk.chain_head SET seq = 25, hash = $1', [JSON.parse(trail.lines[24]!).hash]);
    expect((await runTool('verify', ['--database-url', database.url])).code).toBe(0);
    for (const args of [['--public-key', key.publicKeyFile], ['--checkpoint', checkpoints, '--public-key', key.publicKeyFile]]) {
      const result = await runTool('verify', ['--database-url', database.url, ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^audit trail BROKEN: the trail ends at seq 25, but the checkpoint of 2026-03-01T10:00:00.000Z covers seq 30: records 26\.\.30 missing\n/);
    }
  });

  it('agrees with a checkpoint it holds, and exits 1 for a checkpoint with a bad signature or another key', async () => {
    const trail = await trailFile(12);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);
    const key = await signingKey(dirname(trail.file));
    const other = await signingKey(dirname(trail.file));
    const checkpoint = key.sign({ seq: 8, hash: JSON.parse(trail.lines[7]!).hash });
    await storeCheckpoint(database, checkpoint);

    const agrees = await runTool('verify', ['--database-url', database.url, '--public-key', key.publicKeyFile]);
    expect(agrees.code).toBe(0);
    expect(agrees.stdout).toContain(`checkpoint agrees: seq 8 hash ${checkpoint.hash}, signed 2026-03-01T10:00:00.000Z by key `);

    const forged = await checkpointFile(trail.file, [{ ...checkpoint, time: '2026-03-02T10:00:00.000Z' }]);
    const badSignature = await runTool('verify', ['--database-url', database.url, '--checkpoint', forged, '--public-key', key.publicKeyFile]);
    expect(badSignature.code).toBe(1);
    expect(badSignature.stderr).toMatch(/^audit trail BROKEN: the checkpoint signature is not valid/);

    const otherKey = await runTool('verify', ['--database-url', database.url, '--public-key', other.publicKeyFile]);
    expect(otherKey.code).toBe(1);
    expect(otherKey.stderr).toMatch(/^audit trail BROKEN: the checkpoint names signing key [0-9a-f]{64}, not the key given/);
  });

  it('exits 2 when asked for the stored checkpoint of a database that holds none', async () => {
    const trail = await trailFile(3);
    const database = await testDatabase();
    await runTool('import', [trail.file, '--database-url', database.url]);
    const key = await signingKey(dirname(trail.file));

    const result = await runTool('verify', ['--database-url', database.url, '--public-key', key.publicKeyFile]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^audit trail not checked: keydesk.audit_checkpoints holds no checkpoint yet: give one with --checkpoint/);
  });
});

describe('the audit tools and an unreachable database', () => {
  it('exit 2 and name the database without its password', async () => {
    const trail = await trailFile(2);
    const url = `postgres://keydesk:Never-Print-Me%21@127.0.0.1:${await freePort()}/keydesk`;

    for (const result of [
      await runTool('verify', ['--database-url', url]),
      await runTool('export', [], { DATABASE_URL: url }),
      await runTool('import', [trail.file, '--database-url', url]),
    ]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('cannot connect to postgres://keydesk:***@127.0.0.1:');
      expect(result.stderr).toContain('ECONNREFUSED');
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/Never-Print-Me/);
    }
  });

  it('exit 2 with the usage for a URL that is not PostgreSQL, without printing its password', async () => {
    const result = await runTool('verify', [], { DATABASE_URL: 'mysql://keydesk:Never-Print-Me@db/keydesk' });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL="mysql://keydesk:***@db/keydesk" is not valid');
    expect(result.stderr).not.toContain('Never-Print-Me');
  });
});
