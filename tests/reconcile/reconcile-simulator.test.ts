import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * The reconciliation against the simulated tenant over HTTPS: KeyDesk discloses a key (Entra logs
 * the read with KeyDesk's app), someone "opens" another key in the admin portal, and a run must
 * flag the portal read — once, across runs — and not KeyDesk's own.
 */

describe("reconciliation with the simulated tenant's audit log", () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let discloseToken: string;
  let auditorToken: string;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR, pageSizes: { plain: 2 } });
  });
  afterAll(async () => {
    await tenant.close();
  });

  beforeEach(async () => {
    tenant.knobs.reset();
    tenant.clearLogs();
    harness = await buildHarness('reconcile-sim', { env: { ...tenant.keydeskEnvironment(), API_USER_TOKEN_CLIENTS: tenant.chatBotApp.clientId } });
    discloseToken = await tenant.issueAppToken(tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!.clientId);
    auditorToken = await tenant.issueDelegatedApiToken({ staffUpn: tenant.staff.find((s) => s.roles.includes('BitLocker.Audit'))!.upn });
  });
  afterEach(async () => {
    await harness.close();
  });

  async function discloseTypicalDevice() {
    const device = tenant.directory.notable.typical;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    const requester = tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device);
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${discloseToken}` },
      payload: { deviceName: device.displayName, keyId: key.id.slice(0, 8), ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requester!.userPrincipalName },
    });
    expect(response.statusCode).toBe(201);
    return key;
  }

  const report = async () => {
    const response = await harness.inject({ method: 'GET', url: '/api/v1/audit/reconciliation', headers: { authorization: `Bearer ${auditorToken}` } });
    expect(response.statusCode).toBe(200);
    return response.json();
  };

  it("flags a portal read of another key, once across two runs, and not KeyDesk's own read", async () => {
    const disclosed = await discloseTypicalDevice();
    const other = tenant.directory.notable.sharedName.devices[0];
    const portalKey = tenant.directory.keysOf(other.deviceId)[0]!;
    const planted = tenant.recordPortalRead({ keyId: portalKey.id, userPrincipalName: tenant.staff[0]!.upn });
    // A second portal read, so the audit log answers in pages (2 a page) and a run follows @odata.nextLink.
    tenant.recordPortalRead({ keyId: portalKey.id });

    const first = await harness.app.reconciliation.run();
    expect(first).toMatchObject({ status: 'done', run: { error: null, events: 3, newEvents: 3, outOfBand: 2 } });
    const second = await harness.app.reconciliation.run();
    expect(second).toMatchObject({ status: 'done', run: { error: null, events: 3, newEvents: 0, outOfBand: 0 } });

    const body = await report();
    expect(body.outOfBand.map((read: { entraEventId: string }) => read.entraEventId)).toContain(planted.id);
    expect(body.outOfBand).toHaveLength(2);
    expect(body.outOfBand.find((read: { entraEventId: string }) => read.entraEventId === planted.id)).toMatchObject({
      keyId: portalKey.id,
      deviceId: other.deviceId,
      deviceName: other.displayName,
      initiatedBy: { kind: 'user', userPrincipalName: tenant.staff[0]!.upn, appId: null },
    });
    expect(body.outOfBand.some((read: { keyId: string }) => read.keyId === disclosed.id)).toBe(false);
    expect(body.missingInEntra).toEqual([]);

    const observed = harness.auditRecords().filter((r) => r.action === 'out_of_band_read');
    expect(observed).toHaveLength(2);
    expect(observed.find((r) => r.details?.entraEventId === planted.id)).toMatchObject({ outcome: 'observed', recoveryKeyId: portalKey.id, device: { deviceId: other.deviceId } });
    const alerts = harness.auditRecords().filter((r) => r.action === 'alert' && r.details?.rule === 'out_of_band_read');
    expect(alerts).toHaveLength(2);

    // The device of a portal read was found without $select: KeyDesk's own runs made no key read of their own.
    const keyReads = tenant.graphRequests.filter((r) => r.path.startsWith('/v1.0/informationProtection/bitlocker/recoveryKeys/') && r.query.$select !== undefined);
    expect(keyReads).toHaveLength(1);
    expect(tenant.directoryAudits).toHaveLength(3);
  });

  it('answers the run request with 202, recording who asked, and refuses the report to a caller without the Audit role', async () => {
    const run = await harness.inject({ method: 'POST', url: '/api/v1/audit/reconciliation/run', headers: { authorization: `Bearer ${auditorToken}` } });
    expect(run.statusCode).toBe(202);
    expect(['started', 'already_running']).toContain(run.json().status);
    expect(harness.auditRecords().find((record) => record.details?.run === 'requested')).toMatchObject({ action: 'audit_query', details: { via: 'api', report: 'reconciliation' } });
    await expect.poll(async () => (await report()).lastRun?.finishedAt ?? null).not.toBeNull();

    const refused = await harness.inject({ method: 'GET', url: '/api/v1/audit/reconciliation', headers: { authorization: `Bearer ${discloseToken}` } });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json().code).toBe('forbidden');
  });

  it('reports graph_permission_missing naming AuditLog.Read.All when the tenant withholds it', async () => {
    tenant.knobs.setGraphPermissions(['Device.Read.All', 'BitlockerKey.Read.All']);
    const fresh = await buildHarness('reconcile-sim-perm', { env: tenant.keydeskEnvironment() });
    try {
      const result = await fresh.app.reconciliation.run();
      expect(result.status).toBe('done');
      const run = result.status === 'done' ? result.run : null;
      expect(run?.error).toMatch(/^graph_permission_missing: .*AuditLog\.Read\.All and Directory\.Read\.All/);
    } finally {
      await fresh.close();
    }
  });
});
