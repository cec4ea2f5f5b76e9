import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { createPostgresReconciliationStore } from '../../src/reconcile/postgres-store.js';
import type { StoredKeyRead } from '../../src/reconcile/types.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from './pg-kit.js';

/**
 * Migration 5 as the runtime role sees it: it stores each Entra event once and records its report
 * once, and can neither rewrite nor remove an event (grants and triggers).
 */

let database: TestDatabase;
afterEach(async () => {
  await database?.drop();
});

function keyRead(overrides: Partial<StoredKeyRead> = {}): StoredKeyRead {
  return {
    entraEventId: `Directory_${randomUUID()}`,
    activityDateTime: '2026-11-25T09:30:00.000Z',
    keyId: 'b465e4e8-0f1d-4c3b-9a8e-7d6c5b4a3f21',
    deviceId: 'dev-1',
    deviceName: 'LAPTOP-EVE',
    initiatedBy: { kind: 'user', appId: null, servicePrincipalId: null, userPrincipalName: 'eve@contoso.com', userId: null, displayName: null, ipAddress: null },
    correlationId: null,
    matchedDisclosureId: null,
    matchedBy: null,
    reportedRecordId: null,
    ...overrides,
  };
}

async function sqlError(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
    return 'no error';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end();
  }
}

describe('the reconciliation tables (migration 5)', () => {
  it('lets the runtime role store an event once and report it once, and never rewrite or delete it', async () => {
    database = await createTestDatabase();
    const owner = await database.createRole('owner');
    const runtime = await database.createRole('runtime');
    await prepareAuditSchema(database.urlAs(owner), memoryLogger().logger);
    await superuser(SHARED_PG, (client) => client.query(runtimeGrants(runtime)), database.name);
    const store = createPostgresReconciliationStore(createAuditPool({ url: database.urlAs(runtime), poolMax: 2 }, memoryLogger().logger), true);
    try {
      const read = keyRead();
      expect(await store.addKeyRead(read)).toBe(true);
      expect(await store.addKeyRead({ ...read, deviceName: 'OTHER' })).toBe(false);
      expect((await store.keyReads({})).map((stored) => stored.deviceName)).toEqual(['LAPTOP-EVE']);

      expect(await store.claimReport(read.entraEventId)).toBe(true);
      // A claim whose run died is offered and taken again (runs hold the lease one at a time).
      expect((await store.unreported()).map((stored) => stored.entraEventId)).toEqual([read.entraEventId]);
      expect(await store.claimReport(read.entraEventId)).toBe(true);
      const recordId = randomUUID();
      await store.completeReport(read.entraEventId, recordId);
      expect(await store.unreported()).toEqual([]);
      expect(await store.claimReport(read.entraEventId)).toBe(false);
      expect((await store.keyReads({}))[0]?.reportedRecordId).toBe(recordId);

      const id = read.entraEventId.replaceAll("'", "''");
      expect(await sqlError(database.urlAs(runtime), `DELETE FROM keydesk.entra_key_reads WHERE entra_event_id = '${id}'`)).toContain('permission denied');
      expect(await sqlError(database.urlAs(runtime), `UPDATE keydesk.entra_key_reads SET device_name = 'X' WHERE entra_event_id = '${id}'`)).toContain('permission denied');
      // Even the owner: the event stays as Entra wrote it, and a written report stays written.
      expect(await sqlError(database.urlAs(owner), `UPDATE keydesk.entra_key_reads SET activity_date_time = now() WHERE entra_event_id = '${id}'`)).toContain('kept as read');
      expect(await sqlError(database.urlAs(owner), `UPDATE keydesk.entra_key_reads SET report_state = NULL WHERE entra_event_id = '${id}'`)).toContain('kept as read');
      expect(await sqlError(database.urlAs(owner), 'DELETE FROM keydesk.entra_key_reads')).toContain('append-only');
    } finally {
      await store.close();
    }
  });
});
