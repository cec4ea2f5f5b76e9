/**
 * The misbehaviour a real tenant shows now and then, on demand: added latency, throttling (429
 * with Retry-After), bursts of 503/504 and single slow answers. Each Graph request, including
 * each request inside a $batch, consumes the faults in force when it arrives.
 */

export interface InjectedFault {
  status: 429 | 503 | 504;
  retryAfterSeconds: number | null;
}

export interface FaultDecision {
  fault: InjectedFault | null;
  /** Extra delay before this request is answered (slowNext), not counting the general latency. */
  delayMs: number;
}

export interface ThrottleOptions {
  requests?: number;
  forMs?: number;
  retryAfterSeconds: number;
}

export interface FailOptions {
  requests: number;
  status?: 503 | 504;
  retryAfterSeconds?: number;
}

export interface SlowOptions {
  requests: number;
  delayMs: number;
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number of at least 0, not ${value}`);
  return value;
}

export class FaultInjector {
  latencyMs = 0;
  private throttleRemaining = 0;
  private throttleUntil = 0;
  private throttleRetryAfter = 0;
  private failRemaining = 0;
  private failStatus: 503 | 504 = 503;
  private failRetryAfter: number | null = null;
  private slowRemaining = 0;
  private slowDelayMs = 0;

  constructor(private readonly now: () => number) {}

  setLatency(ms: number): void {
    this.latencyMs = count('latency', ms);
  }

  throttle(options: ThrottleOptions): void {
    if (options.requests === undefined && options.forMs === undefined) throw new TypeError('throttle needs `requests` or `forMs`');
    this.throttleRetryAfter = count('retryAfterSeconds', options.retryAfterSeconds);
    this.throttleRemaining = count('requests', options.requests ?? 0);
    this.throttleUntil = options.forMs === undefined ? 0 : this.now() + count('forMs', options.forMs);
  }

  failNext(options: FailOptions): void {
    this.failRemaining = count('requests', options.requests);
    this.failStatus = options.status ?? 503;
    this.failRetryAfter = options.retryAfterSeconds === undefined ? null : count('retryAfterSeconds', options.retryAfterSeconds);
  }

  slowNext(options: SlowOptions): void {
    this.slowRemaining = count('requests', options.requests);
    this.slowDelayMs = count('delayMs', options.delayMs);
  }

  reset(): void {
    this.latencyMs = 0;
    this.throttleRemaining = 0;
    this.throttleUntil = 0;
    this.failRemaining = 0;
    this.slowRemaining = 0;
  }

  /** What happens to the Graph request arriving now. Cheap when no fault is armed. */
  take(): FaultDecision {
    let delayMs = 0;
    if (this.slowRemaining > 0) {
      this.slowRemaining--;
      delayMs = this.slowDelayMs;
    }
    if (this.throttleRemaining > 0 || (this.throttleUntil !== 0 && this.now() < this.throttleUntil)) {
      if (this.throttleRemaining > 0) this.throttleRemaining--;
      return { fault: { status: 429, retryAfterSeconds: this.throttleRetryAfter }, delayMs };
    }
    if (this.failRemaining > 0) {
      this.failRemaining--;
      return { fault: { status: this.failStatus, retryAfterSeconds: this.failRetryAfter }, delayMs };
    }
    return { fault: null, delayMs };
  }
}
