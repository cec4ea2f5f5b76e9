import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient, pathOf } from './web-client.js';

/** The search page's key-ID reading and the escrow coverage page, signed in as staff. */

const BASE_URL = 'http://127.0.0.1:8080';
const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';

describe('key index pages', () => {
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
    harness = await buildHarness('key-index-pages', { env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, KEY_INDEX_SYNC_REQUESTS_PER_10S: '1000' } });
    await harness.app.keyIndex.startSync();
    await harness.app.keyIndex.idle();
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

  it('tries 8 hex digits as a key ID and as a name, and labels both sets of results', async () => {
    const client = await signIn(lookup);
    const device = tenant.directory.notable.typical;
    const keyId = tenant.directory.keysOf(device.deviceId)[0]!.id.slice(0, 8).toUpperCase();
    const page = await client.get(`/?name=${keyId}&match=exact`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h2 id="by-key-id">By key ID</h2>');
    expect(page.body).toContain('<h2 id="by-name">By device name</h2>');
    expect(page.body).toContain(`href="/devices/${device.deviceId}"`);
    expect(page.body).toContain(`<code>${keyId}</code>`);
    // A name that cannot be a key ID is searched as a name only.
    const byName = await client.get(`/?name=${encodeURIComponent(device.displayName)}&match=exact`);
    expect(byName.body).not.toContain('By key ID');
  });

  it('shows the escrow coverage report, linked from the header, to staff with Lookup or Audit, with the planted gaps', async () => {
    const client = await signIn(auditor);
    const page = await client.get('/reports/escrow-coverage');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(tenant.escrowGaps.encryptedWithoutKey.displayName);
    expect(page.body).toContain(tenant.escrowGaps.staleKey.displayName);
    expect(page.body).toContain(tenant.escrowGaps.nearLimit.displayName);
    const csv = await client.get('/reports/escrow-coverage.csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(page.body).toContain('<a href="/reports/escrow-coverage">Escrow coverage</a>');
    const helpdesk = await signIn(lookup);
    const shown = await helpdesk.get('/reports/escrow-coverage');
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain(tenant.escrowGaps.staleKey.displayName);
  });
});
