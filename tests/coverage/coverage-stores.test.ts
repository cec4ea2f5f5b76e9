import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { computeEscrowCoverage, ORPHANED_KEY_NOTE, type EscrowCoverageReport } from '../../src/coverage/escrow-coverage.js';
import { createPostgresCoverageStore, openFileCoverageStore, type CoverageStore } from '../../src/coverage/store.js';
import type { IndexedKey } from '../../src/key-index/types.js';
import { memoryLogger, tempAuditFile } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from '../postgres/pg-kit.js';

/** The escrow coverage report as a plain function of the index and the device lists, and its two stores. */

const seen = { firstSeenAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-12-01T00:00:00.000Z' };
const entry = (id: string, deviceId: string, createdDateTime: string, removedAt: string | null = null): IndexedKey => ({ id, deviceId, volumeType: 'operatingSystemVolume', createdDateTime, removedAt, ...seen });

function report(generatedAt: string, orphans = 1): EscrowCoverageReport {
  const entries = [
    entry('k-fresh', 'dev-fresh', '2026-11-01T00:00:00Z'),
    entry('k-old', 'dev-old', '2025-06-01T00:00:00Z'),
    ...Array.from({ length: 181 }, (_, n) => entry(`k-many-${n}`, 'dev-many', '2026-10-01T00:00:00Z')),
    ...Array.from({ length: orphans }, (_, n) => entry(`k-gone-${n}`, 'dev-gone', '2026-02-01T00:00:00Z', '2026-12-01T03:00:00.000Z')),
  ];
  const devices = ['dev-fresh', 'dev-old', 'dev-many', 'dev-none', 'dev-plain'].map((deviceId) => ({ deviceId, displayName: deviceId.toUpperCase() }));
  const managed = [
    { id: 'm-none', azureADDeviceId: 'dev-none', deviceName: 'DEV-NONE', operatingSystem: 'Windows', isEncrypted: true },
    { id: 'm-plain', azureADDeviceId: 'dev-plain', deviceName: 'DEV-PLAIN', operatingSystem: 'Windows', isEncrypted: false },
    { id: 'm-fresh', azureADDeviceId: 'dev-fresh', deviceName: 'DEV-FRESH', operatingSystem: 'Windows', isEncrypted: true },
  ];
  return computeEscrowCoverage({ entries, devices, managed, generatedAt, thresholds: { maxKeyAgeDays: 365, keyCountWarn: 180 } });
}

describe('the escrow coverage report', () => {
  it('lists each kind of gap once, and nothing that is covered', () => {
    const r = report('2026-12-02T03:00:00.000Z');
    expect(r.noEscrow).toEqual([{ deviceId: 'dev-none', deviceName: 'DEV-NONE', managedDeviceId: 'm-none' }]);
    expect(r.staleKey.map((row) => row.deviceId)).toEqual(['dev-old']);
    expect(r.nearLimit).toEqual([{ deviceId: 'dev-many', deviceName: 'DEV-MANY', keyCount: 181, newestKeyCreatedDateTime: '2026-10-01T00:00:00Z' }]);
    expect(r.orphanedKeys).toEqual([expect.objectContaining({ id: 'k-gone-0', deviceId: 'dev-gone', note: ORPHANED_KEY_NOTE })]);
    expect(r.counts).toEqual({ devices: 5, managedWindowsEncrypted: 2, keys: 183, noEscrow: 1, staleKey: 1, nearLimit: 1, orphanedKeys: 1 });
  });

  it('compares device IDs as GUIDs, whatever case each source spells them in', () => {
    const id = '6D2E5C8F-3B1A-4F6E-9C2D-1A2B3C4D5E6F';
    const r = computeEscrowCoverage({
      entries: [entry('k-1', id.toLowerCase(), '2026-11-01T00:00:00Z')],
      devices: [{ deviceId: id, displayName: 'LAPTOP-UPPER' }],
      managed: [{ id: 'm-1', azureADDeviceId: id, deviceName: 'LAPTOP-UPPER', operatingSystem: 'Windows', isEncrypted: true }],
      generatedAt: '2026-12-02T03:00:00.000Z',
      thresholds: { maxKeyAgeDays: 365, keyCountWarn: 180 },
    });
    expect([r.noEscrow, r.orphanedKeys, r.staleKey]).toEqual([[], [], []]);
  });
});

let database: TestDatabase | null = null;
afterEach(async () => {
  await database?.drop();
  database = null;
});

async function postgresStore(): Promise<CoverageStore> {
  database = await createTestDatabase();
  const owner = await database.createRole('owner');
  const runtime = await database.createRole('runtime');
  await prepareAuditSchema(database.urlAs(owner), memoryLogger().logger);
  await superuser(SHARED_PG, (client) => client.query(runtimeGrants(runtime)), database.name);
  return createPostgresCoverageStore(createAuditPool({ url: database.urlAs(runtime), poolMax: 2 }, memoryLogger().logger), true);
}

async function fileStore(): Promise<CoverageStore> {
  const auditFile = await tempAuditFile();
  await mkdir(dirname(auditFile), { recursive: true });
  return openFileCoverageStore(auditFile);
}

describe.each([
  ['the file store', fileStore],
  ['PostgreSQL (migration 8, as the runtime role)', postgresStore],
] as const)('escrow coverage reports in %s', (_name, open) => {
  it('keeps the latest report whole, and one line of counts per day: the last report of the day', async () => {
    const store = await open();
    try {
      expect(await store.latest()).toBeNull();
      await store.save(report('2026-12-01T03:00:00.000Z', 1));
      await store.save(report('2026-12-02T03:00:00.000Z', 2));
      await store.save(report('2026-12-02T15:00:00.000Z', 3));
      expect(await store.latest()).toEqual(report('2026-12-02T15:00:00.000Z', 3));
      expect((await store.history()).map((d) => [d.day, d.generatedAt, d.counts.orphanedKeys])).toEqual([
        ['2026-12-01', '2026-12-01T03:00:00.000Z', 1],
        ['2026-12-02', '2026-12-02T15:00:00.000Z', 3],
      ]);
    } finally {
      await store.close();
    }
  });
});
