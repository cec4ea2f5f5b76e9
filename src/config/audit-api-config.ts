import type { EnvReader } from './config.js';

/** The audit API's settings: how often the leader verifies the whole chain in the background. */

export interface AuditApiConfig {
  /** AUDIT_VERIFY_INTERVAL_MINUTES: minutes between two verifications of the chain; 0 turns them off. */
  verifyIntervalMinutes: number;
}

export function readAuditApiConfig(reader: EnvReader): AuditApiConfig {
  return {
    verifyIntervalMinutes: reader.integer(
      'AUDIT_VERIFY_INTERVAL_MINUTES',
      60,
      0,
      10_080,
      'set how many minutes pass between two background verifications of the audit chain (0 turns them off; GET /api/v1/audit/verification then says none ran)',
    ),
  };
}
