import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { auditEntry } from '../../src/audit/entry.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

/** The auditors' pages: search, paging, one record, the CSV download and the chain status. */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';
const HOSTILE = '<script>alert(1)</script>';

describe('audit pages', () => {
  let tenant: SimulatedTenant;
  let harness: Harness;
  let auditor: SimStaffMember;
  let lookup: SimStaffMember;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    auditor = tenant.staff.find((s) => s.roles.length === 1 && s.roles[0] === 'BitLocker.Audit')!;
    lookup = tenant.staff.find((s) => s.roles.includes('BitLocker.Lookup') && !s.roles.includes('BitLocker.Audit'))!;
  });
  afterAll(async () => {
    await tenant.close();
  });
  beforeEach(async () => {
    harness = await buildHarness('audit-pages', { env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, SESSION_IDLE_MINUTES: '60' } });
    for (let n = 1; n <= 30; n += 1) {
      await harness.audit.append(
        auditEntry({ action: 'disclosure', outcome: 'granted', code: null, ticket: `INC${n}`, requesterUpn: `user${n}@contoso.example`, device: { id: null, deviceId: null, displayName: n === 3 ? HOSTILE : 'LAPTOP-X' } }),
      );
    }
  });
  afterEach(async () => {
    await harness.close();
  });

  async function signIn(staff: SimStaffMember) {
    const client = new WebClient(harness);
    const start = await client.get('/auth/sign-in?returnTo=%2F');
    const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: staff.upn });
    expect((await client.get(pathOf(entra.location!))).statusCode).toBe(302);
    return client;
  }

  it('searches the trail with the API filters, pages, escapes every value and records each query as the web reader', async () => {
    const client = await signIn(auditor);
    const page = await client.get('/audit?deviceName=LAPTOP-X&ticket=&limit=20');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="audit-deviceName"');
    expect(page.body).toContain('value="LAPTOP-X"');
    expect(page.body.match(/<tr class="audit-record">/g)).toHaveLength(20);
    expect(page.body).toContain('Chain status: not verified yet');
    const older = /href="\/audit\?([^"]+)" id="older-records"/.exec(page.body)![1]!.replaceAll('&amp;', '&');
    const second = await client.get(`/audit?${older}`);
    expect(second.body.match(/<tr class="audit-record">/g)).toHaveLength(9);
    expect(second.body).not.toContain('id="older-records"');

    const all = await client.get('/audit');
    expect(all.body).not.toContain(HOSTILE);
    expect(all.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const queries = harness.auditRecords().filter((r) => r.action === 'audit_query');
    expect(queries).toHaveLength(3);
    expect(queries[0]).toMatchObject({ caller: { kind: 'user', upn: auditor.upn, oid: auditor.oid }, details: { via: 'web', rowCount: 20, filters: { deviceName: 'LAPTOP-X' } } });
  });

  it('shows one record, downloads the same CSV export as the API, and refuses a bad filter on the page', async () => {
    const client = await signIn(auditor);
    const record = harness.auditRecords().find((r) => r.ticket === 'INC5')!;
    const detail = await client.get(`/audit/records/${record.id}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toContain('user5@contoso.example');
    expect((await client.get('/audit/records/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);

    const listing = await client.get('/audit?requesterUpn=user5%40contoso.example');
    const href = /href="(\/audit\/export\.csv\?[^"]*)" id="csv-download"/.exec(listing.body)![1]!.replaceAll('&amp;', '&');
    const csv = await client.get(href);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename=".+\.csv"$/);
    expect(csv.body.split('\r\n').filter(Boolean)).toHaveLength(2);
    expect(harness.auditRecords().filter((r) => r.action === 'audit_export').map((r) => [r.details?.stage, r.details?.via])).toEqual([
      ['started', 'web'],
      ['completed', 'web'],
    ]);

    const bad = await client.get('/audit?from=yesterday');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^text\/html/);
    expect(bad.body).toContain('<code>invalid_request</code>');
  });

  it('gives a staff member without BitLocker.Audit the forbidden page, and records nothing', async () => {
    const client = await signIn(lookup);
    const before = harness.auditRecords().length;
    for (const path of ['/audit', '/audit/export.csv', '/audit/records/00000000-0000-4000-8000-000000000000']) {
      const page = await client.get(path);
      expect(page.statusCode, path).toBe(403);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<code>forbidden</code>');
    }
    expect(harness.auditRecords().length).toBe(before);
  });
});
