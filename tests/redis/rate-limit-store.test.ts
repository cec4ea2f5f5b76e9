import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { WINDOW_MS, redisWindowStore } from '../../src/plugins/external/rate-limit.js';
import { createRedisClient, type Redis } from '../../src/redis/client.js';
import { freePort } from '../helpers/net.js';
import { SHARED_REDIS_URL, inspector, removeKeysUnder, testKeyPrefix } from './redis-kit.js';

/** The rate-limit store over Redis: the same fixed windows and keys as in memory, and memory while Redis is away. */

const silent = pino({ level: 'silent' });

function counter(redis: Redis, keyPrefix: string, log: FastifyBaseLogger = silent) {
  const Store = redisWindowStore({ redis, keyPrefix }, Date.now, log);
  const store = new Store();
  const hit = (key: string, max = 5) =>
    new Promise<{ current: number; ttl: number }>((resolve, reject) => store.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), WINDOW_MS, max));
  return { store, hit };
}

describe('the Redis rate-limit store', () => {
  let redis: Redis;
  let look: Redis;
  const prefix = testKeyPrefix();

  beforeAll(() => {
    redis = createRedisClient({ url: SHARED_REDIS_URL, keyPrefix: 'unused:' }, silent);
    look = inspector();
  });
  afterAll(async () => {
    await removeKeysUnder(look, prefix);
    await redis.quit();
    await look.quit();
  });

  it('counts each key in a fixed one-minute window under <prefix>rate-limit:, one count for every route', async () => {
    const { store, hit } = counter(redis, prefix);
    expect(store.child()).toBe(store);
    expect((await hit('staff-disclosures:oid-1')).current).toBe(1);
    const second = await hit('staff-disclosures:oid-1');
    expect(second.current).toBe(2);
    expect(second.ttl).toBeGreaterThan(WINDOW_MS - 5_000);
    expect(second.ttl).toBeLessThanOrEqual(WINDOW_MS);
    // Over the limit the window is not extended (fixed, not sliding).
    await look.pexpire(`${prefix}rate-limit:staff-disclosures:oid-1`, 10_000);
    for (let i = 0; i < 5; i++) await hit('staff-disclosures:oid-1', 2);
    expect(await look.pttl(`${prefix}rate-limit:staff-disclosures:oid-1`)).toBeLessThanOrEqual(10_000);
    expect(await look.get(`${prefix}rate-limit:staff-disclosures:oid-1`)).toBe('7');
  });

  it('counts in memory while Redis does not answer, saying so once', async () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const gone = createRedisClient({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'unused:' }, silent);
    try {
      const { hit } = counter(gone, prefix, log);
      const counts = [];
      for (let i = 0; i < 4; i++) counts.push((await hit('searches:oid-2')).current);
      expect(counts).toEqual([1, 2, 3, 4]);
      expect(warnings).toEqual(["rate limits are counted in this instance's memory while Redis does not answer (the same limits, per instance)"]);
    } finally {
      gone.disconnect();
    }
  });
});
