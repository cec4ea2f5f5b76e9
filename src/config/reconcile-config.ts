import type { EnvReader } from './config.js';

/**
 * RECONCILE_*: how often the leader compares KeyDesk's disclosures with Entra's own audit log of
 * recovery-key reads, and how long a granted disclosure may wait for its Entra event.
 */
export interface ReconcileConfig {
  /** Minutes between runs; 0 turns the periodic run off (`POST …/reconciliation/run` still works). */
  intervalMinutes: number;
  /** A granted disclosure with no Entra event this long after it is reported as missing in Entra. */
  graceMinutes: number;
}

export function readReconcileConfig(reader: EnvReader): ReconcileConfig {
  return {
    intervalMinutes: reader.integer(
      'RECONCILE_INTERVAL_MINUTES',
      15,
      0,
      1_440,
      'set how often the leader reads Entra\'s "Read BitLocker key" events, in minutes (0 turns the periodic run off)',
    ),
    graceMinutes: reader.integer(
      'RECONCILE_GRACE_MINUTES',
      60,
      1,
      10_080,
      'set how long a granted disclosure may wait for its Entra audit event before it is reported missing, in minutes (Entra delivers events with some minutes of delay)',
    ),
  };
}
