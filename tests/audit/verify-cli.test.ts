import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVerifyCli } from '../../src/audit/verify-cli.js';
import { loadAuditVerifyConfig } from '../../src/config/audit-verify-config.js';
import { disclosureEntry, readLines, readRecords, sealedLines, tempAuditFile, writeLines, writeTrail } from './audit-kit.js';
import { checkpointFile, signingKey } from './checkpoints/checkpoint-kit.js';

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerifyCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('npm run audit:verify', () => {
  it('prints the record count and head and exits 0 for an intact trail', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const head = (await readRecords(file))[2]!.hash;

    expect(await run([file])).toEqual({ code: 0, out: `audit trail intact: 3 records, head seq 3 hash ${head}`, err: '' });
  });

  it('prints the first broken line to stderr and exits 1 for a tampered trail', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 3);
    const lines = await readLines(file);
    await writeFile(file, [lines[0], lines[2]].map((line) => `${line}\n`).join(''));

    const result = await run([file]);

    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toMatch(/^audit trail BROKEN at line 2 \(seq 3\): seq 3 follows seq 1/);
  });

  it('verifies an HMAC-chained trail with AUDIT_HMAC_KEY from the environment, and exits 2 without it (not checked) but 1 with another key', async () => {
    const file = await tempAuditFile();
    const key = randomBytes(36).toString('base64');
    await writeTrail(file, 2, Buffer.from(key, 'utf8'));

    expect((await run([file], { AUDIT_HMAC_KEY: key })).code).toBe(0);
    const withoutKey = await run([file]);
    expect(withoutKey.code).toBe(2);
    expect(withoutKey.err).toMatch(/^audit trail not checked at line 1 \(seq 1\): .*no HMAC key was given: set AUDIT_HMAC_KEY/);
    const otherKey = await run([file], { AUDIT_HMAC_KEY: randomBytes(36).toString('base64') });
    expect(otherKey.code).toBe(1);
    expect(otherKey.err).toMatch(/^audit trail BROKEN at line 1 \(seq 1\): .*the HMAC key is not the one it was written with/);
  });

  it('exits 2 with the usage when the file argument is missing or extra arguments are given', async () => {
    for (const argv of [[], ['a.jsonl', 'b.jsonl'], ['--verbose']]) {
      const result = await run(argv);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/^usage: npm run audit:verify -- <audit-file>/);
    }
  });

  it('exits 2 naming the file when it does not exist', async () => {
    const file = await tempAuditFile();

    expect(await run([file])).toEqual({ code: 2, out: '', err: `audit file not found: ${file}` });
  });

  it('exits 2 when given a directory', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 1);

    const result = await run([dirname(file)]);

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^not a file/);
  });

  it('exits 2 when AUDIT_HMAC_KEY is too short to be a key KeyDesk accepts', async () => {
    const file = await tempAuditFile();
    await writeTrail(file, 1);

    const result = await run([file], { AUDIT_HMAC_KEY: 'short' });

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/AUDIT_HMAC_KEY is too short/);
  });
});

describe('npm run audit:verify --partial', () => {
  const entry = (seq: number) => disclosureEntry({ ticket: `INC${seq}` });

  it('verifies a trail that begins above seq 1, saying its first prevHash was taken on trust', async () => {
    const file = await tempAuditFile();
    const before = sealedLines(20, entry);
    const after = sealedLines(5, entry, { from: before.head });
    await writeLines(file, after.lines);

    expect((await run([file])).code).toBe(1);
    const result = await run(['--partial', file]);
    expect(result.code).toBe(0);
    expect(result.out).toBe(
      [
        `audit trail intact (partial): 5 records, seq 21..25, head seq 25 hash ${after.head.hash}`,
        `the first record's prevHash ${before.head.hash} (the hash of seq 20, not in this file) was taken on trust: the records agree among themselves; check them against a checkpoint or the archive before them`,
      ].join('\n'),
    );
  });

  it('still finds a record missing inside the partial trail', async () => {
    const file = await tempAuditFile();
    const { lines } = sealedLines(5, entry, { from: sealedLines(20, entry).head });
    await writeLines(file, [lines[0]!, lines[1]!, lines[3]!, lines[4]!]);

    const result = await run(['--partial', file]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^audit trail BROKEN at line 3 \(seq 24\): seq 24 follows seq 22/);
  });

  it('takes nothing on trust for a partial trail that begins at seq 1', async () => {
    const file = await tempAuditFile();
    await writeLines(file, sealedLines(3, entry).lines);
    const foreign = sealedLines(3, entry, { from: { seq: 0, hash: 'f'.repeat(64) } });

    expect((await run(['--partial', file])).out).toMatch(/nothing was taken on trust$/);
    await writeLines(file, foreign.lines);
    expect((await run(['--partial', file])).err).toMatch(/^audit trail BROKEN at line 1 \(seq 1\): prevHash is not the hash of the previous record/);
  });
});

describe('npm run audit:verify --checkpoint --public-key', () => {
  const entry = (seq: number) => disclosureEntry({ ticket: `INC${seq}` });

  async function signedTrail(count: number) {
    const file = await tempAuditFile();
    const trail = sealedLines(count, entry);
    await writeLines(file, trail.lines);
    const key = await signingKey(dirname(file));
    const hashAt = (seq: number) => (JSON.parse(trail.lines[seq - 1]!) as { hash: string }).hash;
    return { file, trail, key, hashAt };
  }

  it('says the trail agrees with the last checkpoint of the file', async () => {
    const { file, trail, key, hashAt } = await signedTrail(10);
    const checkpoints = await checkpointFile(file, [key.sign({ seq: 4, hash: hashAt(4) }), key.sign({ seq: 7, hash: hashAt(7) })]);

    const result = await run([file, '--checkpoint', checkpoints, '--public-key', key.publicKeyFile]);

    expect(result.code).toBe(0);
    expect(result.out).toMatch(new RegExp(`^audit trail intact: 10 records, head seq 10 hash ${trail.head.hash}\ncheckpoint agrees: seq 7 hash ${hashAt(7)}, signed 2026-03-01T10:00:00.000Z by key [0-9a-f]{64} \\(keydesk:contoso-tenant:keydesk-app\\)$`));
  });

  it('exits 1 naming the missing records when the trail was cut after the checkpoint', async () => {
    const { file, trail, key } = await signedTrail(10);
    const checkpoints = await checkpointFile(file, [key.sign(trail.head)]);
    await writeLines(file, trail.lines.slice(0, 6));

    const result = await run([file, '--checkpoint', checkpoints, '--public-key', key.publicKeyFile]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^audit trail BROKEN: the trail ends at seq 6, but the checkpoint of 2026-03-01T10:00:00.000Z covers seq 10: records 7..10 missing\n\(the records present chain correctly: 6 records, head seq 6 hash [0-9a-f]{64}\)$/);
  });

  it('exits 1 when the trail was rewritten and re-chained up to the checkpoint', async () => {
    const { file, key, hashAt } = await signedTrail(10);
    const checkpoints = await checkpointFile(file, [key.sign({ seq: 5, hash: hashAt(5) })]);
    await writeLines(file, sealedLines(10, (seq) => disclosureEntry({ ticket: `INC${seq}`, requesterUpn: 'someone.else@contoso.example' })).lines);

    const result = await run([file, '--checkpoint', checkpoints, '--public-key', key.publicKeyFile]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^audit trail BROKEN: the record at seq 5 has hash [0-9a-f]{64}, but the checkpoint of .* signed [0-9a-f]{64}: the trail was rewritten up to there/);
  });

  it('exits 1 for a checkpoint whose signature does not verify', async () => {
    const { file, trail, key } = await signedTrail(3);
    const checkpoint = key.sign(trail.head);
    const checkpoints = await checkpointFile(file, [{ ...checkpoint, seq: 2 }]);

    const result = await run([file, '--checkpoint', checkpoints, '--public-key', key.publicKeyFile]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^audit trail BROKEN: the checkpoint signature is not valid: the checkpoint was altered or not signed by this key/);
  });

  it('checks a partial trail against a checkpoint at or after the seq before it, and cannot against an older one', async () => {
    const file = await tempAuditFile();
    const before = sealedLines(20, entry);
    const after = sealedLines(5, entry, { from: before.head });
    await writeLines(file, after.lines);
    const key = await signingKey(dirname(file));

    const atStart = await checkpointFile(file, [key.sign(before.head)]);
    const confirmed = await run(['--partial', file, '--checkpoint', atStart, '--public-key', key.publicKeyFile]);
    expect(confirmed.code).toBe(0);
    expect(confirmed.out).toMatch(/the first record's prevHash [0-9a-f]{64} \(the hash of seq 20\) is confirmed by the checkpoint$/);

    const older = await checkpointFile(file, [key.sign({ seq: 3, hash: (JSON.parse(before.lines[2]!) as { hash: string }).hash })]);
    const unchecked = await run(['--partial', file, '--checkpoint', older, '--public-key', key.publicKeyFile]);
    expect(unchecked.code).toBe(2);
    expect(unchecked.err).toMatch(/^audit trail not checked: the checkpoint covers seq 3, before this partial trail begins at seq 21: give a checkpoint at seq 20 or later/);
  });

  it('exits 2 with the usage unless both are given for a file, and names an unreadable key or checkpoint', async () => {
    const { file, key } = await signedTrail(2);
    const checkpoints = await checkpointFile(file, [key.sign({ seq: 1, hash: 'a'.repeat(64) })]);

    for (const argv of [[file, '--checkpoint', checkpoints], [file, '--public-key', key.publicKeyFile]]) {
      const result = await run(argv);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/^usage: npm run audit:verify/);
    }
    expect(await run([file, '--checkpoint', checkpoints, '--public-key', `${file}.nokey`])).toMatchObject({ code: 2, err: `cannot use the public key ${file}.nokey: no such file` });
    expect(await run([file, '--checkpoint', `${file}.none`, '--public-key', key.publicKeyFile])).toMatchObject({ code: 2, err: `the checkpoint file ${file}.none is missing or empty` });
    expect((await run([file, '--checkpoint', file, '--public-key', key.publicKeyFile])).err).toMatch(/^cannot read the checkpoint .*: the last line of .* is not a checkpoint/);
  });
});

describe('loadAuditVerifyConfig', () => {
  it('reads no key from an unset or blank AUDIT_HMAC_KEY', () => {
    expect(loadAuditVerifyConfig({})).toEqual({ hmacKey: null });
    expect(loadAuditVerifyConfig({ AUDIT_HMAC_KEY: '   ' })).toEqual({ hmacKey: null });
  });

  it('reads the key as UTF-8 bytes after trimming, as the service does', () => {
    const key = 'k'.repeat(40);

    expect(loadAuditVerifyConfig({ AUDIT_HMAC_KEY: ` ${key}\n` }).hmacKey).toEqual(Buffer.from(key, 'utf8'));
  });
});
