import type { Logger } from 'pino';
import type { AuditStore } from '../audit/store.js';
import type { AuditRecord } from '../audit/types.js';
import type { KeyDeskConfig } from '../config/config.js';
import type { ChannelName } from './channel.js';
import { queuedFor } from './channels.js';
import { openFileOutboxQueue } from './file-outbox.js';
import type { Notifications } from './notifications.js';
import { startOutbox, type Outbox, type OutboxOptions } from './outbox.js';
import { postgresOutboxQueue } from './postgres-outbox.js';

/**
 * The outbox over the store KeyDesk runs on, for the configured channels; null when no channel
 * is configured. Call before KeyDesk takes requests: with PostgreSQL every record appended from
 * then on is queued with its outbox rows; with the file store each channel's cursor exists from
 * then on. `start()` it once KeyDesk listens; `stop()` it before the store closes.
 */
export async function openOutbox(
  store: AuditStore,
  notifications: Notifications,
  config: KeyDeskConfig,
  logger: Logger,
  tuning: Pick<OutboxOptions, 'pollMs' | 'backoffMs' | 'deliveryTimeoutMs' | 'clock'> & { retryMs?: number } = {},
): Promise<Outbox | null> {
  const { channels, required } = notifications;
  if (channels.length === 0) return null;
  let queue;
  if (store.outbox.kind === 'postgres') {
    store.outbox.route(notifications.route);
    queue = postgresOutboxQueue(store.outbox.sql);
  } else {
    const wants = new Map<ChannelName, (record: AuditRecord) => boolean>(channels.map((channel) => [channel.name, (record) => queuedFor(channel, record, required)]));
    queue = await openFileOutboxQueue({ auditFile: store.outbox.auditFile, head: store.outbox.head, channels: wants });
  }
  const outboxLogger = logger.child({ component: 'notify' }, { level: 'info' });
  outboxLogger.info({ channels: channels.map((channel) => channel.name), store: store.outbox.kind }, 'notification outbox open');
  return startOutbox({ queue, channels, audit: store, retryMs: config.notify.retryHours * 3_600_000, logger: outboxLogger, ...tuning });
}
