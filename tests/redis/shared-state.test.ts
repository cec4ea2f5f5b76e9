import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import type { Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { SHARED_REDIS_URL, inspector, keysUnder, removeKeysUnder, testKeyPrefix } from './redis-kit.js';
import { buildInstance, openForm, revealFields, sameBrowserOn, signIn } from './web-instances.js';

/** Two KeyDesk instances sharing one Redis: one staff session, one count, one use of each form. */

describe('two instances sharing Redis', () => {
  let tenant: SimulatedTenant;
  let discloser: SimStaffMember;
  let look: Redis;
  let prefix: string;
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    discloser = tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    look = inspector();
  });
  afterAll(async () => {
    await look.quit();
    await tenant.close();
  });

  const pair = async (env: Record<string, string> = {}) => {
    a = await buildInstance('redis-a', tenant, { url: SHARED_REDIS_URL, keyPrefix: prefix }, env);
    b = await buildInstance('redis-b', tenant, { url: SHARED_REDIS_URL, keyPrefix: prefix }, env);
  };
  beforeEach(() => {
    prefix = testKeyPrefix();
  });
  afterEach(async () => {
    await a?.close();
    await b?.close();
    await removeKeysUnder(look, prefix);
  });

  it('keeps a staff session in Redis for the idle timeout, so the other instance knows who is signed in', async () => {
    await pair();
    const onA = await signIn(tenant, a, discloser);
    const [sessionKey] = await keysUnder(look, `${prefix}session:`);
    expect(sessionKey).toBeDefined();
    expect(await look.pttl(sessionKey!)).toBeGreaterThan(59 * 60_000);

    const home = await sameBrowserOn(onA, b).get('/');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain(discloser.name);
  });

  it('signs a staff member out when their session record was changed in Redis by anyone but KeyDesk', async () => {
    await pair();
    const onA = await signIn(tenant, a, discloser);
    const [sessionKey] = await keysUnder(look, `${prefix}session:`);
    const record = (await look.get(sessionKey!))!;
    await look.set(sessionKey!, record.replace(discloser.upn, 'mallory@contoso.com'), 'KEEPTTL');

    const home = await sameBrowserOn(onA, b).get('/');
    expect(home.statusCode).toBe(302);
    expect(home.headers.location).toBe('/auth/sign-in?returnTo=%2F');
  });

  it('of two posts of one reveal form to two instances at once, exactly one discloses and the other is refused form_already_used', async () => {
    await pair();
    const device = tenant.directory.notable.typical;
    const onA = await signIn(tenant, a, discloser);
    const form = await openForm(onA, device);
    expect(await look.get(`${prefix}form-token:${form.formToken}`)).not.toBeNull();

    const fields = { ...revealFields(tenant, device), ...form };
    const answers = await Promise.all([onA.post(`/devices/${device.deviceId}/reveal`, fields), sameBrowserOn(onA, b).post(`/devices/${device.deviceId}/reveal`, fields)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(answers.find((r) => r.statusCode === 409)!.body).toContain('<code>form_already_used</code>');
    const records = [...a.auditRecords(), ...b.auditRecords()].filter((r) => r.action === 'disclosure');
    expect(records.map((r) => r.outcome === 'granted' ? 'granted' : r.code).sort()).toEqual(['form_already_used', 'granted']);
    expect(await look.exists(`${prefix}form-token:${form.formToken}`)).toBe(0);
  });

  it("counts a staff member's reveal attempts once across both instances", async () => {
    await pair({ RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '2' });
    const device = tenant.directory.notable.typical;
    const onA = await signIn(tenant, a, discloser);
    const onB = sameBrowserOn(onA, b);
    const statuses: number[] = [];
    for (const client of [onA, onB, onA, onB]) {
      const form = await openForm(onA, device);
      const response = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(tenant, device, { keyId: '00000000' }), ...form });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([422, 422, 429, 429]);
    expect(await look.get(`${prefix}rate-limit:staff-disclosures:${discloser.oid}`)).toBe('4');
  });
});
