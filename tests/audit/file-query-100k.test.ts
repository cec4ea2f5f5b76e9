import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import type { AuditEntry, AuditRecord } from '../../src/audit/types.js';
import { disclosureEntry, fixedClock, memoryLogger, sealedLines, tempAuditFile, writeLines } from './audit-kit.js';

/**
 * "My disclosures" on a long trail: a staff member's attempts, then 100,000 records of everyone
 * else. The file is built in memory with the real chain functions and written in one go.
 */

const DANA_OID = '5e0c9a1b-7d3f-4e2a-9b8c-1f2e3d4c5b6a';
const OTHERS = 100_000;
/** Dana's records come first: every third of them is a disclosure outcome (150 in all). */
const DANA_RECORDS = 450;

const dana = {
  kind: 'user' as const,
  appId: 'keydesk-app-id',
  oid: DANA_OID,
  upn: 'dana@contoso.example',
  name: 'Dana',
  ip: '198.51.100.4',
  userAgent: 'Firefox',
};

function entryAt(seq: number): AuditEntry {
  if (seq <= DANA_RECORDS) {
    const kind = seq % 3;
    if (kind === 0) return disclosureEntry({ door: 'web', caller: dana, agentUpn: dana.upn, ticket: `INC${seq}` });
    if (kind === 1) return disclosureEntry({ action: 'disclosure_intent', outcome: 'pending', door: 'web', caller: dana, ticket: `INC${seq}` });
    return disclosureEntry({ action: 'sign_in', outcome: 'granted', door: null, caller: dana });
  }
  // Decoys: Dana's object id in other members, which only the exact filter tells apart.
  if (seq % 10_000 === 0) return disclosureEntry({ ticket: DANA_OID, details: { oid: DANA_OID } });
  return disclosureEntry({ ticket: `INC${seq}`, requesterUpn: `user${seq % 977}@contoso.example` });
}

const danasDisclosures = Array.from({ length: DANA_RECORDS / 3 }, (_, n) => DANA_RECORDS - 3 * n);

describe('FileAuditTrail query over a 100,000-record trail', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keydesk-audit-100k-'));
    file = join(dir, 'audit.jsonl');
    await writeLines(file, sealedLines(DANA_RECORDS + OTHERS, entryAt).lines);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('builds its trail exactly as the trail itself writes records', async () => {
    const small = await tempAuditFile();
    let ids = 0;
    const trail = await openFileAuditTrail({ file: small, hmacKey: null, logger: memoryLogger().logger, clock: fixedClock(), newId: () => `rec-${(ids += 1)}` });
    for (let seq = 1; seq <= 6; seq += 1) await trail.append(entryAt(seq));
    await trail.close();

    const built = sealedLines(6, entryAt, { timeAt: () => fixedClock()().toISOString() }).lines;
    expect((await readFile(small, 'utf8')).split('\n').filter(Boolean)).toEqual(built);
  });

  it("lists a staff member's newest 50 disclosures, then pages on to the first, with records appended meanwhile", async () => {
    const log = memoryLogger();
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: log.logger });
    const filter = { caller: DANA_OID, action: 'disclosure' as const };

    const first = await trail.query(filter, { limit: 50 });
    await trail.append(entryAt(DANA_RECORDS));
    const second = await trail.query(filter, { limit: 50, cursor: first.nextCursor });
    const third = await trail.query(filter, { limit: 50, cursor: second.nextCursor });
    const fresh = await trail.query({ caller: DANA_OID.toUpperCase(), action: 'disclosure' }, { limit: 2 });
    await trail.close();

    const seqs = (records: AuditRecord[]) => records.map((record) => record.seq);
    expect(seqs(first.records)).toEqual(danasDisclosures.slice(0, 50));
    expect(first.records.every((record) => record.caller?.oid === DANA_OID && record.action === 'disclosure')).toBe(true);
    expect(seqs(second.records)).toEqual(danasDisclosures.slice(50, 100));
    expect(seqs(third.records)).toEqual(danasDisclosures.slice(100, 150));
    expect(third.nextCursor).toBeNull();
    expect(seqs(fresh.records)).toEqual([DANA_RECORDS + OTHERS + 1, DANA_RECORDS]);
    // The start-up check of the last record passed: the builder seals as the trail does.
    expect(log.lines.filter((line) => line.level >= 50)).toEqual([]);
  });
});
