import type { OutboxSql } from '../audit/outbox-storage.js';
import { normaliseAuditRecord } from '../audit/query.js';
import type { ChannelName } from './channel.js';
import type { OutboxQueue, PendingNotification } from './outbox.js';

/**
 * The outbox in PostgreSQL (`keydesk.outbox`, migration 3): one row per record and channel,
 * inserted by `keydesk.append_records` with the record. Every instance delivers: a row is claimed
 * with FOR UPDATE SKIP LOCKED and leased by moving its `next_attempt_at` past the delivery, so two
 * instances never hold the same row, and a row whose instance died mid-delivery is due again once
 * its lease runs out (delivered again: at least once, with the same event id). Every statement is
 * one autocommitted round trip; no lock is held while a receiver is being called.
 */

/** Longer than any delivery (the outbox's timeout is 15 s). */
const LEASE_MS = 120_000;

const CLAIM = `
WITH due AS (
  SELECT channel, seq FROM keydesk.outbox
  WHERE channel = $1 AND state = 'pending' AND next_attempt_at <= $2
  ORDER BY next_attempt_at, seq
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
UPDATE keydesk.outbox o SET next_attempt_at = $4
FROM due, keydesk.audit_records r
WHERE o.channel = due.channel AND o.seq = due.seq AND r.seq = o.seq
RETURNING o.seq, o.attempts, r.line`;

const SETTLE = `UPDATE keydesk.outbox SET state = $3, attempts = attempts + $4, last_error = $5, settled_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END, next_attempt_at = COALESCE($6, next_attempt_at)
WHERE channel = $1 AND seq = $2`;

export function postgresOutboxQueue(sql: OutboxSql): OutboxQueue {
  const settle = (channel: ChannelName, item: PendingNotification, state: string, failedAttempt: boolean, error: string | null, at: number | null) =>
    sql(SETTLE, [channel, item.record.seq, state, failedAttempt ? 1 : 0, error, at === null ? null : new Date(at).toISOString()]).then(() => undefined);
  return {
    async due(channel, now, limit) {
      const rows = await sql<{ seq: string; attempts: number; line: string }>(CLAIM, [channel, new Date(now).toISOString(), limit, new Date(now + LEASE_MS).toISOString()]);
      return rows
        .map((row) => ({ record: normaliseAuditRecord(JSON.parse(row.line) as Record<string, unknown>), attempts: row.attempts }))
        .sort((a, b) => a.record.seq - b.record.seq);
    },
    delivered: (channel, item) => settle(channel, item, 'delivered', false, null, null),
    retryAt: (channel, item, at, error) => settle(channel, item, 'pending', true, error, at),
    failed: (channel, item, error) => settle(channel, item, 'failed', true, error, null),
    async release(channel, items) {
      if (items.length === 0) return;
      await sql('UPDATE keydesk.outbox SET next_attempt_at = now() WHERE channel = $1 AND seq = ANY($2::bigint[])', [channel, items.map(({ record }) => record.seq)]);
    },
    async depth(channel) {
      const rows = await sql<{ depth: string }>(`SELECT count(*) AS depth FROM keydesk.outbox WHERE channel = $1 AND state = 'pending'`, [channel]);
      return Number(rows[0]?.depth ?? 0);
    },
    close: async () => undefined,
  };
}
