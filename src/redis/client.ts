import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';

/**
 * KeyDesk's one Redis client per process, for what several instances must share: staff sessions,
 * rate-limit counters and one-time reveal form tokens. Redis holds short-lived state only; the
 * audit trail never goes there. Every command is bounded, so a Redis that stops answering costs a
 * page at most about a second before it says so (`session_store_unavailable`), never a hang.
 */

export type { Redis };

/** The client and the prefix of every key KeyDesk writes (REDIS_KEY_PREFIX), as the shared-state users take them. */
export interface SharedRedis {
  redis: Redis;
  keyPrefix: string;
}

/** A command not answered within this fails; the page that needed it answers 503. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;

/** How long a browser is told to wait before trying a page again while Redis does not answer. */
const RETRY_AFTER_SECONDS = 5;

export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  // A command waiting for a reconnection fails at the next failed attempt rather than queueing
  // for the default 20: the page answers, and the rate limits count in memory meanwhile.
  maxRetriesPerRequest: 1,
  connectTimeout: 1_000,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
};

export function createRedisClient(config: RedisConfig, logger: Logger): Redis {
  for (const warning of connectionWarnings(config.url)) logger.warn(warning);
  const redis = new Redis(config.url, REDIS_CLIENT_OPTIONS);
  reportOutages(redis, logger, hostOf(config.url));
  return redis;
}

/**
 * True while the client knows Redis is gone (between reconnection attempts, or closed): callers
 * then fail at once instead of queueing a command for the timeout. During the first connection a
 * command waits for it (bounded by REDIS_COMMAND_TIMEOUT_MS).
 */
export function isRedisDown(redis: Redis): boolean {
  return redis.status === 'reconnecting' || redis.status === 'close' || redis.status === 'end';
}

/** What a page answers when a staff session (or a one-time form) cannot be read or written. */
export function sessionStoreUnavailable(cause?: unknown): KeyDeskProblem {
  return new KeyDeskProblem(
    'session_store_unavailable',
    `KeyDesk cannot reach its session store (Redis) right now, so it cannot tell who is signed in. Try again in ${RETRY_AFTER_SECONDS} seconds; if it persists, tell the KeyDesk operators (REDIS_URL).`,
    { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) }, cause },
  );
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** What an operator should hear at start-up about REDIS_URL: staff sessions cross the network to it. */
export function connectionWarnings(url: string): string[] {
  const parsed = new URL(url);
  if (isLoopback(parsed.hostname)) return [];
  const warnings: string[] = [];
  if (parsed.protocol === 'redis:') {
    warnings.push(`REDIS_URL connects to ${parsed.host} without TLS: staff sessions cross the network in clear text. Use rediss:// (Redis with TLS).`);
  }
  if (parsed.password === '') {
    warnings.push(`REDIS_URL connects to ${parsed.host} without a password: anyone who reaches it can read and end staff sessions. Set one (rediss://:password@host:port).`);
  }
  return warnings;
}

/** Host and port only: the URL may hold a password. */
function hostOf(url: string): string {
  return new URL(url).host;
}

/** One log line when Redis stops answering and one when it answers again, however often ioredis retries. */
function reportOutages(redis: Redis, logger: Logger, host: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.error({ redis: host, err: { message: error.message } }, 'Redis does not answer: staff pages answer 503 session_store_unavailable and rate limits count in memory until it does');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ redis: host }, 'Redis answers again');
  });
}
