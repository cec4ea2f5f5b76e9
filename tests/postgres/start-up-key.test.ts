import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPostgresAuditStore } from '../../src/audit/postgres/open.js';
import type { AuditStore } from '../../src/audit/store.js';
import { disclosureEntry, memoryLogger } from '../audit/audit-kit.js';
import { CLIENT_ID, TENANT_ID } from '../helpers/entra.js';
import { freePort } from '../helpers/net.js';
import { runTool, testDatabase } from './audit-tools-kit.js';
import { storedLines } from './store-kit.js';

const KEY = 'start-up-key-test-hmac-key-0123456789abcdef';
const OTHER_KEY = 'start-up-key-test-other-key-0123456789abcdef';
const ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'server', 'main.js');

function open(url: string, hmacKey: string | null): Promise<AuditStore> {
  const key = hmacKey === null ? null : Buffer.from(hmacKey, 'utf8');
  return openPostgresAuditStore({ url, migrationUrl: url, poolMax: 2 }, { hmacKey: key, logger: memoryLogger().logger });
}

/** A migrated database whose trail holds `count` records chained under `hmacKey`. */
async function trailWrittenWith(hmacKey: string | null, count = 2): Promise<string> {
  const { url } = await testDatabase();
  const store = await open(url, hmacKey);
  for (let n = 0; n < count; n += 1) await store.append(disclosureEntry());
  await store.close();
  return url;
}

describe('the PostgreSQL store and AUDIT_HMAC_KEY at start-up', () => {
  it.each([
    ['another key on an HMAC trail', KEY, OTHER_KEY, /AUDIT_HMAC_KEY is not the key the audit trail in database .* was written with: its last record \(seq 2, hmac-sha256\).*a different key/],
    ['no key on an HMAC trail', KEY, null, /AUDIT_HMAC_KEY is not set, but the audit trail in database .* is chained with HMAC-SHA-256 \(hmac-sha256;.*Set AUDIT_HMAC_KEY to the key the trail was written with/],
    ['a key on a plain trail', null, KEY, /AUDIT_HMAC_KEY is set, but the audit trail in database .* is chained with plain SHA-256 \(sha256;.*Unset AUDIT_HMAC_KEY.*new, empty database/],
  ])('refuses to start with %s (a ConfigError naming AUDIT_HMAC_KEY) and appends nothing', async (_case, writtenWith, startedWith, message) => {
    const url = await trailWrittenWith(writtenWith);
    const before = await storedLines(url);

    await expect(open(url, startedWith)).rejects.toMatchObject({ name: 'ConfigError', problems: [expect.stringMatching(message)] });
    expect(await storedLines(url)).toEqual(before);
    const verified = await runTool('verify', ['--database-url', url], writtenWith === null ? {} : { AUDIT_HMAC_KEY: writtenWith });
    expect(verified).toMatchObject({ code: 0 });
  });

  it('starts with the key the trail was written with, and the trail still verifies after it appended', async () => {
    const url = await trailWrittenWith(KEY);

    const store = await open(url, KEY);
    await expect(store.append(disclosureEntry())).resolves.toMatchObject({ seq: 3, hashAlg: 'hmac-sha256' });
    await store.close();
    expect(await runTool('verify', ['--database-url', url], { AUDIT_HMAC_KEY: KEY })).toMatchObject({ code: 0 });
  });

  it.each([
    ['no key', null],
    ['a key', KEY],
  ])('starts on an empty trail with %s', async (_case, hmacKey) => {
    const { url } = await testDatabase();

    const store = await open(url, hmacKey);
    await expect(store.append(disclosureEntry())).resolves.toMatchObject({ seq: 1 });
    await store.close();
  });

  it('makes npm start exit 78 naming AUDIT_HMAC_KEY', async () => {
    const url = await trailWrittenWith(KEY, 1);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '',
      AZURE_TENANT_ID: TENANT_ID,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: 'start-up-key-test-secret',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_STORE: 'postgres',
      DATABASE_URL: url,
      AUDIT_HMAC_KEY: OTHER_KEY,
    };

    const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(process.execPath, [ENTRY], { env, timeout: 20_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, output: stdout + stderr }));
    });

    expect(run.code).toBe(78);
    expect(run.output).toMatch(/AUDIT_HMAC_KEY is not the key the audit trail in database .* was written with/);
    expect(run.output).not.toContain(OTHER_KEY);
  });
});
