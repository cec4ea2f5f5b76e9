import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import { openFileKeyIndex } from './file-store.js';
import { openPostgresKeyIndex } from './postgres-store.js';
import type { KeyIndexStore } from './types.js';

/** The key index beside the audit store AUDIT_STORE names. */
export async function openKeyIndexStore(config: KeyDeskConfig, logger: Pick<Logger, 'warn'>): Promise<KeyIndexStore> {
  // loadConfig refuses AUDIT_STORE=postgres without DATABASE_URL.
  if (config.audit.store === 'postgres') return openPostgresKeyIndex(config.database!, logger);
  return openFileKeyIndex(config.audit.file);
}
