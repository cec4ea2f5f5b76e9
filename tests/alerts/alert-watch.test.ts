import { describe, expect, it } from 'vitest';
import { openStore } from '../postgres/store-kit.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { Clock, alertsOf, instanceOn, laptops, rulesOf, staff } from './alert-kit.js';

/** Where the alert rules run: after the answer, never failing it, and not raising twice across a restart. */

const ONLY_REFUSALS = { ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0' };

/** A file store on a test clock, and eve, whose refusals are counted. */
async function refusalsOnFileStore() {
  const clock = new Clock(Date.parse('2026-11-25T10:00:00Z'));
  const { store } = await openStore('file', { clock: clock.date });
  const graph = laptops(3);
  const eve = staff('eve@contoso.com');
  const refusals = async (instance: ReturnType<typeof instanceOn>, count: number) => {
    for (let n = 0; n < count; n += 1) await instance.refuse(1, { caller: eve, agentUpn: eve.upn! });
  };
  const start = () => instanceOn(store, graph, { env: ONLY_REFUSALS, now: clock.now });
  return { clock, store, eve, refusals, start };
}

describe('the alert watch', () => {
  it('does not raise an alert again after a restart within its window on the file store, and does once the window has passed', async () => {
    const { clock, store, eve, refusals, start } = await refusalsOnFileStore();
    const sixRefusals = (instance: ReturnType<typeof instanceOn>) => refusals(instance, 6);
    const before = start();
    await sixRefusals(before);
    expect(rulesOf(await alertsOf(store, [before.watch]))).toHaveLength(1);
    await before.watch.close();

    clock.advance(5);
    const restarted = start();
    await sixRefusals(restarted);
    expect(rulesOf(await alertsOf(store, [restarted.watch]))).toHaveLength(1);
    clock.advance(10);
    await sixRefusals(restarted);
    expect(rulesOf(await alertsOf(store, [restarted.watch]))).toEqual([`refusals_per_10_minutes staff:${eve.oid}`, `refusals_per_10_minutes staff:${eve.oid}`]);
  });

  it('counts the disclosures recorded before a restart on the file store: three refusals before and three after make six, and alert', async () => {
    const { clock, store, eve, refusals, start } = await refusalsOnFileStore();
    const threeRefusals = (instance: ReturnType<typeof instanceOn>) => refusals(instance, 3);
    const before = start();
    await threeRefusals(before);
    expect(await alertsOf(store, [before.watch])).toHaveLength(0);
    await before.watch.close();

    clock.advance(2);
    const restarted = start();
    await threeRefusals(restarted);
    expect(rulesOf(await alertsOf(store, [restarted.watch]))).toEqual([`refusals_per_10_minutes staff:${eve.oid}`]);
    const [alert] = await alertsOf(store, [restarted.watch]);
    expect(alert!.details).toMatchObject({ rule: 'refusals_per_10_minutes' });
  });

  it('answers a disclosure whatever happens to the alert rules, and logs why an alert was given up', async () => {
    const clock = new Clock(Date.parse('2026-11-25T10:00:00Z'));
    const { store } = await openStore('file', { clock: clock.date });
    const password = fakeRecoveryPassword();
    const graph = laptops(1);
    graph.directory.passwords[graph.directory.keys[0]!.id] = password;
    // A database nobody listens on: every count and claim fails.
    const broken = instanceOn(store, graph, { env: { ALERT_REPEAT_DEVICE_HOURS: '1' }, databaseUrl: 'postgres://keydesk:s3cret-pw@127.0.0.1:1/keydesk', now: clock.now });
    const first = await broken.grant(1);
    const second = await broken.grant(1);
    expect([first.outcome, second.outcome]).toEqual(['granted', 'granted']);
    expect(await alertsOf(store, [broken.watch])).toEqual([]);
    const failures = broken.log.lines.filter((line) => line.msg === 'an alert rule could not be evaluated');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatchObject({ alert: { rule: 'disclosures_per_hour' } });
    expect(broken.log.text()).not.toContain(password);
    expect(broken.log.text()).not.toContain('s3cret-pw');
  });
});
