import { createHmac } from 'node:crypto';
import type { AuditRecord } from '../audit/types.js';
import type { NotificationType } from './channel.js';
import type { WebhookConfig } from '../config/notify-config.js';
import type { DeliveryChannel } from './channel.js';
import { wantedByEvents } from './notification.js';
import { webhookBody } from './webhook-formats.js';

/**
 * The webhook channel: one HTTPS POST per notification, signed so the receiver knows it came from
 * KeyDesk and is fresh. `KeyDesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret,
 * "<t>.<raw body>")>`; `KeyDesk-Event-Id` is the audit record's id, the same on every retry. Only
 * a 2xx answer counts as delivered; a redirect is not followed (it would send the notice elsewhere).
 */

/** The signature header's value for `body` sent at `unixSeconds`. */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface WebhookChannelOptions {
  config: WebhookConfig;
  events: readonly NotificationType[];
  now?: () => number;
}

export function webhookChannel({ config, events, now = Date.now }: WebhookChannelOptions): DeliveryChannel {
  return {
    name: 'webhook',
    wants: (record) => wantedByEvents(record, events),
    async deliver(record: AuditRecord, signal: AbortSignal) {
      const body = JSON.stringify(webhookBody(record, config.format));
      const response = await fetch(config.url, {
        method: 'POST',
        redirect: 'manual',
        signal,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'KeyDesk-Webhook/1',
          'keydesk-event-id': record.id,
          'keydesk-signature': webhookSignature(config.secret, Math.floor(now() / 1000), body),
        },
        body,
      });
      // The receiver's answer is not read beyond its status: drain it so the connection is reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299) throw new Error(`the webhook answered HTTP ${response.status}`);
    },
    close: async () => undefined,
  };
}
