import { afterEach, describe, expect, it } from 'vitest';
import type { Session } from 'fastify';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { createMemorySessionStore, type SessionStore } from '../../src/auth/session-store.js';
import { createRedisSessionStore } from '../../src/auth/redis-session-store.js';
import { inspector, removeKeysUnder, SHARED_REDIS_URL, testKeyPrefix } from '../redis/redis-kit.js';
import { METRICS_TOKEN, scrape, total } from './metrics-kit.js';

const SESSION_SECRET = 'sessions-metrics-test-secret-0123456789';

const save = (store: SessionStore, id: string, session: object) =>
  new Promise<void>((resolve, reject) => store.set(id, session as Session, (error?: unknown) => (error ? reject(error) : resolve())));

describe('keydesk_sessions', () => {
  let harness: Harness | null = null;
  afterEach(async () => {
    await harness?.close();
    harness = null;
  });

  it('counts the staff sessions in Redis, every instance\'s, and only those under its own key prefix', async () => {
    const prefix = testKeyPrefix();
    const redis = inspector();
    try {
      harness = await buildHarness('sessions-metrics', {
        env: { PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET, REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: prefix, METRICS_TOKEN },
      });
      const address = await harness.app.listen({ host: '127.0.0.1', port: 0 });
      expect(total(await scrape(`${address}/metrics`, METRICS_TOKEN), 'keydesk_sessions')).toBe(0);

      // Sessions another instance saved, and a neighbour's under a longer prefix that starts like ours.
      const store = createRedisSessionStore({ redis, keyPrefix: prefix, sessionSecret: SESSION_SECRET, idleMs: 60_000, log: harness.app.log });
      for (const id of ['s1', 's2', 's3']) await save(store, id, { lastSeenAt: Date.now() });
      await redis.set(`${prefix}other:session:x`, '1', 'PX', 60_000);
      await redis.set(`${prefix}rate-limit:searches:x`, '1', 'PX', 60_000);
      expect(total(await scrape(`${address}/metrics`, METRICS_TOKEN), 'keydesk_sessions')).toBe(3);
    } finally {
      await removeKeysUnder(redis, prefix);
      redis.disconnect();
    }
  });

  it('counts the in-memory sessions used within the idle timeout', async () => {
    let now = 1_000_000;
    const store = createMemorySessionStore({ idleMs: 60_000, now: () => now });
    await save(store, 'a', { lastSeenAt: now });
    await save(store, 'b', { lastSeenAt: now - 30_000 });
    await save(store, 'c', { lastSeenAt: now - 90_000 });
    expect(store.count()).toBe(2);
    now += 45_000;
    expect(store.count()).toBe(1);
  });
});
