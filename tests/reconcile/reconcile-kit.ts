import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { AuditStore } from '../../src/audit/store.js';
import type { AuditEntry } from '../../src/audit/types.js';
import { toKeyRead } from '../../src/graph/directory-audit-answers.js';
import type { EntraAuditLog, EntraKeyRead, GraphGateway } from '../../src/graph/types.js';
import { openFileReconciliationStore } from '../../src/reconcile/file-store.js';
import { createPostgresReconciliationStore } from '../../src/reconcile/postgres-store.js';
import { createReconciler, type Reconciler } from '../../src/reconcile/reconciler.js';
import type { ReconciliationStore } from '../../src/reconcile/types.js';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { disclosureEntry, memoryLogger, tempAuditFile } from '../audit/audit-kit.js';
import { openStore, type StoreKind } from '../postgres/store-kit.js';

/**
 * The reconciliation over either store with a clock the test moves: Entra's log is a list of
 * directoryAudit entries in Graph's JSON (read through the production parser), the audit trail and
 * the reconciliation's store are the real ones.
 */

export const KEYDESK_APP = '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43';
export const T0 = Date.parse('2026-11-25T10:00:00Z');
export const MINUTE = 60_000;

export class FakeEntraLog implements EntraAuditLog {
  readonly entries: Record<string, unknown>[] = [];
  readonly devices = new Map<string, string>();
  readonly windows: { from: string; to: string }[] = [];

  listKeyReads(window: { from: string; to: string }): Promise<EntraKeyRead[]> {
    this.windows.push(window);
    const reads = this.entries.map(toKeyRead).filter((read): read is EntraKeyRead => read !== null);
    return Promise.resolve(reads.filter((read) => read.activityDateTime >= window.from && read.activityDateTime <= window.to));
  }

  deviceIdOfKey(keyId: string): Promise<string | null> {
    return Promise.resolve(this.devices.get(keyId) ?? null);
  }

  /** A "Read BitLocker key" entry as Graph returns it. */
  add(options: { at: number; keyId: string; appId?: string; upn?: string; correlationId?: string; displayName?: string }): string {
    const id = `Directory_${randomUUID()}`;
    this.entries.push({
      id,
      category: 'KeyManagement',
      correlationId: options.correlationId ?? randomUUID(),
      result: 'success',
      activityDisplayName: 'Read BitLocker key',
      activityDateTime: new Date(options.at).toISOString().replace('.000Z', 'Z'),
      loggedByService: 'Core Directory',
      initiatedBy: options.upn
        ? { app: null, user: { id: randomUUID(), displayName: 'Someone', userPrincipalName: options.upn, ipAddress: '198.51.100.4' } }
        : { app: { appId: options.appId ?? KEYDESK_APP, displayName: 'KeyDesk', servicePrincipalId: randomUUID(), servicePrincipalName: null }, user: null },
      targetResources: [{ id: randomUUID(), displayName: options.displayName ?? options.keyId, type: 'Other', modifiedProperties: [] }],
      additionalDetails: [],
    });
    return id;
  }
}

/** Only the device look-up the reconciliation makes for an out-of-band read. */
export function deviceGraph(names: Record<string, string>): GraphGateway {
  const graph: Pick<GraphGateway, 'getDevice'> = {
    getDevice: (deviceId) =>
      Promise.resolve(
        names[deviceId] === undefined
          ? null
          : { id: randomUUID(), deviceId, displayName: names[deviceId]!, operatingSystem: 'Windows', operatingSystemVersion: null, approximateLastSignInDateTime: null, trustType: null, isManaged: true, accountEnabled: true, registeredOwners: [] },
      ),
  };
  return graph as GraphGateway;
}

export interface ReconcileBench {
  audit: AuditStore;
  entra: FakeEntraLog;
  clock: { now: number };
  /** A reconciler as another instance (or a restarted process) builds it, on its own store handle. */
  instance(options?: { graceMinutes?: number; audit?: AuditStore }): Promise<{ reconciler: Reconciler; store: ReconciliationStore }>;
  /** Appends an intent (and, unless `outcome` is null, its outcome) for `keyId` at the clock's time. */
  disclose(keyId: string, options?: { outcome?: AuditEntry['outcome'] | null; clientRequestId?: string }): Promise<{ disclosureId: string; clientRequestId: string; grantedRecordId: string | null }>;
}

export async function reconcileBench(kind: StoreKind): Promise<ReconcileBench> {
  const clock = { now: T0 };
  const opened = await openStore(kind, { clock: () => new Date(clock.now) });
  const entra = new FakeEntraLog();
  // A folder that exists, as the audit file's does once the trail is open.
  const keyReadsBeside = join(dirname(dirname(await tempAuditFile())), 'audit.jsonl');
  const openOwnStore = async (): Promise<ReconciliationStore> => {
    if (opened.database === null) return openFileReconciliationStore(keyReadsBeside);
    const store = createPostgresReconciliationStore(createAuditPool({ url: opened.database.url, poolMax: 2 }, memoryLogger().logger), true);
    onTestFinished(() => store.close());
    return store;
  };
  return {
    audit: opened.store,
    entra,
    clock,
    async instance(options = {}) {
      const store = await openOwnStore();
      const reconciler = createReconciler({
        auditLog: entra,
        graph: deviceGraph({ 'dev-portal': 'LAPTOP-PORTAL' }),
        audit: options.audit ?? opened.store,
        store,
        clientId: KEYDESK_APP,
        graceMinutes: options.graceMinutes ?? 60,
        now: () => clock.now,
        logger: memoryLogger().logger,
      });
      return { reconciler, store };
    },
    async disclose(keyId, options = {}) {
      const disclosureId = randomUUID();
      const clientRequestId = options.clientRequestId ?? randomUUID();
      const common = { disclosureId, recoveryKeyId: keyId, graphClientRequestId: clientRequestId };
      await opened.store.append(disclosureEntry({ ...common, action: 'disclosure_intent', outcome: 'pending', graphRequestId: null }));
      if (options.outcome === null) return { disclosureId, clientRequestId, grantedRecordId: null };
      const outcome = await opened.store.append(disclosureEntry({ ...common, outcome: options.outcome ?? 'granted' }));
      return { disclosureId, clientRequestId, grantedRecordId: outcome.outcome === 'granted' ? outcome.id : null };
    },
  };
}
