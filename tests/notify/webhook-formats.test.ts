import { describe, expect, it } from 'vitest';
import { webhookBody } from '../../src/notify/webhook-formats.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { disclosureEntry } from '../audit/audit-kit.js';
import { alertEntry } from '../../src/alerts/alert-entry.js';

const record: AuditRecord = {
  seq: 3,
  id: '0b8f3c1e-5d2a-4f6b-9c7e-1a2b3c4d5e6f',
  time: '2026-11-24T09:12:03.114Z',
  ...disclosureEntry({ device: { id: 'o', deviceId: 'd', displayName: 'LAPTOP-<X>' } }),
  hashAlg: 'sha256',
  prevHash: '0'.repeat(64),
  hash: 'a'.repeat(64),
};

describe('webhook formats', () => {
  it("keydesk: an alert names its rule and sentence, a disclosure has no alert member", () => {
    const alert: AuditRecord = { ...record, ...alertEntry({ rule: 'repeat_device', subject: 'device:d', summary: 'LAPTOP-X was disclosed again within 24 hours.' }) };
    expect(webhookBody(alert, 'keydesk')).toMatchObject({ type: 'alert', alert: { rule: 'repeat_device', summary: 'LAPTOP-X was disclosed again within 24 hours.' } });
    expect(webhookBody(record, 'keydesk')).not.toHaveProperty('alert');
  });

  it('slack: an incoming-webhook message with text and blocks, mrkdwn escaped', () => {
    const body = webhookBody(record, 'slack') as { text: string; blocks: { type: string }[] };
    expect(body.text).toBe('The recovery key of LAPTOP-&lt;X&gt; was given to agent@contoso.example under ticket INC0012345');
    expect(body.blocks.map((block) => block.type)).toEqual(['section', 'section', 'context']);
  });

  it('teams: an Adaptive Card 1.4 message for a Workflows webhook', () => {
    const body = webhookBody(record, 'teams') as { type: string; attachments: { contentType: string; content: { type: string; version: string; body: { type: string }[] } }[] };
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0]!.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(body.attachments[0]!.content.body.map((element) => element.type)).toEqual(['TextBlock', 'FactSet', 'TextBlock']);
  });
});
