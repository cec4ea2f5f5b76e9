import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import type { RecoveryKeyMetadata } from '../../src/graph/types.js';
import { keyIndexFileOf, openFileKeyIndex } from '../../src/key-index/file-store.js';
import { createPostgresKeyIndex } from '../../src/key-index/postgres-store.js';
import type { KeyIndexStore } from '../../src/key-index/types.js';
import { memoryLogger, tempAuditFile } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from '../postgres/pg-kit.js';

/**
 * The key index's two stores behave alike: a full sync upserts what Graph lists and marks what it
 * no longer lists removed (kept, with removedAt), a device's refresh does the same for one device,
 * one sync holds the lease at a time, and a key ID is found by its first digits, hyphens ignored.
 */

const DEVICE_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const DEVICE_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const key = (id: string, deviceId: string, createdDateTime = '2026-01-11T10:00:00Z'): RecoveryKeyMetadata => ({ id, deviceId, volumeType: 'operatingSystemVolume', createdDateTime });
const K1 = key('1a2b3c4d-1111-4aaa-8aaa-000000000001', DEVICE_A);
const K2 = key('1a2b3c4d-2222-4bbb-8bbb-000000000002', DEVICE_B);
const K3 = key('9f8e7d6c-3333-4ccc-8ccc-000000000003', DEVICE_A, '2026-05-01T08:00:00Z');

async function fullSync(store: KeyIndexStore, startedAt: string, completedAt: string, pages: RecoveryKeyMetadata[][]): Promise<void> {
  expect(await store.beginSync(startedAt, '2000-01-01T00:00:00.000Z')).toBe(true);
  let keys = 0;
  for (const [n, page] of pages.entries()) {
    keys += page.length;
    await store.applyPage(page, startedAt, { pages: n + 1, keys, at: startedAt });
  }
  await store.endSync({ startedAt, completedAt, pages: pages.length, keys, error: null });
}

let database: TestDatabase | null = null;
afterEach(async () => {
  await database?.drop();
  database = null;
});

async function postgresStore(): Promise<KeyIndexStore> {
  database = await createTestDatabase();
  const owner = await database.createRole('owner');
  const runtime = await database.createRole('runtime');
  await prepareAuditSchema(database.urlAs(owner), memoryLogger().logger);
  await superuser(SHARED_PG, (client) => client.query(runtimeGrants(runtime)), database.name);
  return createPostgresKeyIndex(createAuditPool({ url: database.urlAs(runtime), poolMax: 2 }, memoryLogger().logger), true);
}

async function fileStore(): Promise<KeyIndexStore> {
  const auditFile = await tempAuditFile();
  await mkdir(dirname(auditFile), { recursive: true });
  return openFileKeyIndex(auditFile);
}

describe.each([
  ['the file store', fileStore],
  ['PostgreSQL (migration 7, as the runtime role)', postgresStore],
] as const)('the key index in %s', (_name, open) => {
  it('holds every key a sync listed, finds it by its first digits, and keeps a key the next sync no longer lists, with removedAt', async () => {
    const store = await open();
    try {
      expect(await store.status()).toMatchObject({ state: 'never', lastSuccessAt: null });
      await fullSync(store, '2026-12-01T03:00:00.000Z', '2026-12-01T03:05:00.000Z', [[K1, K2], [K3]]);
      expect(await store.status()).toEqual({ state: 'succeeded', startedAt: '2026-12-01T03:00:00.000Z', completedAt: '2026-12-01T03:05:00.000Z', lastSuccessAt: '2026-12-01T03:05:00.000Z', pages: 2, keys: 3, error: null });
      expect((await store.findByKeyIdPrefix('1a2b3c4d')).map((e) => e.deviceId).sort()).toEqual([DEVICE_A, DEVICE_B]);
      expect(await store.findByKeyIdPrefix('9f8e7d6c33334ccc8ccc000000000003')).toEqual([
        { ...K3, firstSeenAt: '2026-12-01T03:00:00.000Z', lastSeenAt: '2026-12-01T03:00:00.000Z', removedAt: null },
      ]);

      await fullSync(store, '2026-12-02T03:00:00.000Z', '2026-12-02T03:04:00.000Z', [[K1, K3]]);
      const [gone] = await store.findByKeyIdPrefix('1a2b3c4d2222');
      expect(gone).toMatchObject({ id: K2.id, deviceId: DEVICE_B, removedAt: '2026-12-02T03:04:00.000Z' });
      expect((await store.findByKeyIdPrefix('1a2b3c4d1111'))[0]).toMatchObject({ firstSeenAt: '2026-12-01T03:00:00.000Z', lastSeenAt: '2026-12-02T03:00:00.000Z', removedAt: null });
      expect(await store.entries()).toHaveLength(3);
    } finally {
      await store.close();
    }
  });

  it('marks nothing removed after a failed sync, and keeps the last success', async () => {
    const store = await open();
    try {
      await fullSync(store, '2026-12-01T03:00:00.000Z', '2026-12-01T03:05:00.000Z', [[K1, K2]]);
      expect(await store.beginSync('2026-12-02T03:00:00.000Z', '2000-01-01T00:00:00.000Z')).toBe(true);
      await store.applyPage([K1], '2026-12-02T03:00:00.000Z', { pages: 1, keys: 1, at: '2026-12-02T03:00:30.000Z' });
      await store.endSync({ startedAt: '2026-12-02T03:00:00.000Z', completedAt: '2026-12-02T03:01:00.000Z', pages: 1, keys: 1, error: 'graph_unavailable: Graph kept throttling' });
      expect(await store.status()).toMatchObject({ state: 'failed', lastSuccessAt: '2026-12-01T03:05:00.000Z', error: 'graph_unavailable: Graph kept throttling' });
      expect((await store.entries()).every((e) => e.removedAt === null)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('lets one sync hold the lease at a time, until it ends or stores no page for the stale time', async () => {
    const store = await open();
    try {
      expect(await store.beginSync('2026-12-01T03:00:00.000Z', '2026-11-30T21:00:00.000Z')).toBe(true);
      expect(await store.beginSync('2026-12-01T03:01:00.000Z', '2026-11-30T21:01:00.000Z')).toBe(false);
      expect(await store.status()).toMatchObject({ state: 'running', startedAt: '2026-12-01T03:00:00.000Z' });
      // A page at 03:40 renews the lease: a sync still working is not taken over at 04:00 …
      await store.applyPage([K1], '2026-12-01T03:00:00.000Z', { pages: 1, keys: 1, at: '2026-12-01T03:40:00.000Z' });
      expect(await store.beginSync('2026-12-01T04:00:00.000Z', '2026-12-01T03:30:00.000Z')).toBe(false);
      // … but one silent since then is, 30 minutes on.
      expect(await store.beginSync('2026-12-01T04:11:00.000Z', '2026-12-01T03:41:00.000Z')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("refreshes one device's entries from its key list: a new key added, a key no longer listed marked removed", async () => {
    const store = await open();
    try {
      await fullSync(store, '2026-12-01T03:00:00.000Z', '2026-12-01T03:05:00.000Z', [[K1, K2]]);
      const rotated = key('77777777-4444-4ddd-8ddd-000000000004', DEVICE_A, '2026-12-01T09:00:00Z');
      await store.refreshDevice(DEVICE_A.toUpperCase(), [rotated], '2026-12-01T09:30:00.000Z');
      expect((await store.findByKeyIdPrefix('77777777'))[0]).toMatchObject({ deviceId: DEVICE_A, removedAt: null, firstSeenAt: '2026-12-01T09:30:00.000Z' });
      expect((await store.findByKeyIdPrefix('1a2b3c4d1111'))[0]!.removedAt).toBe('2026-12-01T09:30:00.000Z');
      expect((await store.findByKeyIdPrefix('1a2b3c4d2222'))[0]!.removedAt).toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('the file store key index on disk', () => {
  it('is key-index.jsonl beside the trail, 0600, rewritten whole (no temporary file left), never holding a password, and read back after a restart', async () => {
    const auditFile = await tempAuditFile();
    await mkdir(dirname(auditFile), { recursive: true });
    const store = await openFileKeyIndex(auditFile);
    await fullSync(store, '2026-12-01T03:00:00.000Z', '2026-12-01T03:05:00.000Z', [[K1, K2, K3]]);
    await store.close();
    const path = keyIndexFileOf(auditFile);
    expect(path).toBe(`${dirname(auditFile)}/key-index.jsonl`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dirname(auditFile))).filter((name) => name.startsWith('key-index'))).toEqual(['key-index.jsonl']);
    const lines = (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { type: string; key?: object });
    expect(lines.map((l) => l.type)).toEqual(['sync', 'key', 'key', 'key']);
    for (const line of lines.slice(1)) expect(Object.keys(line.key!).sort()).toEqual(['createdDateTime', 'deviceId', 'firstSeenAt', 'id', 'lastSeenAt', 'removedAt', 'volumeType']);

    const reopened = await openFileKeyIndex(auditFile);
    expect(await reopened.status()).toMatchObject({ state: 'succeeded', keys: 3 });
    expect(await reopened.findByKeyIdPrefix('9f8e7d6c')).toHaveLength(1);
    await reopened.close();
  });

  it('writes a device refresh by the time it closes', async () => {
    const auditFile = await tempAuditFile();
    await mkdir(dirname(auditFile), { recursive: true });
    const store = await openFileKeyIndex(auditFile);
    await store.refreshDevice(DEVICE_B, [K2], '2026-12-01T09:30:00.000Z');
    await store.close();
    const reopened = await openFileKeyIndex(auditFile);
    expect(await reopened.findByKeyIdPrefix('1a2b3c4d')).toMatchObject([{ id: K2.id }]);
    await reopened.close();
  });
});
