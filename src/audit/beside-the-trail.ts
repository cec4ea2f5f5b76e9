import type { DatabaseConfig, KeyDeskConfig } from '../config/config.js';

/**
 * A feature's own store kept where AUDIT_STORE keeps the trail: PostgreSQL (DATABASE_URL), or a
 * file beside AUDIT_FILE for the single instance the file trail allows.
 */
export async function openBesideTheTrail<T>(config: KeyDeskConfig, open: { postgres(database: DatabaseConfig): T | Promise<T>; file(auditFile: string): T | Promise<T> }): Promise<T> {
  // loadConfig refuses AUDIT_STORE=postgres without DATABASE_URL.
  if (config.audit.store === 'postgres') return open.postgres(config.database!);
  return open.file(config.audit.file);
}
