import type { Logger } from 'pino';
import { isProblem } from '../problem/problem.js';

/**
 * Readiness: may this instance take disclosures? Only when its audit trail is writable, Entra's
 * OpenID configuration can be fetched (tokens can be verified) and a Graph token is held. The
 * two Entra checks run in the background, so `/readyz` answers from memory and a load balancer
 * probing it often costs Entra nothing. One failed check is a blip; the configured number in a
 * row (two by default) takes the instance out of rotation until a check passes again.
 */

export const READINESS_INTERVAL_MS = 30_000;
/** Long enough for the Graph calls of a disclosure started now to need no token round trip. */
export const GRAPH_TOKEN_MIN_VALIDITY_MS = 2 * 60_000;

/** 'pending' until the check has passed once or failed often enough to be 'failing'. */
export type CheckState = 'ok' | 'failing' | 'pending';

export interface ReadinessStatus {
  status: 'ready' | 'not_ready';
  checks: { audit: 'writable' | 'not_writable'; identityProvider: CheckState; graphToken: CheckState };
}

export interface TimerHandle {
  unref?(): unknown;
}

/** The timer functions the monitor uses; Node's by default, a manual one in tests. */
export interface ReadinessTimers {
  setInterval(run: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

export interface ReadinessMonitorOptions {
  /** Usually the token verifier's `checkIdentityProvider`. */
  checkIdentityProvider: () => Promise<void>;
  /** Usually `() => graphTokens.ensureTokenValidFor(GRAPH_TOKEN_MIN_VALIDITY_MS)`. */
  checkGraphToken: () => Promise<void>;
  /** Asked at every `status()`: the trail's state can change between background checks. */
  auditWritable: () => Promise<boolean>;
  intervalMs?: number;
  failuresBeforeNotReady?: number;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  timers?: ReadinessTimers;
}

export interface ReadinessMonitor {
  /** Runs a first round of checks at once, then one every interval; the timer keeps no process alive. */
  start(): void;
  stop(): void;
  /** Runs both background checks now (or joins the round already running). Never rejects. */
  checkNow(): Promise<void>;
  status(): Promise<ReadinessStatus>;
}

type CheckName = 'identityProvider' | 'graphToken';

const nodeTimers: ReadinessTimers = {
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export function createReadinessMonitor(options: ReadinessMonitorOptions): ReadinessMonitor {
  const intervalMs = options.intervalMs ?? READINESS_INTERVAL_MS;
  const failuresBeforeNotReady = options.failuresBeforeNotReady ?? 2;
  if (!(intervalMs > 0) || !Number.isInteger(failuresBeforeNotReady) || failuresBeforeNotReady < 1) {
    throw new RangeError('intervalMs must be positive and failuresBeforeNotReady a positive integer');
  }
  const timers = options.timers ?? nodeTimers;
  const checks = {
    identityProvider: backgroundCheck('identityProvider', options.checkIdentityProvider, failuresBeforeNotReady, options.logger),
    graphToken: backgroundCheck('graphToken', options.checkGraphToken, failuresBeforeNotReady, options.logger),
  };
  let round: Promise<void> | null = null;
  let timer: TimerHandle | null = null;

  // A round outlasting the interval (Entra slow to answer) is joined, not doubled.
  const checkNow = (): Promise<void> => {
    round ??= Promise.all([checks.identityProvider.run(), checks.graphToken.run()])
      .then(() => undefined)
      .finally(() => {
        round = null;
      });
    return round;
  };

  return {
    start() {
      if (timer) return;
      void checkNow();
      timer = timers.setInterval(() => void checkNow(), intervalMs);
      timer.unref?.();
    },
    stop() {
      if (timer) timers.clearInterval(timer);
      timer = null;
    },
    checkNow,
    async status() {
      const writable = await options.auditWritable().catch(() => false);
      const identityProvider = checks.identityProvider.state();
      const graphToken = checks.graphToken.state();
      const ready = writable && identityProvider === 'ok' && graphToken === 'ok';
      return { status: ready ? 'ready' : 'not_ready', checks: { audit: writable ? 'writable' : 'not_writable', identityProvider, graphToken } };
    },
  };
}

/** One background check and its failures in a row; it logs only when its state changes. */
function backgroundCheck(name: CheckName, check: () => Promise<void>, failuresBeforeNotReady: number, logger: ReadinessMonitorOptions['logger']) {
  let state: CheckState = 'pending';
  let failuresInARow = 0;

  const passed = () => {
    if (state === 'failing') logger.info({ readiness: { check: name, state: 'ok', after: failuresInARow } }, `readiness check recovered: ${name}`);
    state = 'ok';
    failuresInARow = 0;
  };

  const failed = (error: unknown) => {
    failuresInARow += 1;
    const why = reasonOf(error);
    if (state !== 'failing' && failuresInARow >= failuresBeforeNotReady) {
      state = 'failing';
      logger.warn({ readiness: { check: name, state, failuresInARow, ...why } }, `readiness check failing: ${name}`);
    } else {
      logger.debug({ readiness: { check: name, state, failuresInARow, ...why } }, `readiness check failed: ${name}`);
    }
  };

  return {
    state: () => state,
    async run(): Promise<void> {
      try {
        await check();
      } catch (error) {
        failed(error);
        return;
      }
      passed();
    },
  };
}

/**
 * KeyDesk's own code and detail (they name Entra's error code at most, never its description);
 * of any other error only its name, as its message could hold anything.
 */
function reasonOf(error: unknown): { problem: string; detail?: string } {
  if (isProblem(error)) return { problem: error.code, detail: error.detail };
  return { problem: error instanceof Error ? error.name : 'unknown' };
}
