import type { AuditRecord } from '../audit/types.js';
import type { OutboxRoute } from '../audit/outbox-storage.js';
import type { KeyDeskConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';
import type { ChannelName, DeliveryChannel } from './channel.js';
import { configuredChannels, queuedFor, requiredChannelNames, type ChannelDeps } from './channels.js';

/**
 * The notification channels of one KeyDesk process, as the rest of it uses them: the disclosure
 * waits on `noticeBeforeRead` for the required channels (NOTIFY_WEBHOOK_REQUIRED,
 * NOTIFY_EMAIL_REQUIRED), and the outbox queues each record for the channels `route` names.
 */

export interface Notifications {
  readonly channels: readonly DeliveryChannel[];
  readonly required: ReadonlySet<ChannelName>;
  /**
   * The synchronous notice of a disclosure, built from its intent record (type
   * disclosure_granted, event id the intent record's id), to every required channel at once.
   * Rejects with `notification_unavailable` unless every one of them accepted it (a 2xx, an SMTP
   * 250) within NOTIFY_REQUIRED_TIMEOUT_MS: the key must then not be read.
   */
  noticeBeforeRead(intent: AuditRecord): Promise<void>;
  /** The channels a record is queued for in the outbox. */
  route: OutboxRoute;
  close(): Promise<void>;
}

function unavailable(names: string[], timeoutMs: number): KeyDeskProblem {
  return new KeyDeskProblem(
    'notification_unavailable',
    `The ${names.join(' and ')} notification must be delivered before a recovery key is disclosed, and it was not accepted within ${timeoutMs} ms, so KeyDesk did not read the key. ` +
      'The attempt is recorded. Try again in 30 seconds; if it persists, tell the KeyDesk operators (the receiver may be down).',
  );
}

async function deliverWithin(channel: DeliveryChannel, record: AuditRecord, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const late = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true }));
  await Promise.race([channel.deliver(record, signal), late]);
}

export function createNotifications(config: KeyDeskConfig, deps: ChannelDeps & { channels?: readonly DeliveryChannel[] }): Notifications {
  const channels = deps.channels ?? configuredChannels(config, deps);
  const required = requiredChannelNames(config);
  const requiredChannels = channels.filter((channel) => required.has(channel.name));
  const timeoutMs = config.notify.requiredTimeoutMs;
  const logger = deps.logger.child({ component: 'notify' });
  return {
    channels,
    required,
    async noticeBeforeRead(intent) {
      if (requiredChannels.length === 0) return;
      const results = await Promise.allSettled(requiredChannels.map((channel) => deliverWithin(channel, intent, timeoutMs)));
      const failed = requiredChannels.filter((_, index) => results[index]!.status === 'rejected');
      if (failed.length === 0) return;
      results.forEach((result, index) => {
        if (result.status === 'rejected') {
          const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
          logger.warn({ channel: requiredChannels[index]!.name, auditRecordId: intent.id, reason }, 'a required notification was not accepted; the key is not read');
        }
      });
      throw unavailable(failed.map((channel) => channel.name), timeoutMs);
    },
    route: (record) => channels.filter((channel) => queuedFor(channel, record, required)).map((channel) => channel.name),
    close: async () => {
      await Promise.allSettled(channels.map((channel) => channel.close()));
    },
  };
}
