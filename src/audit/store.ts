import type { CheckpointedStore } from './checkpoints/setup.js';
import type { OutboxStorage } from './outbox-storage.js';
import type { AuditTrail } from './types.js';

/**
 * An audit store as the server holds it: the trail (append, query) with its chain head and
 * checkpoint log, which the checkpointer signs. `file` is one JSON Lines file for one process;
 * `postgres` is one chain in PostgreSQL for any number of processes.
 */
export interface AuditStore extends AuditTrail, CheckpointedStore {
  readonly kind: 'file' | 'postgres';
  /** What the notification outbox delivers from (outbox-storage.ts). */
  readonly outbox: OutboxStorage;
}
