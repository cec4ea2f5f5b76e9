import type { AuditRecord } from '../audit/types.js';
import type { AlertCheck } from './alert-rules.js';

/**
 * Where the alert rules count and remember which alerts they raised: process memory for the file
 * store (one process), PostgreSQL for any number of instances (postgres-alerts.ts).
 */
export interface AlertBackend {
  /**
   * True when `count` reads committed records (PostgreSQL): a record need not be shown for its
   * own sake, so a subject's later record may stand for an earlier one. False when the backend
   * counts the records it is shown (memory): each must be.
   */
  readonly countsTheTrail: boolean;
  /**
   * How many disclosure records of the check's outcome about its subject fall within the window
   * ending at `record` (inclusive), `record` itself counted: it is durable before it is counted.
   * With `atMost`, counting may stop there: whether the limit is passed is all that is asked of
   * every record, so a busy subject costs no more than its threshold (the exact count is asked
   * only for the alert that is raised).
   */
  count(check: AlertCheck, record: AuditRecord, atMost?: number): Promise<number>;
  /**
   * True for the one caller, across every instance, that may raise this rule about this subject
   * at `atMs`: no alert of it was claimed within the rule's window before.
   */
  claim(check: AlertCheck, atMs: number): Promise<boolean>;
  /**
   * When the claim that refused one is held since (ms), or null when unknown: a process that
   * learns it skips the subject's records until the window ends instead of counting each.
   */
  claimedAt(check: AlertCheck): Promise<number | null>;
  /** Gives a claim back when its alert record could not be written, so a later record may raise it. */
  release(check: AlertCheck, atMs: number): Promise<void>;
  close(): Promise<void>;
}

export const claimKey = (check: Pick<AlertCheck, 'rule' | 'subject'>): string => `${check.rule}|${check.subject.id}`;
