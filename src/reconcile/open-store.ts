import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import { openFileReconciliationStore } from './file-store.js';
import { openPostgresReconciliationStore } from './postgres-store.js';
import type { ReconciliationStore } from './types.js';

/** The reconciliation's store beside the audit store AUDIT_STORE names. */
export async function openReconciliationStore(config: KeyDeskConfig, logger: Pick<Logger, 'warn'>): Promise<ReconciliationStore> {
  // loadConfig refuses AUDIT_STORE=postgres without DATABASE_URL.
  if (config.audit.store === 'postgres') return openPostgresReconciliationStore(config.database!, logger);
  return openFileReconciliationStore(config.audit.file);
}
