import { describe, expect, it } from 'vitest';
import { openStore, type StoreKind } from '../postgres/store-kit.js';
import type { AuditCaller } from '../../src/audit/types.js';
import { Clock, alertsOf, type Instance, instanceOn, laptops, rulesOf, staff, ticketingApp } from './alert-kit.js';

/**
 * The four alert rules as a security team sees them: an `alert` record in the trail at the
 * threshold and not below, once per subject per window, off at 0, on both audit stores.
 */

const WEDNESDAY_10_00 = Date.parse('2026-11-25T10:00:00Z');
const ONLY = {
  perHour: { ALERT_REPEAT_DEVICE_HOURS: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' },
  repeat: { ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' },
  refusals: { ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0' },
  hours: { ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' },
};

async function rig(kind: StoreKind, env: Record<string, string>, start = WEDNESDAY_10_00) {
  const clock = new Clock(start);
  const opened = await openStore(kind, { clock: clock.date });
  const graph = laptops(20);
  const one = instanceOn(opened.store, graph, { env, databaseUrl: opened.database?.url ?? null, now: clock.now });
  return { clock, store: opened.store, one, graph, alerts: () => alertsOf(opened.store, [one.watch]) };
}

/** `count` disclosures by one staff member, one every `minutes`, the clock moved on after each. */
async function grantsEvery(one: Instance, clock: Clock, who: AuditCaller, count: number, minutes: number): Promise<void> {
  for (let n = 1; n <= count; n += 1) {
    await one.grant(n, { caller: who, agentUpn: who.upn! });
    clock.advance(minutes);
  }
}

describe.each<StoreKind>(['file', 'postgres'])('alert rules on the %s store', (kind) => {
  it('raises disclosures_per_hour on the eleventh granted disclosure of one agent within an hour, and once only', async () => {
    const { clock, one, alerts } = await rig(kind, ONLY.perHour);
    const sam = staff('Sam.Agent@contoso.com');
    await grantsEvery(one, clock, sam, 10, 5);
    expect(await alerts()).toEqual([]);

    const eleventh = await one.grant(11, { caller: sam, agentUpn: sam.upn! });
    await one.grant(12, { caller: sam, agentUpn: sam.upn! });
    const raised = await alerts();
    expect(rulesOf(raised)).toEqual(['disclosures_per_hour agent:sam.agent@contoso.com']);
    expect(raised[0]).toMatchObject({
      action: 'alert',
      outcome: 'raised',
      disclosureId: eleventh.disclosureId,
      agentUpn: sam.upn,
      details: {
        rule: 'disclosures_per_hour',
        subject: 'agent:sam.agent@contoso.com',
        counts: { granted: 11, threshold: 10 },
        window: { from: '2026-11-25T09:50:00.000Z', to: '2026-11-25T10:50:00.000Z', minutes: 60 },
        trigger: { auditRecordId: eleventh.outcome === 'granted' ? eleventh.auditRecordId : null },
      },
    });
    expect(raised[0]!.details!.summary).toBe('Agent sam.agent@contoso.com was given 11 recovery keys within an hour, more than ALERT_DISCLOSURES_PER_HOUR=10.');
  });

  it('counts a sliding hour: ten an hour, hour after hour, never alert', async () => {
    const { clock, one, alerts } = await rig(kind, ONLY.perHour);
    await grantsEvery(one, clock, staff('sam.agent@contoso.com'), 20, 6);
    expect(await alerts()).toEqual([]);
  });

  it('counts an app-only token per app, and alerts again once a window has passed since its last alert', async () => {
    const { clock, one, alerts } = await rig(kind, { ...ONLY.perHour, ALERT_DISCLOSURES_PER_HOUR: '2' });
    // Three agents through one ticketing app: no agent has more than one, the app has three.
    for (const [n, agent] of ['a1', 'a2', 'a3'].entries()) {
      await one.grant(n + 1, { caller: ticketingApp, agentUpn: `${agent}@contoso.com` });
      clock.advance(1);
    }
    const app = `disclosures_per_hour app:${ticketingApp.appId}`;
    expect(rulesOf(await alerts())).toEqual([app]);
    clock.set('2026-11-25T10:30:00Z');
    await one.grant(4, { caller: ticketingApp, agentUpn: 'a4@contoso.com' });
    clock.set('2026-11-25T10:50:00Z');
    await one.grant(5, { caller: ticketingApp, agentUpn: 'a5@contoso.com' });
    expect(rulesOf(await alerts())).toEqual([app]);
    // 11:03: three in the hour since 10:03, and an hour since the alert at 10:02.
    clock.set('2026-11-25T11:03:00Z');
    await one.grant(6, { caller: ticketingApp, agentUpn: 'a6@contoso.com' });
    expect(rulesOf(await alerts())).toEqual([app, app]);
  });

  it('raises repeat_device when a device is disclosed again within ALERT_REPEAT_DEVICE_HOURS, once per window', async () => {
    const { clock, one, graph, alerts } = await rig(kind, ONLY.repeat);
    await one.grant(1);
    await one.grant(2);
    clock.advance(23 * 60);
    expect(await alerts()).toEqual([]);
    await one.grant(1);
    clock.advance(60);
    await one.grant(1);
    // LAPTOP-2 again 25 hours after its first disclosure: outside the window.
    clock.advance(60);
    await one.grant(2);
    const raised = await alerts();
    const laptop1 = graph.directory.devices[0]!;
    expect(rulesOf(raised)).toEqual([`repeat_device device:${laptop1.deviceId.toLowerCase()}`]);
    expect(raised[0]).toMatchObject({ device: { deviceId: laptop1.deviceId, displayName: 'LAPTOP-1' }, details: { counts: { granted: 2, threshold: 1 }, window: { minutes: 1440 } } });
    expect(raised[0]!.details!.summary).toBe('The recovery key of LAPTOP-1 was disclosed 2 times within 24 hours (ALERT_REPEAT_DEVICE_HOURS).');
  });

  it('raises refusals_per_10_minutes on the sixth refusal of one caller within 10 minutes, and not for refusals spread wider', async () => {
    const { clock, one, alerts } = await rig(kind, ONLY.refusals);
    const eve = staff('eve@contoso.com');
    const other = staff('sam.agent@contoso.com');
    const refuseAt = async (minute: number, who = eve) => {
      clock.set(new Date(WEDNESDAY_10_00 + minute * 60_000).toISOString());
      await one.refuse(1 + (minute % 20), { caller: who, agentUpn: who.upn! });
    };
    for (const minute of [0, 1, 2, 3, 4]) {
      await refuseAt(minute);
      await refuseAt(minute, other);
    }
    // 10:15: Eve's earlier five are more than 10 minutes old; five more make five within 10 minutes.
    for (const minute of [15, 16, 17, 18, 19]) await refuseAt(minute);
    expect(await alerts()).toEqual([]);
    await refuseAt(20);
    await refuseAt(21);
    const raised = await alerts();
    expect(rulesOf(raised)).toEqual([`refusals_per_10_minutes staff:${eve.oid}`]);
    expect(raised[0]).toMatchObject({ caller: { oid: eve.oid }, details: { counts: { refused: 6, threshold: 5 }, window: { minutes: 10 } } });
  });

  it('raises outside_business_hours by the wall clock of BUSINESS_HOURS_TZ across the change to summer time, once an hour per agent', async () => {
    const { clock, one, alerts } = await rig(kind, { ...ONLY.hours, BUSINESS_HOURS: 'Mon-Fri 07:00-19:00', BUSINESS_HOURS_TZ: 'Europe/Berlin' });
    const sam = staff('sam.agent@contoso.com');
    const ann = staff('ann.agent@contoso.com');
    const at = async (iso: string, who = sam) => {
      clock.set(iso);
      await one.grant(1 + ((await alerts()).length % 20), { caller: who, agentUpn: who.upn! });
    };
    await at('2026-03-27T05:30:00Z'); // Fri 06:30 CET: outside
    await at('2026-03-27T06:00:00Z'); // Fri 07:00 CET: inside
    await at('2026-03-30T05:30:00Z'); // Mon 07:30 CEST: inside (06:30 had the offset stayed +01:00)
    await at('2026-03-30T16:30:00Z'); // Mon 18:30 CEST: inside
    expect(rulesOf(await alerts())).toEqual(['outside_business_hours agent:sam.agent@contoso.com']);
    await at('2026-03-30T17:30:00Z'); // Mon 19:30 CEST: outside (18:30 at +01:00)
    await at('2026-03-30T18:10:00Z'); // Mon 20:10, same agent within the hour: no second alert
    await at('2026-03-30T18:15:00Z', ann); // another agent: its own alert
    const raised = await alerts();
    expect(rulesOf(raised)).toEqual([
      'outside_business_hours agent:sam.agent@contoso.com',
      'outside_business_hours agent:sam.agent@contoso.com',
      'outside_business_hours agent:ann.agent@contoso.com',
    ]);
    expect(raised[1]!.details).toMatchObject({ businessHours: { hours: 'Mon-Fri 07:00-19:00', timeZone: 'Europe/Berlin', localTime: 'Mon 19:30' } });
  });

  it('raises nothing when every rule is turned off with 0 and BUSINESS_HOURS is unset', async () => {
    const { clock, one, alerts } = await rig(kind, { ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0', ALERT_REFUSALS_PER_10_MINUTES: '0' }, Date.parse('2026-11-29T03:00:00Z'));
    for (let n = 1; n <= 12; n += 1) {
      await one.grant(1);
      await one.refuse(1);
      clock.advance(1);
    }
    expect(await alerts()).toEqual([]);
  });
});
