import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { KeyDeskProblem } from '../problem/problem.js';
import { graphRetriesTotal } from '../metrics/metrics.js';
import { GraphAttemptFailed, GraphCall, type GraphLogger } from './graph-call.js';

/**
 * KeyDesk's retry middleware, used instead of the SDK's RetryHandler: that one honours a
 * Retry-After of up to 180 s, while a helpdesk caller is on the phone. Everything here happens
 * within one budget measured from the first attempt; when the next wait would not fit, the call
 * fails fast with `graph_unavailable` and a Retry-After for KeyDesk's own client.
 */

export interface RetryTiming {
  /** Total time one logical call may take, waits included, from the start of its first attempt. */
  budgetMs: number;
  /** First backoff cap; doubles per attempt up to `maxDelayMs`. The wait is random in [0, cap) (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A guard against many near-zero jittered waits against a fast-failing Graph. */
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
  /** Milliseconds; only differences are used, plus HTTP-date Retry-After values (so: epoch-based). */
  now: () => number;
  /** In [0, 1), like Math.random. */
  random: () => number;
}

export const DEFAULT_RETRY_TIMING = {
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxAttempts: 8,
} as const;

const RETRYABLE_STATUS = new Set([429, 503, 504]);

// IMF-fixdate ("Wed, 25 Nov 2026 10:00:05 GMT") and the obsolete RFC 850 form ("Wednesday, 25-Nov-26 …").
const HTTP_DATE = /^[A-Za-z]+, .+ GMT$/;

type RetryReason = 'throttled' | 'unavailable' | 'timeout' | 'network';

/** Retry-After as milliseconds to wait: delay-seconds or an HTTP-date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse alone is too lenient: it reads "-1" as the year 2001.
  if (!HTTP_DATE.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/** Seconds for a Retry-After header KeyDesk sends: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export class BoundedRetryHandler implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly timing: RetryTiming,
    private readonly logger: GraphLogger,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new TypeError('BoundedRetryHandler has no next middleware');
    const call = GraphCall.of(context);
    const { budgetMs, baseDelayMs, maxDelayMs, maxAttempts, sleep, now, random } = this.timing;
    const started = now();

    for (let attempt = 1; ; attempt++) {
      call.attempts = attempt;
      let reason: RetryReason;
      let detail: string;
      let serverWaitMs: number | null = null;
      try {
        await this.next.execute(context);
        const status = context.response?.status ?? 0;
        if (!RETRYABLE_STATUS.has(status)) return;
        reason = status === 429 ? 'throttled' : 'unavailable';
        detail = status === 429 ? 'throttled KeyDesk (429)' : `was unavailable (${status})`;
        // Graph sends Retry-After with 429 and sometimes with 503; its own number beats our guess.
        serverWaitMs = parseRetryAfter(context.response?.headers.get('retry-after'), now());
      } catch (error) {
        if (!(error instanceof GraphAttemptFailed)) throw error;
        reason = error.kind;
        detail = error.message;
        context.response = undefined;
      }

      const backoffCapMs = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const waitMs = serverWaitMs ?? Math.floor(random() * backoffCapMs);
      const remainingMs = budgetMs - (now() - started);
      if (attempt >= maxAttempts || waitMs > remainingMs) {
        const retryAfter = retryAfterSeconds(serverWaitMs ?? Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
        throw new KeyDeskProblem(
          'graph_unavailable',
          `Microsoft Graph ${detail}; KeyDesk gave up after ${attempt} attempt${attempt === 1 ? '' : 's'} ` +
            `within its ${budgetMs} ms retry budget. Try again in ${retryAfter} s.`,
          {
            headers: { 'Retry-After': String(retryAfter) },
            extensions: { graphAttempts: attempt, graphFailure: reason },
          },
        );
      }
      this.logger.debug(
        { graph: { operation: call.operation, clientRequestId: call.clientRequestId, attempt, reason, waitMs } },
        'retrying Graph call',
      );
      graphRetriesTotal.inc();
      await sleep(waitMs);
    }
  }
}
