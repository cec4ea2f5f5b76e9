import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { keyReadFileOf, openFileReconciliationStore } from '../../src/reconcile/file-store.js';
import type { StoredKeyRead } from '../../src/reconcile/types.js';

/** The file store's record of Entra's key reads: private, kept across restarts, a torn last line ignored. */

const READ: StoredKeyRead = {
  entraEventId: 'Directory_1',
  activityDateTime: '2026-11-25T09:30:00.000Z',
  keyId: 'b465e4e8-0f1d-4c3b-9a8e-7d6c5b4a3f21',
  deviceId: null,
  deviceName: null,
  initiatedBy: { kind: 'user', appId: null, servicePrincipalId: null, userPrincipalName: 'eve@contoso.com', userId: null, displayName: null, ipAddress: null },
  correlationId: null,
  matchedDisclosureId: null,
  matchedBy: null,
  reportedRecordId: null,
};

describe('the file store of Entra key reads', () => {
  it('writes a 0600 file beside AUDIT_FILE that a restarted KeyDesk reads back, reports included, ignoring a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keydesk-reconcile-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const auditFile = join(dir, 'audit.jsonl');
    const first = await openFileReconciliationStore(auditFile);
    expect(await first.addKeyRead(READ)).toBe(true);
    expect(await first.claimReport(READ.entraEventId)).toBe(true);
    await first.completeReport(READ.entraEventId, 'record-1');
    expect(((await stat(keyReadFileOf(auditFile))).mode & 0o777).toString(8)).toBe('600');
    await appendFile(keyReadFileOf(auditFile), '{"type":"key_read","read":{"entraEv');

    const restarted = await openFileReconciliationStore(auditFile);
    expect(await restarted.addKeyRead(READ)).toBe(false);
    expect(await restarted.claimReport(READ.entraEventId)).toBe(false);
    expect(await restarted.keyReads({})).toEqual([{ ...READ, reportedRecordId: 'record-1' }]);
    await restarted.addKeyRead({ ...READ, entraEventId: 'Directory_2' });
    expect((await openFileReconciliationStore(auditFile).then((again) => again.keyReads({}))).map((read) => read.entraEventId)).toEqual(['Directory_1', 'Directory_2']);
    expect((await readFile(keyReadFileOf(auditFile), 'utf8')).split('\n')).toHaveLength(4);
  });
});
