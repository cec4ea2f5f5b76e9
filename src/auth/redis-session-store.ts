import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { SessionStore } from '@fastify/session';
import type { FastifyBaseLogger, Session } from 'fastify';
import { isRedisDown, sessionStoreUnavailable, type Redis } from '../redis/client.js';

/**
 * Staff sessions in Redis, shared by every KeyDesk instance: `<prefix>session:<id>`, expiring
 * after the idle timeout (each save starts it again). Every record carries an HMAC keyed from
 * SESSION_SECRET over its session id and JSON, so a record written by anyone else (another app
 * sharing the Redis, a person with redis-cli) or copied to another id counts as signed out: a
 * staff identity and its roles come from KeyDesk's own sign-in only. A Redis that does not answer
 * makes the page answer 503 session_store_unavailable.
 */

export interface RedisSessionStoreOptions {
  redis: Redis;
  keyPrefix: string;
  sessionSecret: string;
  idleMs: number;
  log: FastifyBaseLogger;
}

/** Its own key from SESSION_SECRET: the cookie signature and the form seal use theirs. */
const HKDF_INFO = 'keydesk redis session record v1';

export function sessionRecordKey(sessionSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionSecret, '', HKDF_INFO, 32));
}

function macOf(key: Buffer, sessionId: string, json: string): string {
  return createHmac('sha256', key).update(sessionId).update('\n').update(json).digest('base64url');
}

/** `<mac>.<json>`: the record as stored. */
export function sealSessionRecord(key: Buffer, sessionId: string, session: object): string {
  const json = JSON.stringify(session);
  return `${macOf(key, sessionId, json)}.${json}`;
}

/** The session a stored record holds, or null when it is not one KeyDesk wrote for this id. */
export function openSessionRecord(key: Buffer, sessionId: string, record: string): Session | null {
  const dot = record.indexOf('.');
  if (dot <= 0) return null;
  const json = record.slice(dot + 1);
  const sent = Buffer.from(record.slice(0, dot));
  const expected = Buffer.from(macOf(key, sessionId, json));
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return null;
  try {
    const session: unknown = JSON.parse(json);
    return typeof session === 'object' && session !== null ? (session as Session) : null;
  } catch {
    return null;
  }
}

export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { redis, log } = options;
  const key = sessionRecordKey(options.sessionSecret);
  const redisKey = (sessionId: string) => `${options.keyPrefix}session:${sessionId}`;
  const down = () => (isRedisDown(redis) ? sessionStoreUnavailable() : null);
  return {
    get(sessionId, callback) {
      const unavailable = down();
      if (unavailable) return callback(unavailable);
      redis.get(redisKey(sessionId)).then(
        (record) => {
          if (record === null) return callback(null, null);
          const session = openSessionRecord(key, sessionId, record);
          // The id is a bearer secret: never logged.
          if (session === null) log.warn('a staff session record in Redis failed its SESSION_SECRET check: treated as signed out');
          callback(null, session);
        },
        (error: unknown) => callback(sessionStoreUnavailable(error)),
      );
    },
    set(sessionId, session, callback) {
      const unavailable = down();
      if (unavailable) return callback(unavailable);
      redis.set(redisKey(sessionId), sealSessionRecord(key, sessionId, session), 'PX', options.idleMs).then(
        () => callback(),
        (error: unknown) => callback(sessionStoreUnavailable(error)),
      );
    },
    destroy(sessionId, callback) {
      const unavailable = down();
      if (unavailable) return callback(unavailable);
      redis.del(redisKey(sessionId)).then(
        () => callback(),
        (error: unknown) => callback(sessionStoreUnavailable(error)),
      );
    },
  };
}

/** Redis SCAN matches glob patterns: a prefix with `*`, `?`, `[`, `]` or a backslash must match itself only. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

/**
 * How many staff sessions Redis holds now, every instance's (SCAN, so Redis is never blocked);
 * null while Redis does not answer.
 */
export async function countRedisSessions(redis: Redis, keyPrefix: string): Promise<number | null> {
  if (isRedisDown(redis)) return null;
  const pattern = `${globLiteral(keyPrefix)}session:*`;
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}
