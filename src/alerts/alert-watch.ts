import type { Logger } from 'pino';
import type { AuditRecord, AuditTrail } from '../audit/types.js';
import type { AlertConfig } from '../config/alert-config.js';
import type { DatabaseConfig } from '../config/config.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import { latestPerKey } from '../jobs/latest-per-key.js';
import { claimKey, type AlertBackend } from './alert-backend.js';
import { alertRecordOf } from './alert-facts.js';
import { alertChecks, longestWindowMs, type AlertCheck } from './alert-rules.js';
import { MemoryAlertBackend } from './memory-alerts.js';
import { PostgresAlertBackend } from './postgres-alerts.js';

/**
 * The alert rules, run after each disclosure outcome is durably recorded (the disclosure service
 * calls `observe` with the record). Evaluation is scheduled after the answer and never fails it:
 * errors are logged (an outcome record holds no password, and neither does a log line here) and
 * the alert is given up. Each alert is one `alert` record in the trail, which the outbox notifies.
 *
 * On PostgreSQL, which counts committed records, each rule and subject is evaluated one record at
 * a time, the latest record waiting (a busy subject's later record counts its window as well as
 * an earlier one would), with no more evaluations at once than the alerts' pool has connections.
 * Once a rule is claimed about a subject, its later records inside the claim's window are not
 * counted at all: no alert could be raised from them, so a busy ticketing app past its threshold
 * costs no statement per disclosure. In memory (the file store) every record is counted: that
 * backend counts what it is shown.
 */

export interface AlertWatch {
  /** Takes a durable disclosure outcome record; returns at once. */
  observe(record: AuditRecord): void;
  /** Resolves once every evaluation observed so far has finished (tests, shutdown). */
  idle(): Promise<void>;
  /** Waits for evaluations in flight, then releases the backend (a database pool). */
  close(): Promise<void>;
}

export interface AlertWatchDeps {
  audit: Pick<AuditTrail, 'append' | 'query'>;
  backend: AlertBackend;
  logger: Pick<Logger, 'warn' | 'error' | 'info'>;
}

/** Connections of the alerts' own pool on PostgreSQL: counting and claiming are short statements. */
const ALERT_POOL_MAX = 2;

/** Evaluations at once in memory, where each is a few microseconds of this thread. */
const MEMORY_CONCURRENCY = 16;

/** Claims remembered beyond this many are pruned of those whose window has ended. */
const HELD_PRUNE_AT = 10_000;

/** The backend the audit store calls for: PostgreSQL (counted across instances) or this process's memory. */
export function alertBackendFor(
  config: AlertConfig,
  database: DatabaseConfig | null,
  deps: { audit: Pick<AuditTrail, 'query'>; now: () => number; logger: Pick<Logger, 'warn'> },
): AlertBackend {
  if (database !== null) return new PostgresAlertBackend(createAuditPool({ url: database.url, poolMax: ALERT_POOL_MAX }, deps.logger), database.url);
  return new MemoryAlertBackend({ audit: deps.audit, now: deps.now, longestWindowMs: longestWindowMs(config), checksOf: (record) => alertChecks(record, config), logger: deps.logger });
}

export function createAlertWatch(config: AlertConfig, deps: AlertWatchDeps): AlertWatch {
  const trail = deps.backend.countsTheTrail;
  const held = new ClaimsHeld(trail);
  const queue = latestPerKey<{ check: AlertCheck; record: AuditRecord }>(({ check, record }) => evaluate(check, record, config, { ...deps, held }), {
    concurrency: trail ? ALERT_POOL_MAX : MEMORY_CONCURRENCY,
    onError: (error) => deps.logger.error({ err: error }, 'an alert rule could not be evaluated'),
  });
  return {
    observe(record) {
      for (const check of alertChecks(record, config)) {
        if (held.covers(check, Date.parse(record.time))) continue;
        queue.submit(trail ? claimKey(check) : `${claimKey(check)}|${record.id}`, { check, record });
      }
    },
    idle: () => queue.idle(),
    async close() {
      await queue.idle();
      await deps.backend.close();
    },
  };
}

/**
 * Until when each rule about each subject is claimed (by this process or, learnt from a refused
 * claim, another). Only where counts come from the trail: in memory a skipped record would be
 * missing from the next window's count.
 */
class ClaimsHeld {
  readonly #until = new Map<string, number>();
  readonly #enabled: boolean;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  covers(check: AlertCheck, atMs: number): boolean {
    return (this.#until.get(claimKey(check)) ?? -Infinity) > atMs;
  }

  /** `atMs`: the time of the record evaluated, the clock the windows are measured by. */
  remember(check: AlertCheck, claimedAtMs: number | null, atMs: number): void {
    if (!this.#enabled || claimedAtMs === null || !Number.isFinite(claimedAtMs)) return;
    if (this.#until.size >= HELD_PRUNE_AT) {
      for (const [key, until] of this.#until) if (until <= atMs) this.#until.delete(key);
    }
    this.#until.set(claimKey(check), claimedAtMs + check.windowMs);
  }
}

async function evaluate(check: AlertCheck, record: AuditRecord, config: AlertConfig, deps: AlertWatchDeps & { held: ClaimsHeld }): Promise<void> {
  // After the answer: the caller's disclosure goes out before any alert is counted.
  await new Promise<void>((resolve) => setImmediate(resolve));
  try {
    await evaluateCheck(check, record, config, deps);
  } catch (error) {
    deps.logger.error({ err: error, alert: { rule: check.rule, subject: check.subject.id, auditRecordId: record.id } }, 'an alert rule could not be evaluated');
  }
}

async function evaluateCheck(check: AlertCheck, record: AuditRecord, config: AlertConfig, deps: AlertWatchDeps & { held: ClaimsHeld }): Promise<void> {
  const atMs = Date.parse(record.time);
  if (deps.held.covers(check, atMs)) return;
  const passed = check.counted ? await deps.backend.count(check, record, check.counted.limit + 1) : 1;
  if (check.counted && passed <= check.counted.limit) return;
  if (!(await deps.backend.claim(check, atMs))) {
    deps.held.remember(check, await deps.backend.claimedAt(check), atMs);
    return;
  }
  try {
    const observed = check.counted ? await deps.backend.count(check, record) : 1;
    const alert = await deps.audit.append(alertRecordOf(check, record, observed, config));
    deps.held.remember(check, atMs, atMs);
    deps.logger.info({ alert: { rule: check.rule, subject: check.subject.id, auditRecordId: alert.id } }, 'alert raised');
  } catch (error) {
    await deps.backend.release(check, atMs).catch(() => undefined);
    throw error;
  }
}
