import { mkdir, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { openFileRotationStore, rotationsFileOf } from '../../src/rotation/file-store.js';
import { createPostgresRotationStore } from '../../src/rotation/postgres-store.js';
import type { Rotation, RotationStore } from '../../src/rotation/types.js';
import { memoryLogger, tempAuditFile } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from '../postgres/pg-kit.js';

/** The rotations' stores: one rotation per disclosure, compare-and-set changes, newest-first pages. */

function rotation(overrides: Partial<Rotation> = {}): Rotation {
  return {
    id: randomUUID(),
    disclosureId: randomUUID(),
    deviceId: randomUUID(),
    deviceName: 'LAPTOP-ANN',
    managedDeviceId: randomUUID(),
    oldRecoveryKeyId: randomUUID(),
    newRecoveryKeyId: null,
    state: 'requested',
    requestedAt: '2026-12-02T09:00:00.000Z',
    updatedAt: '2026-12-02T09:00:00.000Z',
    deadline: '2026-12-05T09:00:00.000Z',
    error: null,
    disclosedAt: '2026-12-02T08:59:00.000Z',
    oldVolumeType: 'operatingSystemVolume',
    oldCreatedDateTime: '2026-01-11T10:00:00Z',
    knownKeyIds: [],
    requestedBy: null,
    ...overrides,
  };
}

let database: TestDatabase | null = null;
let runtimeUrl: string | null = null;
let auditFile = '';
afterEach(async () => {
  await database?.drop();
  database = null;
  runtimeUrl = null;
});

/** A store of its own pool (an instance); the second one of a test shares the first one's database. */
async function postgresStore(): Promise<RotationStore> {
  if (runtimeUrl === null) {
    database = await createTestDatabase();
    const runtime = await database.createRole('runtime');
    const owner = await database.createRole('owner');
    await prepareAuditSchema(database.urlAs(owner), memoryLogger().logger);
    await superuser(SHARED_PG, (client) => client.query(runtimeGrants(runtime)), database.name);
    runtimeUrl = database.urlAs(runtime);
  }
  return createPostgresRotationStore(createAuditPool({ url: runtimeUrl, poolMax: 2 }, memoryLogger().logger), true);
}

async function fileStore(): Promise<RotationStore> {
  auditFile = await tempAuditFile();
  await mkdir(dirname(auditFile), { recursive: true });
  return openFileRotationStore(auditFile);
}

describe.each([
  ['the file store', fileStore],
  ['PostgreSQL (migration 9, as the runtime role)', postgresStore],
] as const)('rotations in %s', (_name, open) => {
  it('keeps one rotation per disclosure: a second for the same disclosure gets the first', async () => {
    const store = await open();
    try {
      const first = rotation();
      expect(await store.create(first)).toEqual({ rotation: first, created: true });
      const again = await store.create(rotation({ disclosureId: first.disclosureId.toUpperCase() }));
      expect(again).toEqual({ rotation: first, created: false });
      expect(await store.forDisclosure(first.disclosureId)).toEqual(first);
      expect(await store.get(first.id)).toEqual(first);
      expect(await store.get(randomUUID())).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('changes a rotation only while it is as the caller saw it', async () => {
    const store = await open();
    try {
      const seen = rotation();
      await store.create(seen);
      const pending = { ...seen, state: 'pending' as const, updatedAt: '2026-12-02T09:00:01.000Z', knownKeyIds: ['a'] };
      expect(await store.update(pending, seen)).toBe(true);
      // A second instance that still saw it requested loses.
      expect(await store.update({ ...seen, state: 'failed', updatedAt: '2026-12-02T09:00:02.000Z' }, seen)).toBe(false);
      expect(await store.get(seen.id)).toEqual(pending);
      expect((await store.inStates(['pending'], 10)).map((r) => r.id)).toEqual([seen.id]);
      expect(await store.inStates(['requested'], 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('lists newest first, a page at a time, by state', async () => {
    const store = await open();
    try {
      const made = ['09:00', '10:00', '11:00'].map((time, n) => rotation({ requestedAt: `2026-12-02T${time}:00.000Z`, state: n === 1 ? 'done' : 'pending' }));
      for (const r of made) await store.create(r);
      const first = await store.list({ limit: 2 });
      expect(first.rotations.map((r) => r.id)).toEqual([made[2]!.id, made[1]!.id]);
      const second = await store.list({ limit: 2, cursor: first.nextCursor });
      expect(second).toEqual({ rotations: [made[0]], nextCursor: null });
      expect((await store.list({ state: 'done' })).rotations.map((r) => r.id)).toEqual([made[1]!.id]);
      await expect(store.list({ cursor: 'not-ours' })).rejects.toMatchObject({ code: 'invalid_request' });
    } finally {
      await store.close();
    }
  });
});

describe('the file store of rotations', () => {
  it('writes <AUDIT_FILE>.rotations.jsonl, private, and a restarted KeyDesk reads it back', async () => {
    const store = await fileStore();
    const made = rotation();
    await store.create(made);
    await store.update({ ...made, state: 'pending', updatedAt: '2026-12-02T09:00:01.000Z' }, made);
    await store.close();
    expect((await stat(rotationsFileOf(auditFile))).mode & 0o777).toBe(0o600);
    const reopened = await openFileRotationStore(auditFile);
    expect(await reopened.forDisclosure(made.disclosureId)).toMatchObject({ id: made.id, state: 'pending' });
    await reopened.close();
  });
});

describe('PostgreSQL rotations across instances', () => {
  it('stores one rotation when two instances ask for the same disclosure at once', async () => {
    const [a, b] = [await postgresStore(), await postgresStore()];
    try {
      const disclosureId = randomUUID();
      const answers = await Promise.all([a.create(rotation({ disclosureId })), b.create(rotation({ disclosureId }))]);
      expect(answers.filter((answer) => answer.created)).toHaveLength(1);
      expect(answers[0]!.rotation.id).toBe(answers[1]!.rotation.id);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
