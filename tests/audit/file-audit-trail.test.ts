import { randomBytes } from 'node:crypto';
import { appendFile, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { FAILED_WRITE_HOLD_MS, openFileAuditTrail, type FileAuditTrailOptions } from '../../src/audit/file/file-audit-trail.js';
import type { AuditEntry, AuditRecord } from '../../src/audit/types.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import {
  disclosureEntry,
  faultyFileSystem,
  fixedClock,
  memoryLogger,
  readLines,
  readRecords,
  sealedLines,
  tempAuditFile,
  writeLines,
  writeTrail,
} from './audit-kit.js';

const HMAC_KEY = Buffer.from(randomBytes(36).toString('base64'), 'utf8');
const TORN_SUFFIX = '.torn-2025-03-04T05-06-07.089Z';

function open(file: string, overrides: Partial<FileAuditTrailOptions> = {}) {
  return openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger, ...overrides });
}

async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1_000 && !condition(); turn += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never became true');
}

describe('FileAuditTrail appends', () => {
  it('writes records chained from the genesis hash and resolves with the record as stored', async () => {
    const file = await tempAuditFile();
    let ids = 0;
    const trail = await open(file, { clock: fixedClock(), newId: () => `id-${(ids += 1)}` });

    const first = await trail.append(disclosureEntry({ outcome: 'pending', action: 'disclosure_intent' }));
    const second = await trail.append(disclosureEntry());
    await trail.close();

    expect(first).toMatchObject({ seq: 1, id: 'id-1', time: '2025-03-04T05:06:07.089Z', hashAlg: 'sha256', prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, id: 'id-2', prevHash: first.hash });
    expect(await readRecords(file)).toEqual([first, second]);
    expect(await verifyAuditFile(file, null)).toEqual({ ok: true, records: 2, head: { seq: 2, hash: second.hash }, start: { seq: 0, hash: GENESIS_HASH } });
  });

  it('chains with HMAC-SHA-256 when a key is configured', async () => {
    const file = await tempAuditFile();
    const trail = await open(file, { hmacKey: HMAC_KEY });

    const record = await trail.append(disclosureEntry());
    await trail.close();

    expect(record.hashAlg).toBe('hmac-sha256');
    expect(await verifyAuditFile(file, HMAC_KEY)).toMatchObject({ ok: true, records: 1 });
  });

  it('commits 200 concurrent appends as records 1 to 200 with fewer fsyncs than records', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const trail = await open(file, { fileSystem: disk.fileSystem });

    const records = await Promise.all(
      Array.from({ length: 200 }, (_, n) => trail.append(disclosureEntry({ requestId: `req-${n + 1}` }))),
    );
    await trail.close();

    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, n) => n + 1));
    expect(records.map((r) => r.requestId)).toEqual(Array.from({ length: 200 }, (_, n) => `req-${n + 1}`));
    expect(await readRecords(file)).toEqual(records);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 200, head: { seq: 200 } });
    expect(disk.calls.sync).toBeLessThan(200);
  });

  it('queues appends that arrive during an fsync and commits them with one write and one fsync', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const trail = await open(file, { fileSystem: disk.fileSystem });
    let release = (): void => undefined;
    disk.faults.holdSync = new Promise((resolve) => (release = resolve));

    const first = trail.append(disclosureEntry());
    await until(() => disk.calls.sync === 1);
    const queued = Array.from({ length: 50 }, () => trail.append(disclosureEntry()));
    disk.faults.holdSync = null;
    release();
    const records = await Promise.all([first, ...queued]);

    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 51 }, (_, n) => n + 1));
    expect(disk.calls).toEqual({ write: 2, sync: 2 });
    await trail.close();
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 51 });
  });

  it('logs the chain head after a write and none of the record', async () => {
    const file = await tempAuditFile();
    const log = memoryLogger();
    const trail = await open(file, { logger: log.logger });

    await Promise.all([trail.append(disclosureEntry()), trail.append(disclosureEntry())]);
    const last = await trail.append(disclosureEntry());
    await trail.close();

    const heads = log.lines.filter((line) => line.msg === 'audit chain head');
    expect(heads.map((line) => line.audit)).toEqual([{ seq: 2, hash: expect.any(String) }, { seq: 3, hash: last.hash }]);
    expect(trail.head()).toEqual({ seq: 3, hash: last.hash });
    for (const content of ['INC0012345', 'alice@contoso.example', 'LAPTOP-ALICE', 'b0c1d2e3', '203.0.113.7']) {
      expect(log.text()).not.toContain(content);
    }
  });

  it('stores only the members of an audit entry, whatever else the caller passes', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);
    const entry = { ...disclosureEntry(), graphResponse: { note: 'must-not-be-stored' } } as AuditEntry;

    await trail.append(entry);
    await trail.close();

    expect(await readFile(file, 'utf8')).not.toContain('must-not-be-stored');
  });

  it('stores a comment with a lone surrogate as U+FFFD instead of refusing it', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);

    const record = await trail.append(disclosureEntry({ comment: 'broken \ud800 text' }));
    await trail.close();

    expect(record.comment).toBe('broken \ufffd text');
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 1 });
  });

  it('keeps a comment that merely spells a surrogate escape (a backslash, then ud800) as typed, and emoji as they are', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);

    const record = await trail.append(disclosureEntry({ comment: 'typed \\ud800 and 🔑' }));
    await trail.close();

    expect(record.comment).toBe('typed \\ud800 and 🔑');
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 1 });
  });

  it('refuses an entry that cannot be stored as JSON without using up a seq', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);

    const refused = trail.append(disclosureEntry({ details: { size: 10n } }));
    const stored = trail.append(disclosureEntry());

    await expect(refused).rejects.toMatchObject({ code: 'audit_unavailable', status: 503 });
    await expect(stored).resolves.toMatchObject({ seq: 1 });
    expect(await trail.isWritable()).toBe(true);
    await trail.close();
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 1 });
  });
});

describe('FileAuditTrail start-up', () => {
  it('creates the directory and starts an absent file at seq 1', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);

    expect(trail.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    expect(await trail.isWritable()).toBe(true);
    await expect(trail.append(disclosureEntry())).resolves.toMatchObject({ seq: 1 });
    await trail.close();
  });

  it('continues the chain after a restart', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const before = await readRecords(file);

    const trail = await open(file);
    expect(trail.head()).toEqual({ seq: 3, hash: before[2]!.hash });
    const next = await trail.append(disclosureEntry());
    await trail.close();

    expect(next).toMatchObject({ seq: 4, prevHash: before[2]!.hash });
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 4, head: { seq: 4, hash: next.hash } });
  });

  it('finds the last record when records are longer than the first start-up read', async () => {
    const file = await tempAuditFile();
    const first = await open(file);
    for (let n = 0; n < 3; n += 1) await first.append(disclosureEntry({ comment: 'x'.repeat(50_000) }));
    await first.close();
    await appendFile(file, '{"seq":4');

    const trail = await open(file, { clock: fixedClock() });
    await trail.close();

    expect(await readRecords(file)).toHaveLength(4);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 4 });
  });

  it('moves a torn last line aside, records the recovery and keeps the chain verifiable', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const intact = await readLines(file);
    const torn = '{"seq":4,"id":"9b2';
    await appendFile(file, torn);
    const log = memoryLogger();

    const trail = await open(file, { logger: log.logger, clock: fixedClock() });
    await trail.close();

    expect(await readFile(file + TORN_SUFFIX, 'utf8')).toBe(torn);
    const lines = await readLines(file);
    expect(lines.slice(0, 3)).toEqual(intact);
    const recovered = JSON.parse(lines[3]!) as AuditRecord;
    expect(recovered).toMatchObject({
      seq: 4,
      action: 'chain_recovered',
      outcome: 'recovered',
      code: null,
      caller: null,
      ticket: null,
      details: { tornFile: basename(file) + TORN_SUFFIX, tornBytes: torn.length, lastGoodSeq: 3 },
    });
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 4 });
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 40, audit: { tornFile: file + TORN_SUFFIX, tornBytes: torn.length } }),
    );
  });

  it('moves aside a last line that ends in a newline but is not a record', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2);
    await appendFile(file, '\0\0\0\0\n');

    const trail = await open(file, { clock: fixedClock() });
    await trail.close();

    expect(await readFile(file + TORN_SUFFIX, 'utf8')).toBe('\0\0\0\0\n');
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 3 });
  });

  it('starts the chain at seq 1 when the only line is torn', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 0);
    await writeFile(file, '{"seq":1,');

    const trail = await open(file, { clock: fixedClock() });
    await trail.close();

    expect(await readRecords(file)).toEqual([
      expect.objectContaining({ seq: 1, prevHash: GENESIS_HASH, details: expect.objectContaining({ lastGoodSeq: 0, tornBytes: 9 }) }),
    ]);
  });

  it('refuses to start when more than the last line is damaged, and leaves the file alone', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2);
    await appendFile(file, 'edited by hand\n{"seq":4');
    const before = await readFile(file);

    await expect(open(file)).rejects.toMatchObject({ code: 'audit_unavailable', detail: expect.stringMatching(/is damaged/) });
    expect(await readFile(file)).toEqual(before);
    expect(await readdir(dirname(file))).toEqual([basename(file)]);
  });

  it('refuses to start when the last record does not match its hash, naming its seq, and leaves the file alone', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    lines[2] = JSON.stringify({ ...(JSON.parse(lines[2]!) as AuditRecord), ticket: 'INC9999999' });
    await writeFile(file, lines.map((line) => `${line}\n`).join(''));
    const before = await readFile(file);

    await expect(open(file)).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [expect.stringMatching(/last record \(seq 3\) .* does not match its SHA-256 hash: it was altered.*audit:verify/)],
    });
    expect(await readFile(file)).toEqual(before);
    expect(await readdir(dirname(file))).toEqual([basename(file)]);
  });
});

describe('FileAuditTrail and AUDIT_HMAC_KEY at start-up', () => {
  const OTHER_KEY = Buffer.from(randomBytes(36).toString('base64'), 'utf8');

  it.each([
    ['another key on an HMAC trail', HMAC_KEY, OTHER_KEY, /AUDIT_HMAC_KEY is not the key the audit file .* was written with: its last record \(seq 2, hmac-sha256\).*a different key/],
    ['no key on an HMAC trail', HMAC_KEY, null, /AUDIT_HMAC_KEY is not set, but the audit file .* is chained with HMAC-SHA-256 \(hmac-sha256; .*Set AUDIT_HMAC_KEY to the key the trail was written with/],
    ['a key on a plain trail', null, HMAC_KEY, /AUDIT_HMAC_KEY is set, but the audit file .* is chained with plain SHA-256 \(sha256; .*Unset AUDIT_HMAC_KEY .*new AUDIT_FILE/],
  ])('refuses to start with %s (a ConfigError naming AUDIT_HMAC_KEY), writing nothing and releasing the lock', async (_case, writtenWith, startedWith, message) => {
    const file = await tempAuditFile();
    await writeTrail(file, 2, writtenWith);
    const before = await readFile(file);

    await expect(open(file, { hmacKey: startedWith })).rejects.toMatchObject({ name: 'ConfigError', problems: [expect.stringMatching(message)] });
    expect(await readFile(file)).toEqual(before);
    expect(await readdir(dirname(file))).toEqual([basename(file)]);
  });

  it('starts with the key the trail was written with and continues its chain', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2, HMAC_KEY);

    const trail = await open(file, { hmacKey: HMAC_KEY });
    await expect(trail.append(disclosureEntry())).resolves.toMatchObject({ seq: 3, hashAlg: 'hmac-sha256' });
    await trail.close();
    expect(await verifyAuditFile(file, HMAC_KEY)).toMatchObject({ ok: true, records: 3 });
  });

  it.each([
    ['no key', null],
    ['a key', HMAC_KEY],
  ])('starts an empty trail with %s', async (_case, hmacKey) => {
    const file = await tempAuditFile();
    await writeTrail(file, 0);

    const trail = await open(file, { hmacKey });
    await expect(trail.append(disclosureEntry())).resolves.toMatchObject({ seq: 1 });
    await trail.close();
  });

  it('leaves a torn last line in place when it refuses the key, and recovers it at the start with the right key', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2, HMAC_KEY);
    await appendFile(file, '{"seq":3,');
    const before = await readFile(file);

    await expect(open(file, { hmacKey: null })).rejects.toMatchObject({ name: 'ConfigError' });
    expect(await readFile(file)).toEqual(before);

    const trail = await open(file, { hmacKey: HMAC_KEY, clock: fixedClock() });
    await trail.close();
    expect(await readRecords(file)).toEqual([
      expect.anything(),
      expect.anything(),
      expect.objectContaining({ seq: 3, action: 'chain_recovered', details: expect.objectContaining({ lastGoodSeq: 2, tornBytes: 9 }) }),
    ]);
    expect(await verifyAuditFile(file, HMAC_KEY)).toMatchObject({ ok: true, records: 3 });
  });
});

describe('FileAuditTrail failures', () => {
  it('rejects every append of a batch whose write fails, rolls the file back and writes again later', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const trail = await open(file, { fileSystem: disk.fileSystem });
    const good = await trail.append(disclosureEntry());
    const before = await readFile(file);

    disk.faults.write = 1;
    const failed = await Promise.allSettled([trail.append(disclosureEntry()), trail.append(disclosureEntry())]);

    for (const outcome of failed) {
      expect(outcome.status).toBe('rejected');
      const reason: unknown = outcome.status === 'rejected' ? outcome.reason : null;
      expect(reason).toBeInstanceOf(KeyDeskProblem);
      expect(reason).toMatchObject({ code: 'audit_unavailable', cause: expect.objectContaining({ code: 'EIO' }) });
    }
    expect(trail.head()).toEqual({ seq: 1, hash: good.hash });
    expect(await trail.isWritable()).toBe(false);
    expect(await readFile(file)).toEqual(before);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 1 });

    await expect(trail.append(disclosureEntry())).resolves.toMatchObject({ seq: 2, prevHash: good.hash });
    expect(await trail.isWritable()).toBe(true);
    await trail.close();
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 2 });
  });

  it('rejects an append whose fsync fails and does not advance the head', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const trail = await open(file, { fileSystem: disk.fileSystem });
    const good = await trail.append(disclosureEntry());

    disk.faults.sync = 1;
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable' });

    expect(trail.head()).toEqual({ seq: 1, hash: good.hash });
    expect(await trail.isWritable()).toBe(false);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 1 });
    await expect(trail.append(disclosureEntry())).resolves.toMatchObject({ seq: 2 });
    await trail.close();
  });

  it('reports writable again once a failed write is no longer recent, so readiness cannot lock itself out', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    let now = Date.parse('2025-03-04T05:06:07.089Z');
    const trail = await open(file, { fileSystem: disk.fileSystem, clock: () => new Date(now) });

    disk.faults.sync = 1;
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable' });
    now += FAILED_WRITE_HOLD_MS - 1;
    expect(await trail.isWritable()).toBe(false);
    now += 1;
    expect(await trail.isWritable()).toBe(true);
    await trail.close();
  });

  it('refuses every append once a failed write cannot be rolled back, until a restart recovers the file', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const log = memoryLogger();
    const trail = await open(file, { fileSystem: disk.fileSystem, logger: log.logger });
    await trail.append(disclosureEntry());

    disk.faults.write = 1;
    disk.faults.truncate = 1;
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable' });
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ detail: expect.stringMatching(/out of service/) });
    expect(await trail.isWritable()).toBe(false);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/could not be rolled back/) }));
    await trail.close();

    const restarted = await open(file, { clock: fixedClock() });
    await restarted.close();
    expect(await readRecords(file)).toEqual([
      expect.objectContaining({ seq: 1 }),
      expect.objectContaining({ seq: 2, action: 'chain_recovered', details: expect.objectContaining({ lastGoodSeq: 1 }) }),
    ]);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 2 });
  });

  it('reports not writable when the audit file is removed from under it', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);
    await rm(file);

    expect(await trail.isWritable()).toBe(false);
    await trail.close();
  });

  it.each([
    ['deleted', (file: string) => rm(file)],
    ['moved away, with a new file put in its place', async (file: string) => {
      await rename(file, `${file}.old`);
      await writeFile(file, '');
    }],
  ])('refuses appends once its file is %s: such records would be durable nowhere anyone looks', async (_how, tamper) => {
    const file = await tempAuditFile();
    const trail = await open(file);
    await trail.append(disclosureEntry());
    await tamper(file);

    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable' });
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(trail.head().seq).toBe(1);
    await trail.close();
  });
});

describe('FileAuditTrail close', () => {
  it('waits for queued appends, then refuses new ones', async () => {
    const file = await tempAuditFile();
    const trail = await open(file);

    const queued = trail.append(disclosureEntry());
    await trail.close();

    await expect(queued).resolves.toMatchObject({ seq: 1 });
    await expect(trail.append(disclosureEntry())).rejects.toMatchObject({ code: 'audit_unavailable', status: 503 });
    expect(await trail.isWritable()).toBe(false);
    expect(await readRecords(file)).toHaveLength(1);
  });

  it('lets a query in flight read to the start of the file before closing it, then refuses queries', async () => {
    const file = await tempAuditFile();
    // About 2 MB: the query reads it back in more than one window.
    await writeLines(file, sealedLines(2_000, (seq) => disclosureEntry({ ticket: `INC${seq}` })).lines);
    const trail = await open(file);

    const reading = trail.query({ ticket: 'INC1' });
    await trail.close();

    expect((await reading).records.map((record) => record.seq)).toEqual([1]);
    await expect(trail.query({})).rejects.toMatchObject({ code: 'audit_unavailable' });
  });
});
