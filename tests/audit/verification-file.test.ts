import { stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { fileAuditStore } from '../../src/audit/open-store.js';
import { latestVerification, verificationFileOf } from '../../src/audit/verification/chain-verification.js';
import { createChainVerificationJob } from '../../src/jobs/chain-verification-job.js';
import { testConfig } from '../helpers/config.js';
import { disclosureEntry, memoryLogger, tempAuditFile } from './audit-kit.js';

/** The file store keeps the leader's latest verification beside the trail: a restart still answers it. */

async function openStore(file: string) {
  const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
  return fileAuditStore(trail, file);
}

describe('the file store verification log', () => {
  it('answers the latest verification after a restart, from a private file', async () => {
    const file = await tempAuditFile();
    const first = await openStore(file);
    for (let i = 0; i < 3; i += 1) await first.append(disclosureEntry());
    const job = createChainVerificationJob({ config: testConfig({ AUDIT_FILE: file }), audit: first, isLeader: () => true, logger: memoryLogger().logger });
    const verified = await job.verifyNow();
    expect(verified).toMatchObject({ intact: true, records: 3 });
    await first.close();

    const restarted = await openStore(file);
    expect(await latestVerification(restarted.verifications)).toEqual(verified);
    expect((await stat(verificationFileOf(file))).mode & 0o777).toBe(0o600);
    await restarted.close();
  });

  it('answers nothing before the first run, and says what to do with a file it cannot read', async () => {
    const file = await tempAuditFile();
    const store = await openStore(file);
    expect(await latestVerification(store.verifications)).toMatchObject({ intact: null, verifiedAt: null });
    await store.close();
    await writeFile(verificationFileOf(file), '{not json');
    const broken = await openStore(file);
    await expect(broken.verifications.latest()).rejects.toThrow(/verification\.json cannot be read .*delete it/);
    await broken.close();
  });
});
