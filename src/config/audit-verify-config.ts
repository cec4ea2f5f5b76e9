import { ConfigError, readAuditHmacKey, withoutPassword } from './config.js';

/**
 * The slice of the configuration the audit tools (`npm run audit:verify`, `audit:export`,
 * `audit:import`) need. It reads AUDIT_HMAC_KEY by the same rule as `loadConfig`, so the verifier
 * keys the HMAC exactly as the service did.
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

const DATABASE_URL_HOW = 'use a PostgreSQL connection URL, e.g. postgres://keydesk@db.contoso.com:5432/keydesk?sslmode=verify-full';

/**
 * The database the audit tools (`audit:verify`, `audit:export`, `audit:import`) work on: the
 * `--database-url` given on the command line, else DATABASE_URL; null when neither is set.
 * Throws a ConfigError (never showing the password) for a URL that is not PostgreSQL's.
 */
export function readToolDatabaseUrl(flag: string | undefined, env: AuditVerifyEnv = process.env): string | null {
  const fromFlag = flag !== undefined;
  const raw = (fromFlag ? flag : env.DATABASE_URL)?.trim();
  if (raw === undefined || raw === '') {
    if (fromFlag) throw new ConfigError([`--database-url is empty: ${DATABASE_URL_HOW}`]);
    return null;
  }
  let scheme: string | null = null;
  try {
    scheme = new URL(raw).protocol;
  } catch {
    // reported below
  }
  if (scheme !== 'postgres:' && scheme !== 'postgresql:') {
    const name = fromFlag ? '--database-url' : 'DATABASE_URL';
    throw new ConfigError([`${name}=${JSON.stringify(withoutPassword(raw))} is not valid: ${DATABASE_URL_HOW}`]);
  }
  return raw;
}
