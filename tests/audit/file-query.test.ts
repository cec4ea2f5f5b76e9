import { describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import type { AuditEntry, AuditFilter, AuditRecord, AuditTrail } from '../../src/audit/types.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { MemoryAuditTrail } from '../helpers/fakes.js';
import { disclosureEntry, faultyFileSystem, memoryLogger, sealedLines, tempAuditFile, writeLines } from './audit-kit.js';

const STAFF_OID = 'a3f1c2d4-5b6e-4f70-8192-a3b4c5d6e7f8';

/** A web disclosure by a signed-in staff member. */
function staffEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return disclosureEntry({
    door: 'web',
    caller: { kind: 'user', appId: 'keydesk-app-id', oid: STAFF_OID, upn: 'dana@contoso.example', name: 'Dana', ip: '198.51.100.4', userAgent: 'Firefox' },
    agentUpn: 'dana@contoso.example',
    ...overrides,
  });
}

async function trailWith(entries: AuditEntry[], times?: string[]): Promise<AuditTrail> {
  const file = await tempAuditFile();
  let next = 0;
  const clock = () => new Date(times?.[next++] ?? Date.now());
  const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger, clock });
  for (const entry of entries) await trail.append(entry);
  return trail;
}

const seqs = (records: AuditRecord[]) => records.map((record) => record.seq);

async function problemOf(promise: Promise<unknown>): Promise<KeyDeskProblem> {
  const error = await promise.then(
    () => null,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(KeyDeskProblem);
  return error as KeyDeskProblem;
}

describe('FileAuditTrail query', () => {
  it('lists matching records newest first, a page at a time, until nextCursor is null', async () => {
    const trail = await trailWith(Array.from({ length: 12 }, (_, n) => (n % 2 === 0 ? staffEntry({ ticket: `INC${n}` }) : disclosureEntry())));

    const first = await trail.query({ caller: STAFF_OID }, { limit: 4 });
    const second = await trail.query({ caller: STAFF_OID }, { limit: 4, cursor: first.nextCursor });

    expect(seqs(first.records)).toEqual([11, 9, 7, 5]);
    expect(seqs(second.records)).toEqual([3, 1]);
    expect(second.nextCursor).toBeNull();
    expect(first.records[0]).toMatchObject({ ticket: 'INC10', caller: { oid: STAFF_OID }, door: 'web' });
    await trail.close();
  });

  it('continues a page after records appended meanwhile, without repeating or skipping one', async () => {
    const trail = await trailWith(Array.from({ length: 6 }, () => staffEntry()));

    const first = await trail.query({ caller: STAFF_OID }, { limit: 3 });
    await Promise.all([trail.append(staffEntry()), trail.append(staffEntry())]);
    const second = await trail.query({ caller: STAFF_OID }, { limit: 3, cursor: first.nextCursor });
    const fresh = await trail.query({ caller: STAFF_OID }, { limit: 3 });

    expect(seqs(first.records)).toEqual([6, 5, 4]);
    expect(seqs(second.records)).toEqual([3, 2, 1]);
    expect(seqs(fresh.records)).toEqual([8, 7, 6]);
    await trail.close();
  });

  it('shows no record whose write is not yet durable', async () => {
    const file = await tempAuditFile();
    const disk = faultyFileSystem(file);
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger, fileSystem: disk.fileSystem });
    await trail.append(staffEntry());
    let release!: () => void;
    disk.faults.holdSync = new Promise<void>((resolve) => (release = resolve));

    const pending = trail.append(staffEntry());
    await new Promise((resolve) => setTimeout(resolve, 20));
    const during = await trail.query({});
    release();
    await pending;

    expect(seqs(during.records)).toEqual([1]);
    expect(seqs((await trail.query({})).records)).toEqual([2, 1]);
    await trail.close();
  });

  it.each<[string, AuditFilter, number[]]>([
    ['action', { action: 'disclosure_intent' }, [2]],
    ['outcome', { outcome: 'refused' }, [3]],
    ['code', { code: 'key_id_mismatch' }, [3]],
    ['door', { door: 'web' }, [4, 3, 2]],
    ['disclosureId (any case)', { disclosureId: 'D1D1D1D1-0000-4000-8000-000000000003' }, [3, 2]],
    ['caller object id', { caller: STAFF_OID.toUpperCase() }, [4, 3, 2]],
    ['caller UPN', { caller: 'Dana@Contoso.example' }, [4, 3, 2]],
    ['caller app id', { caller: '11111111-2222-3333-4444-555555555555' }, [1]],
    ['agentUpn', { agentUpn: 'DANA@contoso.example' }, [4, 3, 2]],
    ['requesterUpn', { requesterUpn: 'bob@contoso.example' }, [4]],
    ['deviceId', { deviceId: 'DEV-4' }, [4]],
    ['deviceName (exact, any case)', { deviceName: 'laptop-bob' }, [4]],
    ['deviceName is not a prefix search', { deviceName: 'laptop-b' }, []],
    ['recoveryKeyId', { recoveryKeyId: 'C0C0C0C0-0000-4000-8000-000000000004' }, [4]],
    ['ticket (exact case)', { ticket: 'INC0000004' }, [4]],
    ['ticket in another case', { ticket: 'inc0000004' }, []],
    ['members combined', { door: 'web', outcome: 'granted', action: 'disclosure' }, [4]],
  ])('filters by %s', async (_name, filter, expected) => {
    const trail = await trailWith([
      disclosureEntry({ disclosureId: 'd1d1d1d1-0000-4000-8000-000000000001' }),
      staffEntry({ action: 'disclosure_intent', outcome: 'pending', disclosureId: 'd1d1d1d1-0000-4000-8000-000000000003' }),
      staffEntry({ outcome: 'refused', code: 'key_id_mismatch', disclosureId: 'd1d1d1d1-0000-4000-8000-000000000003' }),
      staffEntry({
        ticket: 'INC0000004',
        requesterUpn: 'bob@contoso.example',
        device: { id: 'obj-4', deviceId: 'dev-4', displayName: 'LAPTOP-BOB' },
        recoveryKeyId: 'c0c0c0c0-0000-4000-8000-000000000004',
      }),
    ]);

    expect(seqs((await trail.query(filter)).records)).toEqual(expected);
    await trail.close();
  });

  it('finds values JSON escapes, values outside ASCII, and names that differ only in case beyond ASCII', async () => {
    const trail = await trailWith([
      staffEntry({ ticket: 'INC "7" \\ é' }),
      staffEntry({ device: { id: 'o2', deviceId: 'd2', displayName: 'LAPTOP-JÖRG' } }),
      // U+212A KELVIN SIGN lowercases to an ASCII "k".
      staffEntry({ device: { id: 'o3', deviceId: 'd3', displayName: '\u212AIOSK-01' } }),
      staffEntry({ device: { id: 'o4', deviceId: 'd4', displayName: 'KIOSK-01' } }),
      staffEntry({ comment: 'caller said "KIOSK-01"' }),
    ]);

    expect(seqs((await trail.query({ ticket: 'INC "7" \\ é' })).records)).toEqual([1]);
    expect(seqs((await trail.query({ deviceName: 'laptop-jörg' })).records)).toEqual([2]);
    expect(seqs((await trail.query({ deviceName: 'kiosk-01' })).records)).toEqual([4, 3]);
    expect(seqs((await trail.query({ deviceName: '\u212Aiosk-01' })).records)).toEqual([4, 3]);
    await trail.close();
  });

  it('reads from as inclusive and to as exclusive, in any zone', async () => {
    const times = ['2026-11-30T23:59:59.999Z', '2026-12-01T00:00:00.000Z', '2026-12-01T08:59:59.999Z', '2026-12-01T09:00:00.000Z'];
    const trail = await trailWith(times.map(() => staffEntry()), times);

    expect(seqs((await trail.query({ from: '2026-12-01', to: '2026-12-01T09:00:00Z' })).records)).toEqual([3, 2]);
    expect(seqs((await trail.query({ from: '2026-12-01T10:00:00+01:00' })).records)).toEqual([4]);
    expect(seqs((await trail.query({ to: '2026-12-01T01:00:00.000+0100' })).records)).toEqual([1]);
    await trail.close();
  });

  it('reads records written before door, callerRequestId and the newer check results with those members null', async () => {
    const file = await tempAuditFile();
    await writeLines(file, sealedLines(2, () => staffEntry(), { shape: 'legacy' }).lines);
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
    await trail.append(staffEntry({ callerRequestId: 'caller-req-0001' }));

    const { records } = await trail.query({ caller: STAFF_OID });
    const webOnly = await trail.query({ door: 'web' });
    await trail.close();

    expect(seqs(records)).toEqual([3, 2, 1]);
    expect(records[2]).toMatchObject({
      door: null,
      callerRequestId: null,
      checks: { ticket: true, requester: 'passed', deviceEnabled: null, requesterMatchedAs: null, requesterEnabled: null },
    });
    expect(records[0]).toMatchObject({ door: 'web', callerRequestId: 'caller-req-0001', checks: { deviceEnabled: 'passed' } });
    expect(seqs(webOnly.records)).toEqual([3]);
  });

  it('passes over a line that is not a record rather than failing the query', async () => {
    const file = await tempAuditFile();
    const { lines } = sealedLines(3, () => staffEntry());
    await writeLines(file, [lines[0]!, `{"seq":2,"caller":{"oid":"${STAFF_OID}"}`, lines[2]!]);
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });

    expect(seqs((await trail.query({ caller: STAFF_OID })).records)).toEqual([3, 1]);
    await trail.close();
  });
});

describe('FileAuditTrail query refusals', () => {
  it.each<[string, number]>([
    ['zero', 0],
    ['over 500', 501],
    ['a fraction', 2.5],
  ])('refuses a limit of %s with invalid_request', async (_name, limit) => {
    const trail = await trailWith([staffEntry()]);

    const problem = await problemOf(trail.query({}, { limit }));

    expect(problem.code).toBe('invalid_request');
    expect(problem.detail).toBe('limit (the page size) must be a whole number from 1 to 500; the default is 50.');
    await trail.close();
  });

  it.each(['yesterday', '2026-02-30', '2026-12-01T09:00:00', '2026-12-01T25:00:00Z', '01/12/2026'])(
    'refuses from %j as a malformed time, without echoing it',
    async (from) => {
      const trail = await trailWith([staffEntry()]);

      const problem = await problemOf(trail.query({ from }));

      expect(problem.code).toBe('invalid_request');
      expect(problem.detail).toMatch(/^from must be an ISO 8601 date \(2026-03-31\) or date and time with a zone/);
      expect(problem.detail).not.toContain(from);
      await trail.close();
    },
  );

  it("refuses a cursor it did not issue: garbage, another store's, another trail's, or one edited", async () => {
    const trail = await trailWith(Array.from({ length: 5 }, () => staffEntry()));
    const other = await trailWith(Array.from({ length: 5 }, () => staffEntry({ ticket: 'INC-OTHER' })));
    const memory = new MemoryAuditTrail();
    for (let n = 0; n < 3; n += 1) await memory.append(staffEntry());
    const mine = (await trail.query({}, { limit: 2 })).nextCursor!;
    const decoded = Buffer.from(mine, 'base64url').toString('utf8');
    const cursors = [
      'not-a-cursor!',
      'Zm9v',
      (await memory.query({}, { limit: 1 })).nextCursor!,
      (await other.query({}, { limit: 2 })).nextCursor!,
      Buffer.from(decoded.replace(/:(\d+):/, (_match, offset: string) => `:${Number(offset) + 1}:`)).toString('base64url'),
      Buffer.from(decoded.replace(/^file:(\d+)/, 'file:1')).toString('base64url'),
    ];

    for (const cursor of cursors) {
      const problem = await problemOf(trail.query({}, { cursor }));
      expect(problem.code).toBe('invalid_request');
      expect(problem.detail).toMatch(/^The cursor was not issued by this audit trail/);
    }
    expect(seqs((await trail.query({}, { cursor: mine })).records)).toEqual([3, 2, 1]);
    await Promise.all([trail.close(), other.close()]);
  });
});
