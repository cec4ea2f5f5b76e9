import type { AuditRecord } from '../audit/types.js';

/**
 * What every delivery channel is to the outbox: notifications (webhook, email) and SIEM
 * forwarding (syslog, Splunk HEC) alike. The outbox decides what is pending and when to retry;
 * a channel only turns one audit record into its own message and hands it over. A channel never
 * sees a recovery password: it is given the audit record, which never holds one.
 */

export type ChannelName = 'webhook' | 'email' | 'syslog' | 'splunk';

/** The notification types NOTIFY_EVENTS chooses from. */
export type NotificationType = 'disclosure_granted' | 'disclosure_refused' | 'sign_in_refused' | 'alert';

export const NOTIFICATION_TYPES: readonly NotificationType[] = ['disclosure_granted', 'disclosure_refused', 'sign_in_refused', 'alert'];

/** The notification type of a record, or null for a record no notification is about. */
export function notificationTypeOf(record: Pick<AuditRecord, 'action' | 'outcome'>): NotificationType | null {
  if (record.action === 'disclosure') return record.outcome === 'granted' ? 'disclosure_granted' : 'disclosure_refused';
  if (record.action === 'sign_in' && record.outcome === 'refused') return 'sign_in_refused';
  if (record.action === 'alert') return 'alert';
  return null;
}

export interface DeliveryChannel {
  readonly name: ChannelName;
  /**
   * Whether this channel carries the record at all: NOTIFY_EVENTS for the notification channels;
   * the SIEM channels carry every record.
   */
  wants(record: AuditRecord): boolean;
  /**
   * Hands one record's message to the receiver and resolves once the receiver took it (a 2xx, an
   * SMTP 250, the frame written to the syslog connection); rejects otherwise. The event id the
   * receiver sees is the record's id, so a retry carries the same id. `signal` aborts a delivery
   * that took too long.
   */
  deliver(record: AuditRecord, signal: AbortSignal): Promise<void>;
  /** Closes connections; pending work is the outbox's. */
  close(): Promise<void>;
}
