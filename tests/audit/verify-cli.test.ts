import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVerifyCli } from '../../src/audit/verify-cli.js';
import { loadAuditVerifyConfig } from '../../src/config/audit-verify-config.js';
import { readLines, readRecords, tempAuditFile, writeTrail } from './audit-kit.js';

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

  it('verifies an HMAC-chained trail with AUDIT_HMAC_KEY from the environment', async () => {
    const file = await tempAuditFile();
    const key = randomBytes(36).toString('base64');
    await writeTrail(file, 2, Buffer.from(key, 'utf8'));

    expect((await run([file], { AUDIT_HMAC_KEY: key })).code).toBe(0);
    const withoutKey = await run([file]);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.err).toMatch(/set AUDIT_HMAC_KEY/);
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
