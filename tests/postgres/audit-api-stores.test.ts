import { readFile, writeFile } from 'node:fs/promises';
import nock from 'nock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEntry } from '../../src/audit/entry.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { createChainVerificationJob } from '../../src/jobs/chain-verification-job.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { testConfig } from '../helpers/config.js';
import { openStore, type OpenedStore, type StoreKind } from './store-kit.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { superuser, SHARED_PG } from './pg-kit.js';

/** The audit API and the leader's chain verification, the same on the file store and on real PostgreSQL. */

const laptopX = { id: 'obj-x', deviceId: 'dev-x', displayName: 'LAPTOP-X' };

describe.each(['file', 'postgres'] as StoreKind[])('the audit API on the %s store', (kind) => {
  let entraKey: SigningKey;
  let opened: OpenedStore;
  let harness: Harness;
  let auditFile: string | null;

  beforeAll(async () => {
    entraKey = await makeSigningKey();
  });
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    mockEntraDiscovery([entraKey]);
    opened = await openStore(kind);
    for (let n = 1; n <= 12; n += 1) {
      const device = n % 3 === 0 ? laptopX : { id: `obj-${n}`, deviceId: `dev-${n}`, displayName: `LAPTOP-${n}` };
      await opened.store.append(auditEntry({ action: 'disclosure', outcome: n === 6 ? 'refused' : 'granted', code: n === 6 ? 'requester_not_owner' : null, device, ticket: `INC${n}`, requesterUpn: `user${n}@contoso.example`, agentUpn: 'sam.agent@contoso.example' }));
    }
    auditFile = opened.file;
    harness = await buildHarness(`audit-api-${kind}`, { audit: opened.store, deps: { verifications: opened.store.verifications } });
  });
  afterEach(async () => {
    await harness.app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const get = async (url: string) => harness.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await issueAppToken(entraKey, { roles: ['BitLocker.Audit'] })}` } });

  it('filters, pages newest first and records each query in the same trail', async () => {
    const first = (await get('/api/v1/audit/records?deviceName=LAPTOP-X&outcome=granted&limit=2')).json() as { records: AuditRecord[]; nextCursor: string };
    expect(first.records.map((r) => r.ticket)).toEqual(['INC12', 'INC9']);
    const second = (await get(`/api/v1/audit/records?deviceName=LAPTOP-X&outcome=granted&limit=2&cursor=${first.nextCursor}`)).json() as { records: AuditRecord[]; nextCursor: string | null };
    expect(second.records.map((r) => r.ticket)).toEqual(['INC3']);
    expect(second.nextCursor).toBeNull();
    const one = await get(`/api/v1/audit/records/${first.records[0]!.id}`);
    expect(one.json()).toMatchObject({ ticket: 'INC12', device: laptopX });
    expect((await get('/api/v1/audit/records/0b9e1d2c-3a4f-4b5c-8d6e-7f8091a2b3c4')).json().code).toBe('not_found');
    const queries = (await opened.lines()).map((line) => JSON.parse(line) as AuditRecord).filter((r) => r.action === 'audit_query');
    expect(queries.map((r) => r.details?.rowCount)).toEqual([2, 1, 1, 0]);
  });

  it('exports the unfiltered trail as JSON Lines byte-identical to the stored lines, and a filtered one as CSV oldest first', async () => {
    const jsonl = await get('/api/v1/audit/records?format=jsonl');
    const lines = await opened.lines();
    expect(jsonl.body).toBe(lines.slice(0, -1).map((line) => `${line}\n`).join(''));
    const csv = await get('/api/v1/audit/records?format=csv&deviceId=DEV-X');
    expect(csv.body.split('\r\n').slice(1, -1).map((row) => row.split(',')[0])).toEqual(['3', '6', '9', '12']);
  });

  it('reports no verification before the leader ran one, an intact chain after, and the first broken record once the trail is tampered with', async () => {
    expect((await get('/api/v1/audit/verification')).json()).toEqual({ intact: null, records: null, head: null, firstBroken: null, verifiedAt: null, checkpoint: null });
    const config = kind === 'file' ? testConfig({ AUDIT_FILE: auditFile! }) : testConfig({ AUDIT_STORE: 'postgres', DATABASE_URL: opened.database!.url });
    const job = createChainVerificationJob({ config, audit: opened.store, isLeader: () => true, logger: memoryLogger().logger });
    const intact = await job.verifyNow();
    // The 12 seeded records and the audit_query the first look left.
    expect(intact).toMatchObject({ intact: true, records: 13, head: { seq: 13 }, firstBroken: null });
    expect((await get('/api/v1/audit/verification')).json()).toMatchObject({ intact: true, records: 13, head: { seq: 13 }, verifiedAt: intact!.verifiedAt });

    await tamperWithTicketOf(5);
    const broken = await job.verifyNow();
    expect(broken).toMatchObject({ intact: false, records: 4, firstBroken: { seq: 5, reason: expect.stringContaining('edited') } });
    // Every instance answers the latest: PostgreSQL from its table, the file store from the file beside its trail.
    expect((await get('/api/v1/audit/verification')).json()).toMatchObject({ intact: false, firstBroken: { seq: 5 } });
  });

  async function tamperWithTicketOf(seq: number): Promise<void> {
    if (kind === 'file') {
      const text = await readFile(auditFile!, 'utf8');
      await writeFile(auditFile!, text.replace(`"ticket":"INC${seq}"`, `"ticket":"INC${seq}0"`));
      return;
    }
    await superuser(
      SHARED_PG,
      async (client) => {
        await client.query('ALTER TABLE keydesk.audit_records DISABLE TRIGGER USER');
        await client.query(`UPDATE keydesk.audit_records SET line = replace(line, '"ticket":"INC${seq}"', '"ticket":"INC${seq}0"'), ticket = 'INC${seq}0' WHERE seq = $1`, [seq]);
        await client.query('ALTER TABLE keydesk.audit_records ENABLE TRIGGER USER');
      },
      opened.database!.name,
    );
  }
});
