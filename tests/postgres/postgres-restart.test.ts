import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import type { AuditStore } from '../../src/audit/store.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { memoryLogger, tempAuditFile, writeLines } from '../audit/audit-kit.js';
import { createTestDatabase, PrivatePostgres, type TestDatabase } from './pg-kit.js';
import { openPostgresStore, storedLines } from './store-kit.js';

/**
 * PostgreSQL stopped and started again under a KeyDesk taking disclosures: while it is down every
 * disclosure is answered within 2 s with 503 audit_unavailable (Retry-After: 5) and no key, and
 * /readyz says so within 2 s; once it is back KeyDesk recovers by itself, and the trail holds
 * every record whose key left, once, in one gap-free chain.
 */

const PASSWORD = 'restart-test-db-password';
const CLIENTS = 6;
const OUTAGE_MS = 3_000;

interface Answer {
  start: number;
  end: number;
  status: number;
  code?: string;
  retryAfter?: string;
  hasKey: boolean;
  auditRecordId?: string;
}

describe('PostgreSQL restarted under load', () => {
  let tenant: SimulatedTenant;
  let server: PrivatePostgres;
  let database: TestDatabase;
  let harness: Harness;
  let store: AuditStore;
  const storeLog = memoryLogger();

  beforeAll(async () => {
    [tenant, server] = await Promise.all([startSimulatedTenant({ dataDir: SIMULATOR_DIR }), PrivatePostgres.start()]);
    database = await createTestDatabase(server);
    store = await openPostgresStore(database.url.replace('postgres@', `postgres:${PASSWORD}@`), { logger: storeLog.logger });
    harness = await buildHarness('postgres-restart', { env: { ...tenant.keydeskEnvironment(), RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0' }, audit: store });
    await harness.app.readiness.checkNow();
  });
  afterAll(async () => {
    await harness?.close();
    await server?.destroy();
    await tenant?.close();
  });

  it('answers every disclosure within 2 s with audit_unavailable and no key while it is down, turns /readyz 503 within 2 s, recovers by itself, and loses or doubles no record', async () => {
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    const token = await tenant.issueAppToken(app.clientId);
    const device = tenant.directory.notable.typical;
    const payload = {
      deviceName: device.displayName,
      keyId: tenant.directory.keysOf(device.deviceId)[0]!.id.slice(0, 8).toUpperCase(),
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      requesterUpn: tenant.directory.owners(device)[0]!.userPrincipalName,
    };
    const answers: Answer[] = [];
    const probes: Omit<Answer, 'hasKey'>[] = [];
    let running = true;

    const disclose = async () => {
      const start = Date.now();
      const response = await harness.inject({ method: 'POST', url: '/api/v1/disclosures', headers: { authorization: `Bearer ${token}` }, payload });
      const body = response.json<{ code?: string; recoveryKey?: { key?: string }; auditRecordId?: string }>();
      answers.push({ start, end: Date.now(), status: response.statusCode, code: body.code, retryAfter: response.headers['retry-after'] as string | undefined, hasKey: body.recoveryKey?.key !== undefined, auditRecordId: body.auditRecordId });
    };
    const probe = async () => {
      const start = Date.now();
      const response = await harness.inject({ method: 'GET', url: '/readyz' });
      probes.push({ start, end: Date.now(), status: response.statusCode });
    };
    const loop = async (work: () => Promise<void>, pauseMs: number) => {
      while (running) {
        await work();
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    const load = [...Array.from({ length: CLIENTS }, () => loop(disclose, 20)), loop(probe, 100)];
    const granted = () => answers.filter((answer) => answer.status === 201);

    await expect.poll(() => granted().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(10);
    expect(probes.at(-1)?.status).toBe(200);
    await server.stop('fast');
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const outageEnd = Date.now();
    await server.start();
    const startedAt = Date.now();
    await expect.poll(() => granted().filter((answer) => answer.start > startedAt).length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(0);
    const recoveredAt = Math.min(...granted().filter((answer) => answer.start > startedAt).map((answer) => answer.end));
    await expect.poll(() => probes.filter((p) => p.start > startedAt && p.status === 200).length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(0);
    running = false;
    await Promise.all(load);

    // Down: every answer refused, quickly, without a key.
    const duringOutage = answers.filter((answer) => answer.start > stoppedAt && answer.end < outageEnd);
    expect(duringOutage.length).toBeGreaterThan(CLIENTS);
    for (const answer of duringOutage) expect({ status: answer.status, code: answer.code, retryAfter: answer.retryAfter, hasKey: answer.hasKey }).toEqual({ status: 503, code: 'audit_unavailable', retryAfter: '5', hasKey: false });
    expect(Math.max(...answers.map((answer) => answer.end - answer.start))).toBeLessThan(2_000);
    expect(answers.filter((answer) => answer.status >= 500 && answer.status !== 503)).toEqual([]);
    const probesDown = probes.filter((p) => p.start > stoppedAt && p.end < outageEnd);
    expect(probesDown.length).toBeGreaterThan(0);
    expect(probesDown.every((p) => p.status === 503 && p.end - p.start < 2_000)).toBe(true);
    expect(probesDown[0]!.start - stoppedAt).toBeLessThan(2_000);
    // Back by itself.
    expect(recoveredAt - startedAt).toBeLessThan(30_000);

    // Every key that left has its granted record, once; the chain is whole.
    const lines = await storedLines(database.url);
    const records = lines.map((line) => JSON.parse(line) as { seq: number; id: string; action: string; outcome: string; disclosureId: string });
    expect(records.map((record) => record.seq)).toEqual(records.map((_, n) => n + 1));
    const grantedIds = new Set(records.filter((record) => record.outcome === 'granted').map((record) => record.id));
    expect(granted().filter((answer) => !grantedIds.has(answer.auditRecordId!))).toEqual([]);
    for (const action of ['disclosure_intent', 'disclosure']) {
      const ids = records.filter((record) => record.action === action).map((record) => record.disclosureId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const file = await tempAuditFile();
    await writeLines(file, lines);
    expect(await verifyAuditFile(file, null)).toMatchObject({ ok: true });

    // The outage was logged, without the password.
    expect(storeLog.lines.some((line) => line.msg === 'audit records could not be written to PostgreSQL; their requests are refused (audit_unavailable)')).toBe(true);
    expect(storeLog.lines.some((line) => line.msg === 'the audit database takes records again')).toBe(true);
    expect(storeLog.text()).not.toContain(PASSWORD);
    expect(readFileSync(harness.logFile, 'utf8')).not.toContain(PASSWORD);
  }, 90_000);
});
