import { randomBytes } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, computeRecordHash } from '../../src/audit/chain.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { verifyAuditFile, type VerifyResult } from '../../src/audit/verify.js';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { disclosureEntry, memoryLogger, readLines, readRecords, sealedLines, tempAuditFile, writeLines, writeTrail } from './audit-kit.js';

const HMAC_KEY = Buffer.from(randomBytes(36).toString('base64'), 'utf8');

async function rewrite(file: string, lines: string[]): Promise<void> {
  await writeFile(file, lines.map((line) => `${line}\n`).join(''));
}

function reasonOf(result: VerifyResult): string {
  if (result.ok) throw new Error('expected a broken trail');
  return result.firstBroken.reason;
}

/** What an attacker without the HMAC key can do: re-derive a plain SHA-256 hash. */
function forge(record: Omit<AuditRecord, 'hash'>): string {
  return JSON.stringify({ ...record, hash: computeRecordHash(record, null) });
}

describe('verifyAuditFile', () => {
  it('accepts an intact trail and reports its head', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const records = await readRecords(file);

    const result = await verifyAuditFile(file, null);

    expect(result).toEqual({ ok: true, records: 5, head: { seq: 5, hash: records[4]!.hash }, start: { seq: 0, hash: GENESIS_HASH } });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    expect(records.slice(1).map((r) => r.prevHash)).toEqual(records.slice(0, 4).map((r) => r.hash));
  });

  it('accepts an empty file as a trail of no records at the genesis hash', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 0);

    expect(await verifyAuditFile(file, null)).toEqual({ ok: true, records: 0, head: { seq: 0, hash: GENESIS_HASH }, start: { seq: 0, hash: GENESIS_HASH } });
  });

  it('reports an edited field at its line', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const lines = await readLines(file);
    const edited = JSON.parse(lines[2]!) as AuditRecord;
    lines[2] = JSON.stringify({ ...edited, ticket: 'INC9999999' });
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 2, firstBroken: { line: 3, seq: 3 } });
    expect(reasonOf(result)).toMatch(/hash does not match the record: it was edited/);
  });

  it('reports a record given a duplicated member that a reader might show instead of the real one', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    // JSON.parse keeps the last "ticket", so the hash still matches; a reader keeping the first would not.
    lines[1] = lines[1]!.replace('{', '{"ticket":"INC9999999",');
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 1, firstBroken: { line: 2, seq: 2 } });
    expect(reasonOf(result)).toMatch(/not byte for byte as KeyDesk writes it/);
  });

  it('reports a deleted record at the line where the gap shows', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const lines = await readLines(file);
    lines.splice(2, 1);
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 2, firstBroken: { line: 3, seq: 4 } });
    expect(reasonOf(result)).toMatch(/seq 4 follows seq 2/);
  });

  it('reports records cut from the middle of the trail', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 8);
    const lines = await readLines(file);
    lines.splice(2, 4);
    await rewrite(file, lines);

    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: false, firstBroken: { line: 3, seq: 7 } });
  });

  it('reports two swapped records at the first of them', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const lines = await readLines(file);
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    await rewrite(file, lines);

    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: false, records: 2, firstBroken: { line: 3, seq: 4 } });
  });

  it('reports a copied record inserted into the trail', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const lines = await readLines(file);
    lines.splice(2, 0, lines[1]!);
    await rewrite(file, lines);

    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: false, records: 2, firstBroken: { line: 3, seq: 2 } });
  });

  it('reports a forged record inserted with a correct SHA-256 hash at the record after it', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 5);
    const lines = await readLines(file);
    const [, second] = await readRecords(file);
    const { hash: _hash, ...template } = second!;
    lines.splice(2, 0, forge({ ...template, seq: 3, prevHash: second!.hash, ticket: 'INC7777777' }));
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 3, firstBroken: { line: 4, seq: 3 } });
  });

  it('reports a line that is not JSON, with no seq', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    lines.splice(1, 0, 'not json');
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toEqual({ ok: false, records: 1, firstBroken: { line: 2, seq: null, reason: 'the line is not valid JSON' } });
  });

  it('reports a last line torn by a crash (no newline)', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    await appendFile(file, '{"seq":4,"id":"');

    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: false, records: 3, firstBroken: { line: 4, seq: null } });
  });

  it('reports a complete last record whose newline never reached the disk', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    await writeFile(file, lines.join('\n'));

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 2, firstBroken: { line: 3, seq: 3 } });
    expect(reasonOf(result)).toMatch(/no newline/);
  });

  it('rejects with the file system error when the file does not exist', async () => {
    const file = await tempAuditFile();

    await expect(verifyAuditFile(file, null)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('verifyAuditFile byte for byte', () => {
  it('reports a trail rewritten with CRLF line endings at its first line, though every record still parses', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 0, firstBroken: { line: 1, seq: 1 } });
    expect(reasonOf(result)).toBe('the line ends in CR LF, not LF: the file was rewritten with Windows line endings');
  });

  it('reports a byte order mark put before the first record', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2);
    await writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await readFile(file)]));

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 0, firstBroken: { line: 1 } });
    expect(reasonOf(result)).toMatch(/^the line begins with a byte order mark/);
  });

  it('reports a byte that is not UTF-8, even where it decodes to the very character the hash covers', async () => {
    const file = await tempAuditFile();
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
    await trail.append(disclosureEntry());
    // A lone surrogate is stored as U+FFFD (EF BF BD), which is also what a decoder makes of a stray byte.
    await trail.append(disclosureEntry({ comment: 'caller typed \uD800' }));
    await trail.close();
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from([0xef, 0xbf, 0xbd]));
    await writeFile(file, Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]));

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 1, firstBroken: { line: 2, seq: 2 } });
    expect(reasonOf(result)).toBe('the line is not valid UTF-8: bytes were changed after KeyDesk wrote them');
  });

  it('reports spaces after a record', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    lines[1] = `${lines[1]}  `;
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 1, firstBroken: { line: 2, seq: 2 } });
    expect(reasonOf(result)).toMatch(/^the line is not byte for byte as KeyDesk writes it/);
  });
});

describe('verifyAuditFile across record shapes', () => {
  /** Records written before door, callerRequestId and the newer checks existed, then today's, one chain. */
  async function mixedTrail(): Promise<string> {
    const file = await tempAuditFile();
    await writeLines(file, sealedLines(3, () => disclosureEntry(), { shape: 'legacy' }).lines);
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
    await trail.append(disclosureEntry({ door: 'web', callerRequestId: 'caller-req-0001' }));
    await trail.append(disclosureEntry());
    await trail.close();
    return file;
  }

  it('accepts a trail whose older records lack door, callerRequestId and the newer check results', async () => {
    const file = await mixedTrail();
    const records = await readRecords(file);

    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true, records: 5, head: { seq: 5 } });
    expect(records.map((record) => 'door' in record)).toEqual([false, false, false, true, true]);
    expect(records[0]!.checks).not.toHaveProperty('deviceEnabled');
    expect(records[3]).toMatchObject({ door: 'web', callerRequestId: 'caller-req-0001', checks: { deviceEnabled: 'passed' } });
  });

  it.each([
    ['an older record', 1],
    ['a newer record', 3],
  ])('reports an edit to %s', async (_name, index) => {
    const file = await mixedTrail();
    const lines = await readLines(file);
    lines[index] = lines[index]!.replace('"ticket":"INC0012345"', '"ticket":"INC0099999"');
    await rewrite(file, lines);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: index, firstBroken: { line: index + 1, seq: index + 1 } });
    expect(reasonOf(result)).toMatch(/hash does not match the record: it was edited/);
  });
});

describe('verifyAuditFile in HMAC mode', () => {
  it('accepts an HMAC-chained trail with the key it was written with', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 4, HMAC_KEY);

    const records = await readRecords(file);
    expect(records.every((r) => r.hashAlg === 'hmac-sha256')).toBe(true);
    expect(await verifyAuditFile(file, HMAC_KEY)).toMatchObject({ ok: true, records: 4, head: { seq: 4 } });
  });

  it('says the key is needed when none is given', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 4, HMAC_KEY);

    const result = await verifyAuditFile(file, null);

    expect(result).toMatchObject({ ok: false, records: 0, firstBroken: { line: 1, seq: 1, unchecked: true } });
    expect(reasonOf(result)).toMatch(/no HMAC key was given: set AUDIT_HMAC_KEY/);
  });

  it('fails at the first record with a wrong key', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 4, HMAC_KEY);

    const result = await verifyAuditFile(file, Buffer.from('another-key-of-at-least-32-characters!!'));

    expect(result).toMatchObject({ ok: false, records: 0, firstBroken: { line: 1, seq: 1 } });
    expect(result).not.toMatchObject({ firstBroken: { unchecked: true } });
    expect(reasonOf(result)).toMatch(/HMAC key is not the one it was written with/);
  });

  it('catches a record forged without the key', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 4, HMAC_KEY);
    const lines = await readLines(file);
    const edited = JSON.parse(lines[1]!) as AuditRecord;
    const { hash: _hash, ...unhashed } = edited;
    lines[1] = forge({ ...unhashed, ticket: 'INC7777777' });
    await rewrite(file, lines);

    expect(await verifyAuditFile(file, HMAC_KEY)).toMatchObject({ ok: false, firstBroken: { line: 2, seq: 2 } });
  });

  it('refuses a plain SHA-256 trail when a key is given, since anyone could have rewritten it', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 2);

    const result = await verifyAuditFile(file, HMAC_KEY);

    expect(result).toMatchObject({ ok: false, firstBroken: { line: 1, seq: 1 } });
    expect(reasonOf(result)).toMatch(/plain SHA-256/);
  });
});
