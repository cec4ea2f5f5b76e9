import { describe, expect, it, onTestFinished } from 'vitest';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { PostgresAlertBackend } from '../../src/alerts/postgres-alerts.js';
import { HOUR_MS, type AlertCheck } from '../../src/alerts/alert-rules.js';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { Clock, alertsOf, instanceOn, laptops, rulesOf, staff } from '../alerts/alert-kit.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { query, testDatabase } from './audit-tools-kit.js';
import { openPostgresStore } from './store-kit.js';

/**
 * Two KeyDesk instances on one database, as behind a load balancer: a rule counts every
 * instance's disclosures, and when both see a threshold crossed at the same moment the trail
 * holds one alert, not two. Both run as a role with the runtime grants alone.
 */

async function twoInstances(env: Record<string, string>) {
  const database = await testDatabase();
  const role = await database.createRole('keydesk_runtime');
  await query(database, runtimeGrants(role));
  const runtimeUrl = database.urlAs(role);
  const clock = new Clock(Date.parse('2026-11-25T10:00:00Z'));
  const stores = await Promise.all([openPostgresStore(runtimeUrl, { clock: clock.date }), openPostgresStore(runtimeUrl, { clock: clock.date })]);
  onTestFinished(() => Promise.all(stores.map((store) => store.close())).then(() => undefined));
  const graph = laptops(20);
  const [a, b] = stores.map((store) => instanceOn(store, graph, { env, databaseUrl: runtimeUrl, now: clock.now }));
  return { database, runtimeUrl, clock, a: a!, b: b!, alerts: () => alertsOf(stores[0]!, [a!.watch, b!.watch]) };
}

describe('alerts across two instances on one PostgreSQL database', () => {
  it('raises one repeat_device alert per device when both instances disclose it at the same moment', async () => {
    const { a, b, alerts, database } = await twoInstances({ ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' });
    await Promise.all(Array.from({ length: 20 }, (_, n) => [a.grant(n + 1), b.grant(n + 1)]).flat());
    const raised = await alerts();
    expect(raised).toHaveLength(20);
    expect(new Set(rulesOf(raised)).size).toBe(20);
    expect(await query(database, 'SELECT count(*)::int AS n FROM keydesk.alert_windows')).toEqual([{ n: 20 }]);
  });

  it("counts both instances' refusals of one caller: one alert for twelve refusals split across them", async () => {
    const { a, b, alerts } = await twoInstances({ ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0' });
    const eve = staff('eve@contoso.com');
    await Promise.all(Array.from({ length: 12 }, (_, n) => (n % 2 === 0 ? a : b).refuse(1, { caller: eve, agentUpn: eve.upn! })));
    expect(rulesOf(await alerts())).toEqual([`refusals_per_10_minutes staff:${eve.oid}`]);
  });

  it('lets exactly one of many concurrent claims of one rule and subject through, from two pools', async () => {
    const { runtimeUrl } = await twoInstances({});
    const backends = [0, 1].map(() => new PostgresAlertBackend(createAuditPool({ url: runtimeUrl, poolMax: 5 }, memoryLogger().logger), runtimeUrl));
    onTestFinished(() => Promise.all(backends.map((backend) => backend.close())).then(() => undefined));
    const check: AlertCheck = {
      rule: 'repeat_device',
      subject: { id: 'device:6d2e8f0a-3b1c-4d5e-9f7a-1b2c3d4e5f60', column: 'device_id', value: '6d2e8f0a-3b1c-4d5e-9f7a-1b2c3d4e5f60', appOnly: false },
      windowMs: 24 * HOUR_MS,
      counted: { outcome: 'granted', limit: 1 },
    };
    const at = Date.parse('2026-11-25T10:00:00Z');
    const claims = await Promise.all(Array.from({ length: 40 }, (_, n) => backends[n % 2]!.claim(check, at + (n % 3))));
    expect(claims.filter(Boolean)).toHaveLength(1);
    // A window later the rule may alert about the subject again; released, at once.
    expect(await backends[0]!.claim(check, at + check.windowMs + 5)).toBe(true);
    await backends[1]!.release(check, at + check.windowMs + 5);
    expect(await backends[1]!.claim(check, at + check.windowMs + 6)).toBe(true);
  });
});
