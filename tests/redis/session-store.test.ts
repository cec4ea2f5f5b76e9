import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Session } from 'fastify';
import { pino } from 'pino';
import type { SessionStore } from '@fastify/session';
import { createRedisSessionStore, sealSessionRecord, sessionRecordKey } from '../../src/auth/redis-session-store.js';
import { createRedisClient, type Redis } from '../../src/redis/client.js';
import { isProblem } from '../../src/problem/problem.js';
import { freePort } from '../helpers/net.js';
import { SHARED_REDIS_URL, inspector, removeKeysUnder, testKeyPrefix } from './redis-kit.js';

/** The staff session store over a real Redis: what it keeps, for how long, and what it refuses to believe. */

const SECRET = 'a-test-session-secret-of-more-than-32-characters';
const silent = pino({ level: 'silent' });

const get = (store: SessionStore, id: string) =>
  new Promise<{ error: unknown; session: Session | null | undefined }>((resolve) => store.get(id, (error, session) => resolve({ error, session })));
const set = (store: SessionStore, id: string, session: object) => new Promise<unknown>((resolve) => store.set(id, session as Session, (error) => resolve(error)));
const destroy = (store: SessionStore, id: string) => new Promise<unknown>((resolve) => store.destroy(id, (error) => resolve(error)));

const staff = { oid: 'oid-1', upn: 'alex@contoso.com', name: 'Alex', roles: ['BitLocker.Disclose'], authTime: 1, acrs: [] };

describe('the Redis session store', () => {
  let redis: Redis;
  let look: Redis;
  let prefix: string;
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  const storeWith = (options: { idleMs?: number; secret?: string } = {}) =>
    createRedisSessionStore({ redis, keyPrefix: prefix, sessionSecret: options.secret ?? SECRET, idleMs: options.idleMs ?? 60_000, log });

  beforeAll(() => {
    redis = createRedisClient({ url: SHARED_REDIS_URL, keyPrefix: 'unused:' }, silent);
    look = inspector();
  });
  afterAll(async () => {
    await redis.quit();
    await look.quit();
  });
  beforeEach(() => {
    prefix = testKeyPrefix();
    warnings.length = 0;
  });
  afterEach(async () => {
    await removeKeysUnder(look, prefix);
  });

  it('keeps a session under <prefix>session:<id> until the idle timeout, each save starting it again', async () => {
    const store = storeWith({ idleMs: 60_000 });
    expect(await set(store, 'sid-1', { staff, lastSeenAt: 5 })).toBeUndefined();
    expect((await get(store, 'sid-1')).session).toMatchObject({ staff, lastSeenAt: 5 });
    expect(await look.pttl(`${prefix}session:sid-1`)).toBeGreaterThan(59_000);

    await look.pexpire(`${prefix}session:sid-1`, 5_000);
    await set(store, 'sid-1', { staff, lastSeenAt: 6 });
    expect(await look.pttl(`${prefix}session:sid-1`)).toBeGreaterThan(59_000);
  });

  it('forgets a session nobody came back to within the idle timeout', async () => {
    const store = storeWith({ idleMs: 150 });
    await set(store, 'sid-2', { staff });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await get(store, 'sid-2')).toEqual({ error: null, session: null });
  });

  it('ends a session when it is destroyed', async () => {
    const store = storeWith();
    await set(store, 'sid-3', { staff });
    expect(await destroy(store, 'sid-3')).toBeUndefined();
    expect((await get(store, 'sid-3')).session).toBeNull();
  });

  it('treats a record not written with SESSION_SECRET as signed out, and says so without the session id', async () => {
    const store = storeWith();
    // Someone with redis-cli: a plausible session granting every role, with no or a wrong seal.
    const forged = { staff: { ...staff, roles: ['BitLocker.Disclose', 'BitLocker.Audit'] }, lastSeenAt: Date.now() };
    await look.set(`${prefix}session:sid-4`, JSON.stringify(forged));
    expect((await get(store, 'sid-4')).session).toBeNull();
    await look.set(`${prefix}session:sid-4`, sealSessionRecord(sessionRecordKey('another-secret-of-more-than-32-characters!!'), 'sid-4', forged));
    expect((await get(store, 'sid-4')).session).toBeNull();
    // A genuine record, edited in place (its seal kept).
    await set(store, 'sid-4', { staff });
    const record = (await look.get(`${prefix}session:sid-4`))!;
    await look.set(`${prefix}session:sid-4`, record.replace('"BitLocker.Disclose"', '"BitLocker.Audit"'));
    expect((await get(store, 'sid-4')).session).toBeNull();
    expect(warnings).toEqual(Array(3).fill('a staff session record in Redis failed its SESSION_SECRET check: treated as signed out'));
  });

  it("does not accept one session's record under another session's id", async () => {
    const store = storeWith();
    await set(store, 'sid-5', { staff });
    await look.set(`${prefix}session:sid-6`, (await look.get(`${prefix}session:sid-5`))!);
    expect((await get(store, 'sid-6')).session).toBeNull();
    expect((await get(store, 'sid-5')).session).toMatchObject({ staff });
  });

  it('answers session_store_unavailable within about a second when Redis does not answer', async () => {
    const gone = createRedisClient({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'unused:' }, silent);
    try {
      const store = createRedisSessionStore({ redis: gone, keyPrefix: prefix, sessionSecret: SECRET, idleMs: 60_000, log });
      const started = Date.now();
      const { error } = await get(store, 'sid-7');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(isProblem(error) && { code: error.code, status: error.status, retryAfter: error.headers['retry-after'] }).toEqual({ code: 'session_store_unavailable', status: 503, retryAfter: '5' });
      const setError = await set(store, 'sid-7', { staff });
      expect(isProblem(setError) && setError.code).toBe('session_store_unavailable');
    } finally {
      gone.disconnect();
    }
  });
});
