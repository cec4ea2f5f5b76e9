import { describe, expect, it, onTestFinished } from 'vitest';
import { PostgresAlertBackend } from '../../src/alerts/postgres-alerts.js';
import type { AlertBackend } from '../../src/alerts/alert-backend.js';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { Clock, alertsOf, instanceOn, laptops, rulesOf } from '../alerts/alert-kit.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { query, testDatabase } from './audit-tools-kit.js';
import { openPostgresStore } from './store-kit.js';

/**
 * A busy ticketing app on PostgreSQL: 1,200 disclosures at once, far more than the alerts'
 * two connections could count one by one within the pool's one-second checkout timeout. Every
 * alert due is raised, once; none is lost to "timeout exceeded when trying to connect"; and a
 * subject whose alert is claimed costs no further statement inside its window.
 */

/** The real PostgreSQL backend, with its statements counted. */
function countingBackend(url: string): { backend: AlertBackend; statements: () => number } {
  const real = new PostgresAlertBackend(createAuditPool({ url, poolMax: 2 }, memoryLogger().logger), url);
  let statements = 0;
  const counted = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => (...args: A) => {
    statements += 1;
    return call(...args);
  };
  const backend: AlertBackend = {
    countsTheTrail: real.countsTheTrail,
    count: counted(real.count.bind(real)),
    claim: counted(real.claim.bind(real)),
    claimedAt: counted(real.claimedAt.bind(real)),
    release: counted(real.release.bind(real)),
    close: () => real.close(),
  };
  return { backend, statements: () => statements };
}

async function busyInstance(env: Record<string, string>) {
  const database = await testDatabase();
  const role = await database.createRole('keydesk_runtime');
  await query(database, runtimeGrants(role));
  const url = database.urlAs(role);
  const clock = new Clock(Date.parse('2026-11-25T10:00:00Z'));
  const store = await openPostgresStore(url, { clock: clock.date });
  onTestFinished(() => store.close());
  const graph = laptops(20);
  const instance = instanceOn(store, graph, { env, databaseUrl: url, now: clock.now });
  return { store, url, clock, instance };
}

describe('alerts on PostgreSQL under a burst of disclosures', () => {
  it('raises every alert due exactly once, and logs no rule it could not evaluate', async () => {
    const { store, instance } = await busyInstance({ ALERT_DISCLOSURES_PER_HOUR: '50' });
    await Promise.all(Array.from({ length: 1200 }, (_, n) => instance.grant((n % 20) + 1)));
    const raised = rulesOf(await alertsOf(store, [instance.watch]));
    // The app and the agent it names each pass 50 in the hour; each of the 20 laptops is disclosed again.
    expect(raised.filter((rule) => rule.startsWith('disclosures_per_hour')).sort()).toEqual(['disclosures_per_hour agent:sam.agent@contoso.com', 'disclosures_per_hour app:c2d9e1f0-4b3a-4e8d-9a7c-1f2e3d4c5b6a']);
    expect(raised.filter((rule) => rule.startsWith('repeat_device'))).toHaveLength(20);
    expect(raised).toHaveLength(22);
    expect(instance.log.text()).not.toContain('could not be evaluated');
  });

  it('costs no statement for a subject whose alert is claimed, until its window ends', async () => {
    const env = { ALERT_DISCLOSURES_PER_HOUR: '5', ALERT_REPEAT_DEVICE_HOURS: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' };
    const { store, url, clock } = await busyInstance(env);
    const { backend, statements } = countingBackend(url);
    const instance = instanceOn(store, laptops(20), { env, databaseUrl: url, now: clock.now, backend });
    const grant = async (n: number) => {
      await instance.grant(n);
      await instance.watch.idle();
    };
    for (let n = 1; n <= 6; n += 1) await grant(n);
    expect(rulesOf(await alertsOf(store, [instance.watch])).sort()).toEqual(['disclosures_per_hour agent:sam.agent@contoso.com', 'disclosures_per_hour app:c2d9e1f0-4b3a-4e8d-9a7c-1f2e3d4c5b6a']);
    const afterAlert = statements();
    for (let n = 1; n <= 20; n += 1) await grant(n);
    expect(statements()).toBe(afterAlert);
    // An hour after the alert the rule counts again, and alerts again.
    clock.advance(61);
    for (let n = 1; n <= 6; n += 1) await grant(n);
    expect(statements()).toBeGreaterThan(afterAlert);
    expect(rulesOf(await alertsOf(store, [instance.watch]))).toHaveLength(4);
  });
});
