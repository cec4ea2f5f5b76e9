import type { Logger } from 'pino';
import type { AuditRecord } from '../audit/types.js';
import type { KeyDeskConfig } from '../config/config.js';
import type { GraphGateway } from '../graph/types.js';
import type { ChannelName, DeliveryChannel } from './channel.js';
import { createSplunkChannel } from '../siem/splunk-channel.js';
import { createSyslogChannel } from '../siem/syslog-channel.js';
import { emailChannel } from './email.js';
import { webhookChannel } from './webhook.js';
import { notGivenAfterNotice } from './notification.js';

/**
 * The registry of delivery channels: each factory turns the configuration into its channel, or
 * null when that channel is not configured. A new channel (syslog, Splunk HEC) plugs in with one
 * line in CHANNEL_FACTORIES; the outbox (outbox.ts) then queues and delivers for it like any other.
 */

export interface ChannelDeps {
  /** For the email channel's recipients (owners, primary user, requester); never a key read. */
  graph: GraphGateway;
  logger: Logger;
}

export type ChannelFactory = (config: KeyDeskConfig, deps: ChannelDeps) => DeliveryChannel | null;

const webhook: ChannelFactory = ({ notify }) => (notify.webhook ? webhookChannel({ config: notify.webhook, events: notify.events }) : null);
const email: ChannelFactory = ({ notify }, { graph }) => (notify.email ? emailChannel({ config: notify.email, events: notify.events, graph }) : null);

const syslog: ChannelFactory = ({ siem, tenantId }) => (siem.syslog ? createSyslogChannel({ target: siem.syslog, ocsf: { tenantUid: tenantId } }) : null);
const splunk: ChannelFactory = ({ siem, tenantId }) => (siem.splunk ? createSplunkChannel({ target: siem.splunk, ocsf: { tenantUid: tenantId } }) : null);

export const CHANNEL_FACTORIES: readonly ChannelFactory[] = [webhook, email, syslog, splunk];

/** Every configured channel, in CHANNEL_FACTORIES order. */
export function configuredChannels(config: KeyDeskConfig, deps: ChannelDeps, factories: readonly ChannelFactory[] = CHANNEL_FACTORIES): DeliveryChannel[] {
  return factories.map((factory) => factory(config, deps)).filter((channel): channel is DeliveryChannel => channel !== null);
}

/** The channels NOTIFY_WEBHOOK_REQUIRED / NOTIFY_EMAIL_REQUIRED name: a disclosure waits for them. */
export function requiredChannelNames(config: KeyDeskConfig): Set<ChannelName> {
  const names = new Set<ChannelName>();
  if (config.notify.webhook?.required) names.add('webhook');
  if (config.notify.email?.required) names.add('email');
  return names;
}

/**
 * Whether the outbox queues `record` for `channel`: what the channel wants, less two records.
 * A granted disclosure is not queued for a required channel, which accepted its notice (built from
 * the intent) before the key was read. A `notification_failed` alert about a channel is not queued
 * for that same channel, which is what failed.
 */
export function queuedFor(channel: DeliveryChannel, record: AuditRecord, required: ReadonlySet<ChannelName>): boolean {
  if (required.has(channel.name) && notGivenAfterNotice(record)) return true;
  if (!channel.wants(record)) return false;
  if (record.action === 'alert' && record.details?.rule === 'notification_failed' && record.details.subject === `channel:${channel.name}`) return false;
  return !(required.has(channel.name) && record.action === 'disclosure' && record.outcome === 'granted');
}
