import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import { fileCheckpointLog } from './checkpoints/setup.js';
import { openFileAuditTrail, type FileAuditTrail } from './file/file-audit-trail.js';
import { openPostgresAuditStore } from './postgres/open.js';
import type { AuditStore } from './store.js';
import { fileVerificationLog } from './verification/chain-verification.js';

/**
 * The audit store AUDIT_STORE names, open: the file trail (AUDIT_FILE) or PostgreSQL
 * (DATABASE_URL). `logger` should log at info whatever LOG_LEVEL says: the chain head in the
 * service log is how a trail cut short at its end is noticed.
 */
export async function openAuditStore(config: KeyDeskConfig, logger: Logger): Promise<AuditStore> {
  const { audit } = config;
  if (audit.store === 'postgres') {
    // loadConfig refuses AUDIT_STORE=postgres without DATABASE_URL.
    return openPostgresAuditStore(config.database!, { hmacKey: audit.hmacKey, logger });
  }
  const trail = await openFileAuditTrail({ file: audit.file, hmacKey: audit.hmacKey, logger, lockWaitSeconds: audit.fileLockWaitSeconds });
  return fileAuditStore(trail, audit.file);
}

/** The file trail as a store: its head, and its checkpoints in `<AUDIT_FILE>.checkpoints.jsonl`. */
export function fileAuditStore(trail: FileAuditTrail, auditFile: string): AuditStore {
  return {
    kind: 'file',
    append: (entry) => trail.append(entry),
    query: (filter, page) => trail.query(filter, page),
    findRecord: (id) => trail.findRecord(id),
    exportRecords: (filter) => trail.exportRecords(filter),
    isWritable: () => trail.isWritable(),
    close: () => trail.close(),
    head: async () => trail.head(),
    checkpoints: fileCheckpointLog(auditFile),
    // One process per audit file; kept beside the trail so that a restart still shows the latest.
    verifications: fileVerificationLog(auditFile),
    outbox: { kind: 'file', auditFile, head: async () => trail.head() },
  };
}
