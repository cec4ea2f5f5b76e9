import { createRequire } from 'node:module';
import fp from 'fastify-plugin';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { refusal } from '../../disclosure/wording.js';
import { isRedisDown, type Redis, type SharedRedis } from '../../redis/client.js';
import { rateLimitedTotal } from '../../metrics/metrics.js';

/**
 * Rate limits, fixed one-minute windows (@fastify/rate-limit). Routes opt in with
 * `config.rateLimit` (see `perMinute`). One store serves every route, so one key counts across
 * doors: a staff member's reveals in the web UI and through a delegated API client share
 * `staff-disclosures:<oid>`. It keeps two pools of at most MAX_KEYS windows each (oldest dropped
 * first): one for anonymous client addresses, one for callers who signed in or presented a
 * token, so that no one grows it without bound and a flood of addresses cannot push a staff
 * member's or an app's count out. With Redis (REDIS_URL) the counts live there, shared by every
 * instance; while Redis does not answer, each instance counts in that same memory store instead:
 * the limits never fail open.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route records every attempt of a known caller, refusals included (the disclosure doors). */
    recordsRefusals?: boolean;
  }
}

export const WINDOW_MS = 60_000;

/** One count per staff member for reveals, whichever door (web UI, a listed delegated API client). */
export function staffDisclosuresKey(oid: string | null): string {
  return `staff-disclosures:${oid ?? 'unknown'}`;
}

const ANONYMOUS = 'anonymous:';

/**
 * One count per client address for anonymous traffic; an IPv6 address counts by its /64, since one
 * client usually holds a whole /64.
 */
export function anonymousKey(name: string, address: string): string {
  const v6 = address.includes(':') ? address.split(':').slice(0, 4).join(':') : address;
  return `${ANONYMOUS}${name}:${v6}`;
}

/** The limits, as `keydesk_rate_limited_total{limit}` names them: the key's kind, never whose key it is. */
const LIMITS: ReadonlySet<string> = new Set(['disclosures', 'staff-disclosures', 'searches', 'sign-ins']);

export function limitOf(key: string): string {
  const kind = (key.startsWith(ANONYMOUS) ? key.slice(ANONYMOUS.length) : key).split(':')[0]!;
  return LIMITS.has(kind) ? kind : 'other';
}

const MAX_KEYS = 10_000;

class WindowPool {
  readonly #windows = new Map<string, Window>();

  hit(key: string, at: number, timeWindow: number): Window {
    let window = this.#windows.get(key);
    if (window === undefined || at - window.startedAt >= timeWindow) {
      window = { current: 0, startedAt: at };
      this.#windows.delete(key);
      if (this.#windows.size >= MAX_KEYS) this.#windows.delete(this.#windows.keys().next().value!);
    }
    window.current += 1;
    this.#windows.set(key, window);
    return window;
  }
}

interface Window {
  current: number;
  startedAt: number;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** A store class for @fastify/rate-limit whose children are itself: one count per key for all routes. */
export function sharedWindowStore(now: () => number) {
  return class SharedWindowStore {
    readonly #anonymous = new WindowPool();
    readonly #accountable = new WindowPool();

    // @fastify/rate-limit passes the route's window too; its type declarations leave it out.
    incr(key: string, callback: IncrCallback, timeWindow: number = WINDOW_MS): void {
      const at = now();
      const window = (key.startsWith(ANONYMOUS) ? this.#anonymous : this.#accountable).hit(key, at, timeWindow);
      callback(null, { current: window.current, ttl: timeWindow - (at - window.startedAt) });
    }

    child(): this {
      return this;
    }
  };
}

interface RedisStoreInstance {
  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void;
}
type RedisStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => RedisStoreInstance;

// The plugin's own Redis store (INCR, and PEXPIRE on a window's first hit, in one Lua script),
// taken directly: through the plugin's `redis` option each route would get its own key (its
// child() adds the route), and KeyDesk counts one key across doors.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as RedisStoreClass;

/** Says once that the counts moved to memory, and once that they are back in Redis. */
class CounterPlace {
  #inMemory = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  memory(reason: string): void {
    if (this.#inMemory) return;
    this.#inMemory = true;
    this.log.warn({ reason }, "rate limits are counted in this instance's memory while Redis does not answer (the same limits, per instance)");
  }

  redis(): void {
    if (!this.#inMemory) return;
    this.#inMemory = false;
    this.log.info('rate limits are counted in Redis again');
  }
}

/**
 * A store class for @fastify/rate-limit over Redis (`<prefix>rate-limit:<key>`), fixed windows as
 * in memory, one count per key for all routes; the in-memory store stands in while Redis is down.
 */
export function redisWindowStore(shared: SharedRedis, now: () => number, log: FastifyBaseLogger) {
  const MemoryStore = sharedWindowStore(now);
  return class RedisWindowStore {
    readonly #redis = new RedisStore(false, false, shared.redis, `${shared.keyPrefix}rate-limit:`);
    readonly #memory = new MemoryStore();
    readonly #place = new CounterPlace(log);

    incr(key: string, callback: IncrCallback, timeWindow: number = WINDOW_MS, max: number = 0): void {
      if (isRedisDown(shared.redis)) {
        this.#place.memory(`the Redis client is ${shared.redis.status}`);
        return this.#memory.incr(key, callback, timeWindow);
      }
      this.#redis.incr(
        key,
        (error, result) => {
          if (error || !result) {
            this.#place.memory(error?.message ?? 'no answer');
            return this.#memory.incr(key, callback, timeWindow);
          }
          this.#place.redis();
          callback(null, result);
        },
        timeWindow,
        max,
      );
    }

    child(): this {
      return this;
    }
  };
}

/**
 * A route's `config.rateLimit`: at most `max(request)` requests per minute per `key(request)`;
 * a max of 0 means no limit (RATE_LIMIT_*=0).
 */
export function perMinute(options: {
  max: (request: FastifyRequest) => number;
  key: (request: FastifyRequest) => string;
  /** Counts only the requests this accepts (default: all). */
  counts?: (request: FastifyRequest) => boolean;
  hook?: RateLimitOptions['hook'];
}): RateLimitOptions {
  return {
    max: (request) => options.max(request),
    timeWindow: WINDOW_MS,
    keyGenerator: options.key,
    allowList: (request) => options.max(request) <= 0 || (options.counts !== undefined && !options.counts(request)),
    hook: options.hook ?? 'preHandler',
  };
}

export interface RateLimitPluginOptions {
  now: () => number;
  /** Where the counts live when several instances share them; null: this instance's memory. */
  shared: SharedRedis | null;
}

async function rateLimits(app: FastifyInstance, options: RateLimitPluginOptions): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    store: options.shared ? redisWindowStore(options.shared, options.now, app.log) : sharedWindowStore(options.now),
    onExceeded: (_request, key) => rateLimitedTotal.inc({ limit: limitOf(key) }),
    errorResponseBuilder: (request, context) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000));
      const recorded = request.routeOptions.config.recordsRefusals === true;
      return refusal('rate_limited', { retryAfterSeconds, recorded }, { headers: { 'retry-after': String(retryAfterSeconds) } });
    },
  });
}

export default fp(rateLimits, { name: 'rate-limit', fastify: '5.x' });
