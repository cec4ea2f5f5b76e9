import type { AuditRecord } from '../audit/types.js';
import type { WebhookFormat } from '../config/notify-config.js';
import { factsOf, headline, keydeskEvent } from './notification.js';

/**
 * The webhook's body in each NOTIFY_WEBHOOK_FORMAT: `keydesk`, the signed event receivers parse;
 * `slack`, a Slack incoming-webhook message; `teams`, an Adaptive Card for a Teams Workflows
 * webhook ("When a Teams webhook request is received": the Office 365 connectors are retired).
 * Each is built from the audit record alone.
 */

export function webhookBody(record: AuditRecord, format: WebhookFormat): unknown {
  if (format === 'slack') return slackMessage(record);
  if (format === 'teams') return teamsMessage(record);
  return keydeskEvent(record);
}

/** Slack escapes only these three in mrkdwn text. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function slackMessage(record: AuditRecord): unknown {
  const title = headline(record);
  return {
    text: slackEscape(title),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(title)}*` } },
      { type: 'section', fields: factsOf(record).map(([label, value]) => ({ type: 'mrkdwn', text: `*${slackEscape(label)}*\n${slackEscape(value)}` })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `KeyDesk event ${record.id}` }] },
    ],
  };
}

function teamsMessage(record: AuditRecord): unknown {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: headline(record), weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'FactSet', facts: factsOf(record).map(([title, value]) => ({ title, value })) },
            { type: 'TextBlock', text: `KeyDesk event ${record.id}`, isSubtle: true, size: 'Small', wrap: true },
          ],
        },
      },
    ],
  };
}
