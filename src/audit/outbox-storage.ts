import type { ChainHead } from './chain.js';
import type { AuditRecord } from './types.js';

/**
 * Where a store keeps what the outbox (src/notify/outbox.ts) has yet to deliver. PostgreSQL: rows of
 * `keydesk.outbox`, one per record and channel, written by `keydesk.append_records` in the same
 * transaction as the record, for the channels `route` names. The file store: the trail itself,
 * read forward from a per-channel cursor file beside AUDIT_FILE.
 */

/** The channels a record is queued for (the channel names of src/notify/channel.ts). */
export type OutboxRoute = (record: AuditRecord) => readonly string[];

/** One statement, autocommitted; rejects after `timeoutMs`. */
export type OutboxSql = <R extends object>(sql: string, values: readonly unknown[], timeoutMs?: number) => Promise<R[]>;

export interface PostgresOutboxStorage {
  readonly kind: 'postgres';
  /** From now on, each appended record is queued for the channels `route` names (none before it is set). */
  route(route: OutboxRoute): void;
  sql: OutboxSql;
}

export interface FileOutboxStorage {
  readonly kind: 'file';
  /** AUDIT_FILE: the cursors are `<AUDIT_FILE>.outbox-<channel>.json`. */
  auditFile: string;
  /** The last durable record: the outbox never reads past it. */
  head(): Promise<ChainHead>;
}

export type OutboxStorage = PostgresOutboxStorage | FileOutboxStorage;
