import type { AuditRecord } from '../audit/types.js';
import type { AlertConfig } from '../config/alert-config.js';
import type { AlertRule } from './alert-entry.js';
import { localTime, withinBusinessHours, type LocalTime } from './business-hours.js';

/**
 * Which alert rules a disclosure outcome record concerns, as plain data: for each, the subject it
 * is about, the window, and (for a counting rule) what is counted and how many are normal. The
 * watch (alert-watch.ts) counts and raises; nothing here does I/O.
 */

/** The indexed column of keydesk.audit_records a subject is counted by (values lower-cased). */
export type SubjectColumn = 'agent_upn' | 'caller_oid' | 'caller_app_id' | 'device_id';

export interface AlertSubject {
  /** `agent:<upn>`, `staff:<oid>`, `app:<appId>` or `device:<deviceId>`: what the alert names and dedupes by. */
  id: string;
  column: SubjectColumn;
  /** Lower-cased, as the column holds it. */
  value: string;
  /** Count only records of app-only tokens (an app's own disclosures, not staff through that client). */
  appOnly: boolean;
}

export interface AlertCheck {
  rule: AlertRule;
  subject: AlertSubject;
  /** The sliding window counted, and the least time between two alerts of this rule about this subject. */
  windowMs: number;
  /** Counting rules: alert when more than `limit` records of `outcome` fall in the window. Null: this record alone alerts. */
  counted: { outcome: 'granted' | 'refused'; limit: number } | null;
  /** outside_business_hours: the local time that set it off. */
  local?: LocalTime;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
/** Out-of-hours disclosures alert at most once an hour per agent or app: each one would be noise. */
export const OUTSIDE_HOURS_WINDOW_MS = HOUR_MS;
export const REFUSALS_WINDOW_MS = 10 * MINUTE_MS;

function subject(prefix: string, column: SubjectColumn, value: string, appOnly = false): AlertSubject {
  const lower = value.toLowerCase();
  return { id: `${prefix}:${lower}`, column, value: lower, appOnly };
}

/** The agent a disclosure was for: agentUpn (every door records it), else a staff caller's object id. */
function agentOf(record: AuditRecord): AlertSubject | null {
  if (record.agentUpn) return subject('agent', 'agent_upn', record.agentUpn);
  if (record.caller?.kind === 'user' && record.caller.oid) return subject('staff', 'caller_oid', record.caller.oid);
  return null;
}

/** The app of an app-only token (a ticketing system calling the API as itself). */
function appOf(record: AuditRecord): AlertSubject | null {
  return record.caller?.kind === 'app' && record.caller.appId ? subject('app', 'caller_app_id', record.caller.appId, true) : null;
}

/** Who asked: a staff member by object id, an app-only token by app id. */
function callerOf(record: AuditRecord): AlertSubject | null {
  if (record.caller?.kind === 'user' && record.caller.oid) return subject('staff', 'caller_oid', record.caller.oid);
  return appOf(record);
}

function present<T>(value: T | null): value is T {
  return value !== null;
}

export function alertChecks(record: AuditRecord, config: AlertConfig): AlertCheck[] {
  if (record.action !== 'disclosure') return [];
  if (record.outcome === 'granted') return grantedChecks(record, config);
  if (record.outcome === 'refused' && config.refusalsPer10Minutes > 0) {
    const caller = callerOf(record);
    if (caller) return [{ rule: 'refusals_per_10_minutes', subject: caller, windowMs: REFUSALS_WINDOW_MS, counted: { outcome: 'refused', limit: config.refusalsPer10Minutes } }];
  }
  return [];
}

function grantedChecks(record: AuditRecord, config: AlertConfig): AlertCheck[] {
  const checks: AlertCheck[] = [];
  const actors = [agentOf(record), appOf(record)].filter(present);
  if (config.disclosuresPerHour > 0) {
    for (const actor of actors) checks.push({ rule: 'disclosures_per_hour', subject: actor, windowMs: HOUR_MS, counted: { outcome: 'granted', limit: config.disclosuresPerHour } });
  }
  const deviceId = record.device?.deviceId;
  if (config.repeatDeviceHours > 0 && deviceId) {
    checks.push({ rule: 'repeat_device', subject: subject('device', 'device_id', deviceId), windowMs: config.repeatDeviceHours * HOUR_MS, counted: { outcome: 'granted', limit: 1 } });
  }
  const hours = config.businessHours;
  if (hours !== null && actors.length > 0) {
    const local = localTime(new Date(record.time), hours.timeZone);
    // One alert per disclosure: about the agent when known, else the app.
    if (!withinBusinessHours(local, hours)) checks.push({ rule: 'outside_business_hours', subject: actors[0]!, windowMs: OUTSIDE_HOURS_WINDOW_MS, counted: null, local });
  }
  return checks;
}

/** The longest window any rule of `config` looks back over (what the file store's memory keeps). */
export function longestWindowMs(config: AlertConfig): number {
  return Math.max(HOUR_MS, REFUSALS_WINDOW_MS, config.repeatDeviceHours * HOUR_MS);
}
