import { describe, expect, it } from 'vitest';
import { WINDOW_MS, anonymousKey, sharedWindowStore } from '../../src/plugins/external/rate-limit.js';

/** The one store behind every rate limit: fixed one-minute windows, shared by all routes, bounded. */

function counter(now: () => number) {
  const Store = sharedWindowStore(now);
  const store = new Store();
  const hit = (key: string) =>
    new Promise<{ current: number; ttl: number }>((resolve) => store.incr(key, (_error, result) => resolve(result!), WINDOW_MS));
  return { store, hit };
}

describe('the rate-limit store', () => {
  it('counts requests per key within a fixed one-minute window, then starts again', async () => {
    let clock = 1_000_000;
    const { hit } = counter(() => clock);
    expect((await hit('staff-disclosures:a')).current).toBe(1);
    clock += 30_000;
    const second = await hit('staff-disclosures:a');
    expect(second).toEqual({ current: 2, ttl: 30_000 });
    clock += 30_000;
    expect((await hit('staff-disclosures:a')).current).toBe(1);
  });

  it('is one store for every route, so one key counts across doors', async () => {
    const { store, hit } = counter(() => 0);
    expect(store.child()).toBe(store);
    await hit('staff-disclosures:oid-1');
    expect((await hit('staff-disclosures:oid-1')).current).toBe(2);
  });

  it('holds at most 10,000 anonymous keys, whatever anonymous clients send', async () => {
    const { hit } = counter(() => 0);
    for (let i = 0; i < 25_000; i++) await hit(anonymousKey('sign-ins', `198.51.${i >> 8}.${i & 255}`));
    // The oldest keys were forgotten to make room (their count starts again); the newest are kept.
    expect((await hit(anonymousKey('sign-ins', '198.51.0.0'))).current).toBe(1);
    expect((await hit(anonymousKey('sign-ins', `198.51.${24_999 >> 8}.${24_999 & 255}`))).current).toBe(2);
  });

  it("keeps a staff member's count however many anonymous addresses come by", async () => {
    const { hit } = counter(() => 0);
    for (let i = 0; i < 5; i++) await hit('staff-disclosures:oid-1');
    for (let i = 0; i < 20_000; i++) await hit(anonymousKey('sign-ins', `2001:db8:${i.toString(16)}::1`));
    expect((await hit('staff-disclosures:oid-1')).current).toBe(6);
  });

  it('counts an IPv6 client by its /64', () => {
    expect(anonymousKey('sign-ins', '2001:db8:1:2:aaaa::1')).toBe(anonymousKey('sign-ins', '2001:db8:1:2:bbbb::2'));
    expect(anonymousKey('sign-ins', '2001:db8:1:2::1')).not.toBe(anonymousKey('sign-ins', '2001:db8:1:3::1'));
  });
});
