import type { Logger } from 'pino';
import type { AuditRecord, AuditTrail } from '../audit/types.js';
import type { AlertConfig } from '../config/alert-config.js';
import type { DatabaseConfig } from '../config/config.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import type { AlertBackend } from './alert-backend.js';
import { alertRecordOf } from './alert-facts.js';
import { alertChecks, longestWindowMs, type AlertCheck } from './alert-rules.js';
import { MemoryAlertBackend } from './memory-alerts.js';
import { PostgresAlertBackend } from './postgres-alerts.js';

/**
 * The alert rules, run after each disclosure outcome is durably recorded (the disclosure service
 * calls `observe` with the record). Evaluation is scheduled after the answer and never fails it:
 * errors are logged (an outcome record holds no password, and neither does a log line here) and
 * the alert is given up. Each alert is one `alert` record in the trail, which the outbox notifies.
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
  const running = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };
  const idle = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };
  return {
    observe(record) {
      if (alertChecks(record, config).length === 0) return;
      // After the answer: the caller's disclosure goes out before any alert is counted.
      track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => evaluate(record, config, deps)));
    },
    idle,
    async close() {
      await idle();
      await deps.backend.close();
    },
  };
}

async function evaluate(record: AuditRecord, config: AlertConfig, deps: AlertWatchDeps): Promise<void> {
  for (const check of alertChecks(record, config)) {
    try {
      await evaluateCheck(check, record, config, deps);
    } catch (error) {
      deps.logger.error({ err: error, alert: { rule: check.rule, subject: check.subject.id, auditRecordId: record.id } }, 'an alert rule could not be evaluated');
    }
  }
}

async function evaluateCheck(check: AlertCheck, record: AuditRecord, config: AlertConfig, deps: AlertWatchDeps): Promise<void> {
  const passed = check.counted ? await deps.backend.count(check, record, check.counted.limit + 1) : 1;
  if (check.counted && passed <= check.counted.limit) return;
  const atMs = Date.parse(record.time);
  if (!(await deps.backend.claim(check, atMs))) return;
  try {
    const observed = check.counted ? await deps.backend.count(check, record) : 1;
    const alert = await deps.audit.append(alertRecordOf(check, record, observed, config));
    deps.logger.info({ alert: { rule: check.rule, subject: check.subject.id, auditRecordId: alert.id } }, 'alert raised');
  } catch (error) {
    await deps.backend.release(check, atMs).catch(() => undefined);
    throw error;
  }
}
