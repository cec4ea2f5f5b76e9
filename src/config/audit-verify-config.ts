import { ConfigError, readAuditHmacKey } from './config.js';

/**
 * The slice of the configuration `npm run audit:verify` needs. It reads AUDIT_HMAC_KEY by the
 * same rule as `loadConfig`, so the verifier keys the HMAC exactly as the service did.
 */

export type AuditVerifyEnv = Record<string, string | undefined>;

export interface AuditVerifyConfig {
  /** Null when AUDIT_HMAC_KEY is unset: the trail is then expected to be plain SHA-256. */
  hmacKey: Buffer | null;
}

export function loadAuditVerifyConfig(env: AuditVerifyEnv = process.env): AuditVerifyConfig {
  const hmacKey = readAuditHmacKey(env);
  // The service refuses such a key, so it cannot be the one the trail was written with.
  if (typeof hmacKey === 'string') throw new ConfigError([hmacKey]);
  return { hmacKey };
}
