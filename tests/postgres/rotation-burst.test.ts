import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { auditEntry } from '../../src/audit/entry.js';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import type { IntuneRotation } from '../../src/graph/intune-rotation.js';
import type { IntuneRecord } from '../../src/graph/types.js';
import { createPostgresRotationStore } from '../../src/rotation/postgres-store.js';
import { createRotationService } from '../../src/rotation/rotation-service.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { FakeGraph, device, recoveryKey, user } from '../helpers/fakes.js';
import { query, testDatabase } from './audit-tools-kit.js';
import { openPostgresStore } from './store-kit.js';

/**
 * ROTATE_AFTER_DISCLOSURE=auto on PostgreSQL, under a burst: 1,000 granted disclosures at once,
 * each to be rotated after its answer, through the rotations' pool of 2 connections and its
 * one-second checkout timeout. Every disclosure gets its rotation and Intune is asked for each;
 * none is lost to "timeout exceeded when trying to connect".
 */

const DISCLOSURES = 1_000;

describe('rotation after disclosure on PostgreSQL under a burst of disclosures', () => {
  it('asks Intune once for every granted disclosure and logs no rotation it could not ask for', async () => {
    const database = await testDatabase();
    const role = await database.createRole('keydesk_runtime');
    await query(database, runtimeGrants(role));
    const url = database.urlAs(role);
    const audit = await openPostgresStore(url);
    onTestFinished(() => audit.close());
    const pool = createAuditPool({ url, poolMax: 2 }, memoryLogger().logger);
    onTestFinished(() => pool.end());

    const ann = user('ann@contoso.com');
    const laptops = Array.from({ length: 50 }, (_, n) => device({ displayName: `LAPTOP-${n + 1}` }));
    const keys = laptops.map((laptop) => recoveryKey(laptop.deviceId));
    const intune: Record<string, IntuneRecord> = Object.fromEntries(
      laptops.map((laptop) => [laptop.deviceId, { managedDeviceId: randomUUID(), deviceName: laptop.displayName, primaryUserUpn: ann.userPrincipalName, primaryUserId: ann.id, lastSyncDateTime: null }]),
    );
    const graph = new FakeGraph({ devices: laptops, users: [ann], intune, keys, passwords: {} });
    const asked: string[] = [];
    const intuneRotation: IntuneRotation = {
      rotateBitLockerKeys: async (managedDeviceId) => void asked.push(managedDeviceId),
      bitLockerRotationResult: async () => null,
      grantedRoles: async () => ['DeviceManagementManagedDevices.PrivilegedOperations.All'],
    };
    const log = memoryLogger();
    const rotations = createRotationService({
      config: { mode: 'auto', checkSeconds: 300, deadlineMs: 3_600_000 },
      store: createPostgresRotationStore(pool, false),
      graph,
      intune: intuneRotation,
      audit,
      now: Date.now,
      newId: randomUUID,
      logger: log.logger,
    });

    const granted = await Promise.all(
      Array.from({ length: DISCLOSURES }, (_, n) => {
        const laptop = laptops[n % laptops.length]!;
        return audit.append(auditEntry({ action: 'disclosure', outcome: 'granted', code: null, disclosureId: randomUUID(), device: { id: laptop.id, deviceId: laptop.deviceId, displayName: laptop.displayName }, recoveryKeyId: keys[n % laptops.length]!.id }));
      }),
    );
    for (const record of granted) rotations.afterDisclosure(record);
    await rotations.idle();

    expect(log.text()).not.toContain('could not be asked for');
    expect(asked).toHaveLength(DISCLOSURES);
    const stored = await query(database, `SELECT count(*)::int AS n FROM keydesk.rotations WHERE state = 'pending'`);
    expect(stored).toEqual([{ n: DISCLOSURES }]);
  });
});
