import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, recordHashMatches } from '../../src/audit/chain.js';
import { createCheckpointSigner } from '../../src/audit/checkpoints/checkpoint.js';
import type { AuditEntry, AuditFilter, AuditRecord } from '../../src/audit/types.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { disclosureEntry } from '../audit/audit-kit.js';
import { generateKeyPairSync } from 'node:crypto';
import { openStore, type StoreKind, type StoreOptions } from './store-kit.js';

/**
 * What every audit store promises (the AuditTrail port and the checkpointed head), run against
 * the file store and the PostgreSQL store alike: the same records, the same lines, the same
 * answers to the same queries, the same refusals.
 */

const STAFF_OID = 'a3f1c2d4-5b6e-4f70-8192-a3b4c5d6e7f8';

function staffEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return disclosureEntry({
    door: 'web',
    caller: { kind: 'user', appId: 'keydesk-app-id', oid: STAFF_OID, upn: 'dana@contoso.example', name: 'Dana', ip: '198.51.100.4', userAgent: 'Firefox' },
    agentUpn: 'dana@contoso.example',
    ...overrides,
  });
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

const KINDS: StoreKind[] = ['file', 'postgres'];

describe.each(KINDS)('the %s audit store', (kind) => {
  async function storeWith(entries: AuditEntry[], options: StoreOptions & { times?: string[] } = {}) {
    let next = 0;
    const clock = options.times ? () => new Date(options.times![next++] ?? Date.now()) : undefined;
    const opened = await openStore(kind, { ...options, clock });
    for (const entry of entries) await opened.store.append(entry);
    return opened;
  }

  it('chains appends made at one moment gap-free, stores each as the JSON line the file store writes, and moves the head', async () => {
    const { store, lines } = await storeWith([]);
    expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });

    const records = await Promise.all(Array.from({ length: 25 }, (_, n) => store.append(staffEntry({ ticket: `INC${n}` }))));

    expect(seqs(records)).toEqual(Array.from({ length: 25 }, (_, n) => n + 1));
    records.forEach((record, n) => expect(record.prevHash).toBe(n === 0 ? GENESIS_HASH : records[n - 1]!.hash));
    expect(records.every((record) => recordHashMatches(record as unknown as Record<string, unknown>, null, record.hash))).toBe(true);
    expect(await lines()).toEqual(records.map((record) => JSON.stringify(record)));
    expect(await store.head()).toEqual({ seq: 25, hash: records[24]!.hash });
    expect(await store.isWritable()).toBe(true);
  });

  it('chains with HMAC-SHA-256 under AUDIT_HMAC_KEY', async () => {
    const hmacKey = Buffer.alloc(32, 7);
    const { store } = await storeWith([], { hmacKey });
    const record = await store.append(staffEntry());
    expect(record.hashAlg).toBe('hmac-sha256');
    expect(recordHashMatches(record as unknown as Record<string, unknown>, hmacKey, record.hash)).toBe(true);
  });

  it('lists matching records newest first, a page at a time, until nextCursor is null', async () => {
    const { store } = await storeWith(Array.from({ length: 12 }, (_, n) => (n % 2 === 0 ? staffEntry({ ticket: `INC${n}` }) : disclosureEntry())));

    const first = await store.query({ caller: STAFF_OID }, { limit: 4 });
    const second = await store.query({ caller: STAFF_OID }, { limit: 4, cursor: first.nextCursor });

    expect(seqs(first.records)).toEqual([11, 9, 7, 5]);
    expect(seqs(second.records)).toEqual([3, 1]);
    expect(second.nextCursor).toBeNull();
    expect(first.records[0]).toMatchObject({ ticket: 'INC10', caller: { oid: STAFF_OID }, door: 'web' });
    expect((await store.query({})).records).toHaveLength(12);
  });

  it('continues a page after records appended meanwhile, without repeating or skipping one', async () => {
    const { store } = await storeWith(Array.from({ length: 6 }, () => staffEntry()));

    const first = await store.query({ caller: STAFF_OID }, { limit: 3 });
    await Promise.all([store.append(staffEntry()), store.append(staffEntry())]);
    const second = await store.query({ caller: STAFF_OID }, { limit: 3, cursor: first.nextCursor });
    const fresh = await store.query({ caller: STAFF_OID }, { limit: 3 });

    expect(seqs(first.records)).toEqual([6, 5, 4]);
    expect(seqs(second.records)).toEqual([3, 2, 1]);
    expect(seqs(fresh.records)).toEqual([8, 7, 6]);
  });

  const filterCases: [string, AuditFilter, number[]][] = [
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
  ];

  it('filters by every member, alone and combined, as the file store does', async () => {
    const { store } = await storeWith([
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

    for (const [name, filter, expected] of filterCases) {
      expect({ name, seqs: seqs((await store.query(filter)).records) }).toEqual({ name, seqs: expected });
    }
  });

  it('finds values JSON escapes, values outside ASCII, and names that differ only in case beyond ASCII', async () => {
    const { store } = await storeWith([
      staffEntry({ ticket: 'INC "7" \\ é' }),
      staffEntry({ device: { id: 'o2', deviceId: 'd2', displayName: 'LAPTOP-JÖRG' } }),
      // U+212A KELVIN SIGN lowercases to an ASCII "k".
      staffEntry({ device: { id: 'o3', deviceId: 'd3', displayName: '\u212AIOSK-01' } }),
      staffEntry({ device: { id: 'o4', deviceId: 'd4', displayName: 'KIOSK-01' } }),
      staffEntry({ comment: 'caller said "KIOSK-01"' }),
    ]);

    expect(seqs((await store.query({ ticket: 'INC "7" \\ é' })).records)).toEqual([1]);
    expect(seqs((await store.query({ deviceName: 'laptop-jörg' })).records)).toEqual([2]);
    expect(seqs((await store.query({ deviceName: 'kiosk-01' })).records)).toEqual([4, 3]);
    expect(seqs((await store.query({ deviceName: '\u212Aiosk-01' })).records)).toEqual([4, 3]);
  });

  it('reads from as inclusive and to as exclusive, in any zone', async () => {
    const times = ['2026-11-30T23:59:59.999Z', '2026-12-01T00:00:00.000Z', '2026-12-01T08:59:59.999Z', '2026-12-01T09:00:00.000Z'];
    const { store } = await storeWith(
      times.map(() => staffEntry()),
      { times },
    );

    expect(seqs((await store.query({ from: '2026-12-01', to: '2026-12-01T09:00:00Z' })).records)).toEqual([3, 2]);
    expect(seqs((await store.query({ from: '2026-12-01T10:00:00+01:00' })).records)).toEqual([4]);
    expect(seqs((await store.query({ to: '2026-12-01T01:00:00.000+0100' })).records)).toEqual([1]);
  });

  it.each<[string, number]>([
    ['zero', 0],
    ['over 500', 501],
    ['a fraction', 2.5],
  ])('refuses a limit of %s with invalid_request', async (_name, limit) => {
    const { store } = await storeWith([staffEntry()]);
    const problem = await problemOf(store.query({}, { limit }));
    expect(problem.code).toBe('invalid_request');
    expect(problem.detail).toBe('limit (the page size) must be a whole number from 1 to 500; the default is 50.');
  });

  it('refuses a malformed time without echoing it', async () => {
    const { store } = await storeWith([staffEntry()]);
    const problem = await problemOf(store.query({ from: '2026-12-01T09:00:00' }));
    expect(problem.code).toBe('invalid_request');
    expect(problem.detail).toMatch(/^from must be an ISO 8601 date \(2026-03-31\) or date and time with a zone/);
  });

  it("refuses a cursor it did not issue: garbage, the other store's, another trail's, or one edited", async () => {
    const { store } = await storeWith(Array.from({ length: 5 }, () => staffEntry()));
    const other = await storeWith(Array.from({ length: 5 }, () => staffEntry({ ticket: 'INC-OTHER' })));
    const otherKind = await openStore(kind === 'file' ? 'postgres' : 'file');
    for (let n = 0; n < 3; n += 1) await otherKind.store.append(staffEntry());
    const mine = (await store.query({}, { limit: 2 })).nextCursor!;
    const decoded = Buffer.from(mine, 'base64url').toString('utf8');
    const cursors = [
      'not-a-cursor!',
      'Zm9v',
      (await otherKind.store.query({}, { limit: 1 })).nextCursor!,
      (await other.store.query({}, { limit: 2 })).nextCursor!,
      Buffer.from(decoded.replace(/^(\w+):(\d+)/, '$1:1')).toString('base64url'),
    ];

    for (const cursor of cursors) {
      const problem = await problemOf(store.query({}, { cursor }));
      expect(problem.code).toBe('invalid_request');
      expect(problem.detail).toMatch(/^The cursor was not issued by this audit trail/);
    }
    expect(seqs((await store.query({}, { cursor: mine })).records)).toEqual([3, 2, 1]);
  });

  it('keeps signed checkpoints of the head, the last one read back; the same head signed twice is kept once', async () => {
    const { store } = await storeWith([staffEntry(), staffEntry()]);
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(await store.checkpoints.last()).toBeNull();

    const first = signer.sign({ seq: 1, hash: (await store.query({})).records[1]!.hash }, 'keydesk:tenant:client', new Date('2026-12-01T09:00:00Z'));
    const second = signer.sign(await store.head(), 'keydesk:tenant:client', new Date('2026-12-01T09:01:00Z'));
    await store.checkpoints.append(first);
    await store.checkpoints.append(second);
    if (kind === 'postgres') await store.checkpoints.append(second);

    expect(await store.checkpoints.last()).toEqual(second);
  });

  it('waits for appends in flight on close, then refuses appends with audit_unavailable', async () => {
    const { store, lines } = await storeWith([]);
    const pending = Array.from({ length: 10 }, () => store.append(staffEntry()));
    await store.close();

    expect(seqs(await Promise.all(pending))).toEqual(Array.from({ length: 10 }, (_, n) => n + 1));
    expect(await lines()).toHaveLength(10);
    expect((await problemOf(store.append(staffEntry()))).code).toBe('audit_unavailable');
    expect(await store.isWritable()).toBe(false);
  });
});
