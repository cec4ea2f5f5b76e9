import fp from 'fastify-plugin';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { refusal } from '../../disclosure/wording.js';

/**
 * Rate limits, fixed one-minute windows (@fastify/rate-limit). Routes opt in with
 * `config.rateLimit` (see `perMinute`). One store serves every route, so one key counts across
 * doors: a staff member's reveals in the web UI and through a delegated API client share
 * `staff-disclosures:<oid>`. The store holds at most MAX_KEYS keys (oldest dropped first), so no
 * client, anonymous or not, can grow it without bound.
 */

export const WINDOW_MS = 60_000;

/** One count per staff member for reveals, whichever door (web UI, a listed delegated API client). */
export function staffDisclosuresKey(oid: string | null): string {
  return `staff-disclosures:${oid ?? 'unknown'}`;
}
const MAX_KEYS = 10_000;

interface Window {
  current: number;
  startedAt: number;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** A store class for @fastify/rate-limit whose children are itself: one count per key for all routes. */
export function sharedWindowStore(now: () => number) {
  return class SharedWindowStore {
    readonly #windows = new Map<string, Window>();

    // @fastify/rate-limit passes the route's window too; its type declarations leave it out.
    incr(key: string, callback: IncrCallback, timeWindow: number = WINDOW_MS): void {
      const at = now();
      let window = this.#windows.get(key);
      if (window === undefined || at - window.startedAt >= timeWindow) {
        window = { current: 0, startedAt: at };
        this.#windows.delete(key);
        if (this.#windows.size >= MAX_KEYS) this.#windows.delete(this.#windows.keys().next().value!);
      }
      window.current += 1;
      this.#windows.set(key, window);
      callback(null, { current: window.current, ttl: timeWindow - (at - window.startedAt) });
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

async function rateLimits(app: FastifyInstance, options: { now: () => number }): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    store: sharedWindowStore(options.now),
    errorResponseBuilder: (_request, context) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return refusal('rate_limited', { retryAfterSeconds }, { headers: { 'retry-after': String(retryAfterSeconds) } });
    },
  });
}

export default fp(rateLimits, { name: 'rate-limit', fastify: '5.x' });
