import { describe, expect, it } from 'vitest';
import { WINDOW_MS, sharedWindowStore } from '../../src/plugins/external/rate-limit.js';

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

  it('holds at most 10,000 keys, whatever anonymous clients send', async () => {
    const { hit } = counter(() => 0);
    for (let i = 0; i < 25_000; i++) await hit(`sign-ins:198.51.100.${i}`);
    // The oldest keys were forgotten to make room (their count starts again); the newest are kept.
    expect((await hit('sign-ins:198.51.100.0')).current).toBe(1);
    expect((await hit('sign-ins:198.51.100.24999')).current).toBe(2);
  });
});
